//! Work spread over the machine's cores with results handed on in input order, so that the
//! output stays the same bytes whatever the scheduling (issue #13: rendering a fleet is
//! independent work per cluster, and a 2-core CI runner or repo-server has two cores).

use std::num::NonZeroUsize;
use std::sync::mpsc;

/// How many finished results each worker may queue for the consumer (one more waits in the
/// worker's hand): enough to keep the workers busy while the consumer writes, few enough that
/// memory stays a few clusters' worth per worker.
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

/// Calls `work` on every item, on worker threads (as many as [`threads`] says, each with at
/// least [`MIN_ITEMS_PER_WORKER`] items), and `consume` on the calling thread with each result
/// in the order of `items`; `consume` runs while the workers go on. With one thread (or too few
/// items to share) everything runs on the calling thread.
pub(crate) fn ordered_map<T, R>(items: &[T], work: impl Fn(&T) -> R + Sync, consume: impl FnMut(R))
where
    T: Sync,
    R: Send,
{
    let most = items.len() / MIN_ITEMS_PER_WORKER;
    // Asking how many CPUs there are reads cgroup files: not worth it when one thread will do.
    let workers = if most <= 1 { 1 } else { threads().min(most) };
    ordered_map_on(workers, items, work, consume);
}

/// [`ordered_map`] on `workers` threads.
///
/// Worker `w` takes items `w`, `w + n`, `w + 2n`… (clusters cost about the same), which lets the
/// consumer read the results in order from one bounded channel per worker. A worker that cannot
/// be started (the system refuses another thread) leaves its items to the calling thread. A
/// panicking worker closes its channel; the consumer then stops, and leaving the scope panics
/// ("a scoped thread panicked") after the worker's own message. A panicking consumer drops the
/// channels, so blocked workers stop too.
fn ordered_map_on<T, R>(
    workers: usize,
    items: &[T],
    work: impl Fn(&T) -> R + Sync,
    mut consume: impl FnMut(R),
) where
    T: Sync,
    R: Send,
{
    if workers <= 1 {
        for item in items {
            consume(work(item));
        }
        return;
    }
    let work = &work;
    std::thread::scope(|scope| {
        let receivers: Vec<Option<mpsc::Receiver<R>>> = (0..workers)
            .map(|w| {
                let (tx, rx) = mpsc::sync_channel(AHEAD);
                std::thread::Builder::new()
                    .name(format!("render-{w}"))
                    .spawn_scoped(scope, move || {
                        for item in items.iter().skip(w).step_by(workers) {
                            // The consumer stopped (it panicked): nothing more to do.
                            if tx.send(work(item)).is_err() {
                                return;
                            }
                        }
                    })
                    .ok()
                    .map(|_| rx)
            })
            .collect();
        for (i, item) in items.iter().enumerate() {
            match &receivers[i % workers] {
                Some(rx) => match rx.recv() {
                    Ok(result) => consume(result),
                    // The worker panicked.
                    Err(mpsc::RecvError) => break,
                },
                None => consume(work(item)),
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
        let mut threads = std::collections::HashSet::new();
        // Every 7th item is slow, so later ones finish first on other threads.
        ordered_map_on(
            4,
            &items,
            |&i| {
                if i % 7 == 0 {
                    std::thread::sleep(std::time::Duration::from_millis(2));
                }
                (i, std::thread::current().id())
            },
            |(i, thread)| {
                seen.push(i);
                threads.insert(thread);
            },
        );
        assert_eq!(seen, items);
        assert_eq!(threads.len(), 4, "the work ran on the 4 workers");
        assert!(!threads.contains(&std::thread::current().id()));
    }

    #[test]
    fn empty_and_single_inputs() {
        let mut seen = Vec::new();
        ordered_map(&[] as &[u8], |&x| x, |x| seen.push(x));
        assert!(seen.is_empty());
        ordered_map(&[9u8], |&x| x + 1, |x| seen.push(x));
        assert_eq!(seen, [10]);
        ordered_map_on(3, &[1u8, 2], |&x| x * 2, |x| seen.push(x));
        assert_eq!(seen, [10, 2, 4]);
    }

    #[test]
    fn a_panicking_worker_panics_the_caller_instead_of_hanging() {
        let items: Vec<u32> = (0..50).collect();
        let caught = std::panic::catch_unwind(|| {
            ordered_map_on(
                4,
                &items,
                |&i| {
                    assert!(i != 17, "item 17 fails");
                    i
                },
                |_| {},
            );
        });
        assert!(caught.is_err());
    }

    #[test]
    fn a_panicking_consumer_stops_the_workers_instead_of_hanging() {
        let items: Vec<u32> = (0..500).collect();
        let caught = std::panic::catch_unwind(|| {
            ordered_map_on(
                4,
                &items,
                |&i| i,
                |i| assert!(i != 3, "the consumer fails at 3"),
            );
        });
        assert!(caught.is_err());
    }
}
