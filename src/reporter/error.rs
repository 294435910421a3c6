//! The reporter's errors. What a context's error says ends up in `K8ssandraCluster.status.error`
//! (`cannot reach context: NAME (MESSAGE)`), so the messages are part of the interface.

use std::sync::Arc;
use std::time::Duration;

use kube::runtime::watcher;

/// Why the reporter as a whole cannot go on (the process exits with it).
#[derive(Debug, thiserror::Error)]
pub enum ReporterError {
    /// No client for the cluster the reporter runs in.
    #[error("failed to create the control-plane client: {0}")]
    ControlPlane(#[source] kube::Error),
    /// The metrics and health port cannot be opened.
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        /// The `--listen` address.
        addr: String,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },
    /// The K8ssandraCluster records cannot be listed or watched.
    #[error("cannot list K8ssandraClusters: {0}")]
    Records(#[source] Arc<WatchFailure>),
    /// The control-plane API server gave no complete list of the records in time.
    #[error("cannot list K8ssandraClusters: no answer within {} s", .0.as_secs())]
    RecordsTimeout(Duration),
    /// A record's `spec.cassandra` is not what the model accepts; its status is not written.
    #[error("cannot read spec.cassandra of K8ssandraCluster {namespace}/{name}: {source}")]
    ReadRecord {
        /// Namespace of the record.
        namespace: String,
        /// Name of the record.
        name: String,
        /// What does not fit the model.
        #[source]
        source: serde_json::Error,
    },
    /// A status write was refused.
    #[error("cannot write the status of K8ssandraCluster {namespace}/{name}: {source}")]
    WriteStatus {
        /// Namespace of the record.
        namespace: String,
        /// Name of the record.
        name: String,
        /// The API server's answer.
        #[source]
        source: kube::Error,
    },
}

/// How a watcher failed, from the API server's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// 403: the kubeconfig user may not list or watch the kind.
    Forbidden,
    /// 401: the credentials are not (or no longer) accepted.
    Unauthorized,
    /// Any other answer, or none (connection refused, TLS, timeout).
    Unreachable,
}

/// A watcher of one kind in one context failed; it lists again after a backoff.
#[derive(Debug, thiserror::Error)]
#[error("cannot watch {resource}: {source}")]
pub struct WatchFailure {
    /// Plural resource name, e.g. `cassandradatacenters`.
    pub resource: String,
    /// Forbidden, unauthorized or unreachable.
    pub kind: FailureKind,
    /// The watcher's error.
    #[source]
    pub source: watcher::Error,
}

impl WatchFailure {
    /// Classifies a watcher error by the HTTP status inside it.
    #[must_use]
    pub fn new(resource: &str, source: watcher::Error) -> Self {
        let code = match &source {
            watcher::Error::InitialListFailed(e)
            | watcher::Error::WatchStartFailed(e)
            | watcher::Error::WatchFailed(e) => match e {
                kube::Error::Api(status) => Some(status.code),
                _ => None,
            },
            watcher::Error::WatchError(status) => Some(status.code),
            watcher::Error::NoResourceVersion => None,
        };
        let kind = match code {
            Some(403) => FailureKind::Forbidden,
            Some(401) => FailureKind::Unauthorized,
            _ => FailureKind::Unreachable,
        };
        Self {
            resource: resource.to_string(),
            kind,
            source,
        }
    }
}

