//! One reflector per kind per context: a kube-runtime watcher keeps an in-memory store of every
//! object of the kind, and passes read the stores instead of listing. A watcher lists only when
//! it (re)starts: at the start, after a failure (once its backoff has passed), and when the API
//! server says its resourceVersion is too old.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use kube::api::{Api, ApiResource, DynamicObject};
use kube::runtime::reflector::store::{Store, Writer};
use kube::runtime::watcher;
use tokio::sync::{Notify, watch};

use super::error::WatchFailure;

/// State of one watcher (or of all the watchers of a context).
#[derive(Debug, Clone)]
pub enum Health {
    /// The first complete list has not arrived yet.
    Starting,
    /// The store holds a complete list, kept current by the watch.
    Ready,
    /// The last attempt failed; the watcher lists again after its backoff.
    Failed(Arc<WatchFailure>),
}

/// Backoff before a failed watcher lists again: 10 s doubling to 5 min.
#[must_use]
pub fn backoff(failures: u32) -> Duration {
    Duration::from_secs((5u64 << failures.clamp(1, 6)).min(300))
}

/// A running reflector; dropping it stops the watcher.
pub struct Watched {
    /// The objects, as of the last event.
    pub store: Store<DynamicObject>,
    health: watch::Receiver<Health>,
    started: Instant,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Watched {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Watched {
    /// Starts watching `api` (objects of `ar`, filtered by `config`); every change, completed
    /// list and failure wakes `changed`. `context` names the context in log lines.
    #[must_use]
    pub fn spawn(
        context: &str,
        api: Api<DynamicObject>,
        ar: &ApiResource,
        config: watcher::Config,
        changed: Arc<Notify>,
    ) -> Self {
        let (tx, rx) = watch::channel(Health::Starting);
        let writer = Writer::new(ar.clone());
        let store = writer.as_reader();
        let task = tokio::spawn(run(
            context.to_string(),
            ar.plural.clone(),
            api,
            config,
            writer,
            tx,
            changed,
        ));
        Self {
            store,
            health: rx,
            started: Instant::now(),
            task,
        }
    }

    /// The watcher's current state.
    #[must_use]
    pub fn health(&self) -> Health {
        self.health.borrow().clone()
    }

    /// When the watcher was started.
    #[must_use]
    pub fn started(&self) -> Instant {
        self.started
    }
}

/// The combined state of several watchers: the first failure, else starting while any is,
/// else ready.
#[must_use]
pub fn combined<'a>(watchers: impl IntoIterator<Item = &'a Watched>) -> Health {
    let mut out = Health::Ready;
    for w in watchers {
        match w.health() {
            Health::Failed(f) => return Health::Failed(f),
            Health::Starting => out = Health::Starting,
            Health::Ready => {}
        }
    }
    out
}

async fn run(
    context: String,
    resource: String,
    api: Api<DynamicObject>,
    config: watcher::Config,
    mut writer: Writer<DynamicObject>,
    health: watch::Sender<Health>,
    changed: Arc<Notify>,
) {
    let mut failures = 0u32;
    loop {
        let mut events = watcher(api.clone(), config.clone()).boxed();
        let failure = loop {
            match events.next().await {
                Some(Ok(event)) => {
                    writer.apply_watcher_event(&event);
                    match event {
                        watcher::Event::InitDone => {
                            failures = 0;
                            health.send_replace(Health::Ready);
                            changed.notify_one();
                        }
                        watcher::Event::Apply(_) | watcher::Event::Delete(_) => {
                            changed.notify_one();
                        }
                        watcher::Event::Init | watcher::Event::InitApply(_) => {}
                    }
                }
                // Too old a resourceVersion: the watcher lists again by itself.
                Some(Err(watcher::Error::WatchError(status))) if status.code == 410 => {}
                Some(Err(e)) => break Some(e),
                None => break None,
            }
        };
        // A failure is reported, the old objects are kept until the next complete list, and
        // the next attempt starts with a fresh list (which also tells that the context is back).
        if let Some(e) = failure {
            failures += 1;
            let wait = backoff(failures);
            let failure = Arc::new(WatchFailure::new(&resource, e));
            tracing::warn!(
                context = %context,
                retryInSeconds = wait.as_secs(),
                "{failure}"
            );
            health.send_replace(Health::Failed(failure));
            changed.notify_one();
            tokio::time::sleep(wait).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_ten_seconds_to_five_minutes() {
        let waits: Vec<u64> = (1..=8).map(|n| backoff(n).as_secs()).collect();
        assert_eq!(waits, [10, 20, 40, 80, 160, 300, 300, 300]);
    }
}
