//! Work spread over the machine's cores with results handed on in input order, so that the
//! output stays the same bytes whatever the scheduling (issue #13: rendering a fleet is
//! independent work per cluster, and a 2-core CI runner or repo-server has two cores).

use std::num::NonZeroUsize;
use std::sync::mpsc;

/// How many results each worker may hold ahead of the consumer: enough to keep the workers
/// busy while the consumer writes, few enough that memory stays a few clusters' worth.
const AHEAD: usize = 2;

/// Fewer items than this per thread are not worth a thread: starting one costs about as much
/// as rendering a small cluster, and a one-cluster render runs on every Argo CD refresh.
const MIN_ITEMS_PER_WORKER: usize = 8;

/// Overrides the number of threads (a positive integer), for a user who shares the machine or
/// a test that compares thread counts; otherwise the CPUs this process may use.
pub(crate) const THREADS_ENV: &str = "K8SSANDRA_GITOPS_THREADS";

/// How many threads to work on: [`THREADS_ENV`] when it holds a positive integer, else as many
/// as the CPUs the process may use (its affinity mask and cgroup CPU quota included).
fn threads() -> usize {
    std::env::var(THREADS_ENV)
        .ok()
        .and_then(|v| v.trim().parse::<NonZeroUsize>().ok())
        .or_else(|| std::thread::available_parallelism().ok())
        .map_or(1, NonZeroUsize::get)
}

/// Calls `work` on every item, on up to as many threads as there are cores, and `consume` on
/// the calling thread with each result in the order of `items`. At most a few results per
/// worker wait at once; `consume` runs while the workers go on. With one core (or too few
/// items to share) everything runs on the calling thread.
///
/// Worker `w` takes items `w`, `w + n`, `w + 2n`… (clusters cost about the same), which lets the
/// consumer read the results in order from one bounded channel per worker. A panicking worker
/// closes its channel; the consumer then stops and the panic is raised again here.
pub(crate) fn ordered_map<T, R>(
    items: &[T],
    work: impl Fn(&T) -> R + Sync,
    mut consume: impl FnMut(R),
) where
    T: Sync,
    R: Send,
{
    let workers = threads().min(items.len() / MIN_ITEMS_PER_WORKER);
    if workers <= 1 {
        for item in items {
            consume(work(item));
        }
        return;
    }
    let work = &work;
    std::thread::scope(|scope| {
        let receivers: Vec<mpsc::Receiver<R>> = (0..workers)
            .map(|w| {
                let (tx, rx) = mpsc::sync_channel(AHEAD);
                scope.spawn(move || {
                    for item in items.iter().skip(w).step_by(workers) {
                        // The consumer stopped (it panicked): nothing more to do.
                        if tx.send(work(item)).is_err() {
                            return;
                        }
                    }
                });
                rx
            })
            .collect();
        for i in 0..items.len() {
            match receivers[i % workers].recv() {
                Ok(result) => consume(result),
                // The worker panicked; leaving the scope re-raises its panic.
                Err(mpsc::RecvError) => break,
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_come_in_input_order_whatever_each_item_costs() {
        let items: Vec<u64> = (0..200).collect();
        let mut seen = Vec::new();
        // Early items are slow, so later ones finish first on other threads.
        ordered_map(
            &items,
            |&i| {
                if i % 7 == 0 {
                    std::thread::sleep(std::time::Duration::from_millis(2));
                }
                (i, std::thread::current().id())
            },
            |(i, _)| seen.push(i),
        );
        assert_eq!(seen, items);
    }

    #[test]
    fn empty_and_single_inputs() {
        let mut seen = Vec::new();
        ordered_map(&[] as &[u8], |&x| x, |x| seen.push(x));
        assert!(seen.is_empty());
        ordered_map(&[9u8], |&x| x + 1, |x| seen.push(x));
        assert_eq!(seen, [10]);
    }

    #[test]
    fn a_panicking_worker_panics_the_caller_instead_of_hanging() {
        let items: Vec<u32> = (0..50).collect();
        let caught = std::panic::catch_unwind(|| {
            ordered_map(
                &items,
                |&i| {
                    assert!(i != 17, "item 17 fails");
                    i
                },
                |_| {},
            );
        });
        // On a one-core machine the panic happens on this thread: the same outcome.
        assert!(caught.is_err());
    }
}