/// Why one context (one data-plane cluster) cannot be observed. Never stops the other contexts.
#[derive(Debug, thiserror::Error)]
pub enum ContextError {
    /// The ClientConfigs of the reporter's namespace cannot be listed.
    #[error("cannot list ClientConfigs in {namespace}: {source}")]
    ClientConfigs {
        /// The reporter's namespace.
        namespace: String,
        /// The watcher's failure.
        #[source]
        source: Arc<WatchFailure>,
    },
    /// No ClientConfig has this context name.
    #[error("no ClientConfig for context {context} in {namespace}")]
    NoClientConfig {
        /// The context.
        context: String,
        /// The reporter's namespace.
        namespace: String,
    },
    /// The ClientConfig names no Secret.
    #[error("ClientConfig for {context} names no kubeConfigSecret")]
    NoKubeconfigSecret {
        /// The context.
        context: String,
    },
    /// The kubeconfig Secret cannot be read.
    #[error("cannot read Secret {secret}: {source}")]
    ReadSecret {
        /// The Secret's name.
        secret: String,
        /// The API server's answer.
        #[source]
        source: kube::Error,
    },
    /// The Secret has no `kubeconfig` key.
    #[error("Secret {secret} has no key kubeconfig")]
    NoKubeconfigKey {
        /// The Secret's name.
        secret: String,
    },
    /// The kubeconfig is not text.
    #[error("Secret {secret}: kubeconfig is not UTF-8")]
    KubeconfigNotUtf8 {
        /// The Secret's name.
        secret: String,
    },
    /// The kubeconfig does not parse, or names no usable context.
    #[error("Secret {secret}: {source}")]
    BadKubeconfig {
        /// The Secret's name.
        secret: String,
        /// What is wrong with it.
        #[source]
        source: kube::config::KubeconfigError,
    },
    /// No client can be built from the kubeconfig (TLS setup, proxy).
    #[error("context {context}: {source}")]
    Client {
        /// The context.
        context: String,
        /// The client's error.
        #[source]
        source: kube::Error,
    },
    /// A watcher of the context failed (forbidden, unauthorized, unreachable).
    #[error(transparent)]
    Watch(Arc<WatchFailure>),
    /// The context's API server gave no complete list in time.
    #[error("no answer from the API server within {} s", .0.as_secs())]
    Timeout(Duration),
    /// A seed EndpointSlice could not be written or deleted.
    #[error("cannot {verb} EndpointSlice {namespace}/{name}: {source}")]
    SeedSlice {
        /// `write` or `delete`.
        verb: &'static str,
        /// Namespace of the slice.
        namespace: String,
        /// Name of the slice.
        name: String,
        /// The API server's answer.
        #[source]
        source: kube::Error,
    },
}

impl ContextError {
    /// Whether the kubeconfig user lacks permissions.
    #[must_use]
    #[cfg(test)]
    pub fn is_forbidden(&self) -> bool {
        matches!(self, Self::Watch(f) if f.kind == FailureKind::Forbidden)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api_error(code: u16, message: &str) -> kube::Error {
        kube::Error::Api(Box::new(
            kube::core::Status::failure(message, "").with_code(code),
        ))
    }

    #[test]
    fn watch_failures_are_classified_by_status_code() {
        let forbidden = WatchFailure::new(
            "cassandradatacenters",
            watcher::Error::InitialListFailed(api_error(
                403,
                "cassandradatacenters.cassandra.datastax.com is forbidden: User \"nobody\" cannot list resource",
            )),
        );
        assert_eq!(forbidden.kind, FailureKind::Forbidden);
        let text = forbidden.to_string();
        assert!(
            text.starts_with("cannot watch cassandradatacenters: ") && text.contains("forbidden"),
            "{text}"
        );
        assert!(ContextError::Watch(Arc::new(forbidden)).is_forbidden());
        let gone = WatchFailure::new(
            "reapers",
            watcher::Error::WatchStartFailed(api_error(401, "Unauthorized")),
        );
        assert_eq!(gone.kind, FailureKind::Unauthorized);
        let down = WatchFailure::new("stargates", watcher::Error::NoResourceVersion);
        assert_eq!(down.kind, FailureKind::Unreachable);
    }

    #[test]
    fn configuration_messages_are_stable() {
        assert_eq!(
            ContextError::NoClientConfig {
                context: "west".into(),
                namespace: "k8ssandra-operator".into()
            }
            .to_string(),
            "no ClientConfig for context west in k8ssandra-operator"
        );
        assert_eq!(
            ContextError::NoKubeconfigKey {
                secret: "west-kubeconfig".into()
            }
            .to_string(),
            "Secret west-kubeconfig has no key kubeconfig"
        );
        assert_eq!(
            ContextError::Timeout(Duration::from_secs(30)).to_string(),
            "no answer from the API server within 30 s"
        );
    }
}
