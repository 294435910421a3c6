//! The reporter's log: one JSON object per line on stderr (`tracing-subscriber`'s JSON
//! formatter), with the event's fields at the top level:
//! `{"timestamp":"…","level":"WARN","message":"…","context":"west","retryInSeconds":10}`.
//! Events about one data-plane cluster carry `context`, events about one K8ssandraCluster carry
//! `cluster` (`namespace/name`). The reporter logs at INFO and above, its libraries at WARN and
//! above.

use tracing::Subscriber;
use tracing::level_filters::LevelFilter;
use tracing_subscriber::Layer;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::registry::LookupSpan;

fn json_layer<S, W>(writer: W) -> impl Layer<S>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    tracing_subscriber::fmt::layer()
        .json()
        .flatten_event(true)
        .with_current_span(false)
        .with_span_list(false)
        .with_target(false)
        .with_writer(writer)
        .with_filter(
            Targets::new()
                .with_target(env!("CARGO_CRATE_NAME"), LevelFilter::INFO)
                .with_default(LevelFilter::WARN),
        )
}

/// Sends the log to stderr, in JSON lines. Does nothing when a logger is already installed.
pub fn init() {
    let subscriber = tracing_subscriber::registry().with(json_layer(std::io::stderr));
    let _ = tracing::subscriber::set_global_default(subscriber);
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Buffer {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn lines_are_json_with_the_fields_at_the_top() {
        let buffer = Buffer::default();
        let sink = buffer.clone();
        let subscriber = tracing_subscriber::registry().with(json_layer(move || sink.clone()));
        tracing::subscriber::with_default(subscriber, || {
            tracing::warn!(
                context = "west",
                retryInSeconds = 10u64,
                "cannot watch reapers"
            );
            tracing::info!(cluster = "db/shop", "status written");
            tracing::debug!("not shown");
            tracing::info!(target: "kube_runtime", "library chatter");
        });
        let text = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 2, "{text}");
        assert_eq!(lines[0]["level"], "WARN");
        assert_eq!(lines[0]["message"], "cannot watch reapers");
        assert_eq!(lines[0]["context"], "west");
        assert_eq!(lines[0]["retryInSeconds"], 10);
        assert!(
            lines[0]["timestamp"]
                .as_str()
                .is_some_and(|t| t.ends_with('Z'))
        );
        assert_eq!(lines[1]["level"], "INFO");
        assert_eq!(lines[1]["cluster"], "db/shop");
    }
}
