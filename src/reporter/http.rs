//! `/metrics`, `/healthz` and `/readyz` over HTTP/1 (hyper) on the reporter's tokio runtime.
//! Every connection is its own task, so an idle or slow client never holds up the others (a
//! liveness probe included); a client that sends no complete request head within the header
//! timeout is disconnected, and a request that takes longer than the request timeout is
//! answered with 503.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::Mutex;

use super::error::ReporterError;

/// What `/metrics` reports.
#[derive(Debug, Default)]
pub struct Metrics {
    /// (cluster, datacenter, context) → (ready, nodes with a host ID, size).
    pub datacenters: std::collections::BTreeMap<(String, String, String), (bool, usize, i64)>,
    /// context → (up, last success).
    pub contexts: std::collections::BTreeMap<String, (bool, Option<SystemTime>)>,
    /// Completed passes.
    pub passes: u64,
    /// One pass done (`/readyz`).
    pub ready: bool,
}

/// Limits on what a client may cost the server.
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    /// Time to send a complete request head, also between requests on a kept-alive connection.
    pub header_read: Duration,
    /// Time to produce an answer.
    pub request: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            header_read: Duration::from_secs(10),
            request: Duration::from_secs(5),
        }
    }
}

/// Opens the listening socket.
///
/// # Errors
/// When the address is taken or invalid.
pub async fn bind(addr: &str) -> Result<TcpListener, ReporterError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| ReporterError::Listen {
            addr: addr.to_string(),
            source,
        })
}

/// Serves connections from `listener` until the task is dropped.
pub async fn serve(listener: TcpListener, metrics: Arc<Mutex<Metrics>>, timeouts: Timeouts) {
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(e) => {
                // Out of file descriptors and the like: wait instead of spinning.
                tracing::warn!("cannot accept a metrics connection: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let metrics = Arc::clone(&metrics);
        tokio::spawn(async move {
            let service = service_fn(move |request: Request<Incoming>| {
                let metrics = Arc::clone(&metrics);
                async move {
                    let answer =
                        tokio::time::timeout(timeouts.request, respond(&request, &metrics))
                            .await
                            .unwrap_or_else(|_| {
                                text(StatusCode::SERVICE_UNAVAILABLE, "timed out\n".into())
                            });
                    Ok::<_, Infallible>(answer)
                }
            });
            // Errors here are the client's (reset, header timeout): nothing to report.
            let _ = http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(timeouts.header_read)
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

fn text(code: StatusCode, body: String) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = code;
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("text/plain; version=0.0.4"),
    );
    response
}

async fn respond(request: &Request<Incoming>, metrics: &Mutex<Metrics>) -> Response<Full<Bytes>> {
    match request.uri().path() {
        "/healthz" => text(StatusCode::OK, "ok\n".into()),
        "/readyz" => {
            if metrics.lock().await.ready {
                text(StatusCode::OK, "ok\n".into())
            } else {
                text(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "no pass completed yet\n".into(),
                )
            }
        }
        "/metrics" => text(StatusCode::OK, render(&*metrics.lock().await)),
        _ => text(StatusCode::NOT_FOUND, "not found\n".into()),
    }
}

/// The Prometheus text exposition of `m`.
#[must_use]
pub fn render(m: &Metrics) -> String {
    use std::fmt::Write as _;
    let mut s = String::new();
    s.push_str("# HELP k8ssandra_gitops_datacenter_ready Whether the datacenter is ready (Ready condition, progress Ready, generation observed).\n# TYPE k8ssandra_gitops_datacenter_ready gauge\n");
    for ((c, d, x), (ready, _, _)) in &m.datacenters {
        let _ = writeln!(
            s,
            "k8ssandra_gitops_datacenter_ready{{cluster=\"{c}\",datacenter=\"{d}\",context=\"{x}\"}} {}",
            u8::from(*ready)
        );
    }
    s.push_str("# HELP k8ssandra_gitops_datacenter_nodes Nodes of the datacenter: spec size (total) and nodes with a host ID in its status (joined).\n# TYPE k8ssandra_gitops_datacenter_nodes gauge\n");
    for ((c, d, x), (_, joined, size)) in &m.datacenters {
        let _ = writeln!(
            s,
            "k8ssandra_gitops_datacenter_nodes{{cluster=\"{c}\",datacenter=\"{d}\",context=\"{x}\",state=\"joined\"}} {joined}"
        );
        let _ = writeln!(
            s,
            "k8ssandra_gitops_datacenter_nodes{{cluster=\"{c}\",datacenter=\"{d}\",context=\"{x}\",state=\"total\"}} {size}"
        );
    }
    s.push_str("# HELP k8ssandra_gitops_context_up Whether the last attempt to read the context succeeded.\n# TYPE k8ssandra_gitops_context_up gauge\n");
    for (ctx, (up, _)) in &m.contexts {
        let _ = writeln!(
            s,
            "k8ssandra_gitops_context_up{{context=\"{ctx}\"}} {}",
            u8::from(*up)
        );
    }
    s.push_str("# HELP k8ssandra_gitops_context_last_success_age_seconds Seconds since the context was last read successfully.\n# TYPE k8ssandra_gitops_context_last_success_age_seconds gauge\n");
    for (ctx, (_, last)) in &m.contexts {
        if let Some(t) = last {
            let age = SystemTime::now()
                .duration_since(*t)
                .map_or(0.0, |d| d.as_secs_f64());
            let _ = writeln!(
                s,
                "k8ssandra_gitops_context_last_success_age_seconds{{context=\"{ctx}\"}} {age:.0}"
            );
        }
    }
    let _ = write!(
        s,
        "# HELP k8ssandra_gitops_passes_total Completed observation passes.\n# TYPE k8ssandra_gitops_passes_total counter\nk8ssandra_gitops_passes_total {}\n",
        m.passes
    );
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::net::{SocketAddr, TcpStream};

    #[test]
    fn metrics_text() {
        let mut m = Metrics::default();
        m.datacenters.insert(
            ("db/shop".into(), "dc1".into(), "east".into()),
            (true, 3, 3),
        );
        m.contexts.insert("west".into(), (false, None));
        let text = render(&m);
        assert!(text.contains("k8ssandra_gitops_datacenter_ready{cluster=\"db/shop\",datacenter=\"dc1\",context=\"east\"} 1\n"));
        assert!(text.contains("k8ssandra_gitops_datacenter_nodes{cluster=\"db/shop\",datacenter=\"dc1\",context=\"east\",state=\"total\"} 3\n"));
        assert!(text.contains("k8ssandra_gitops_context_up{context=\"west\"} 0\n"));
        assert!(text.ends_with("k8ssandra_gitops_passes_total 0\n"));
    }

    /// A server on a loopback port, on its own runtime thread (as in the binary: one thread).
    fn start(metrics: Arc<Mutex<Metrics>>, timeouts: Timeouts) -> SocketAddr {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let listener = bind("127.0.0.1:0").await.unwrap();
                tx.send(listener.local_addr().unwrap()).unwrap();
                serve(listener, metrics, timeouts).await;
            });
        });
        rx.recv().unwrap()
    }

    /// One request on a fresh connection; the answer, bounded by the test's own deadline.
    fn get(addr: SocketAddr, path: &str) -> String {
        let mut stream = TcpStream::connect(addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        write!(
            stream,
            "GET {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut answer = String::new();
        stream
            .read_to_string(&mut answer)
            .expect("an answer before the deadline");
        answer
    }

    #[test]
    fn an_idle_connection_does_not_block_the_probes() {
        let metrics = Arc::new(Mutex::new(Metrics::default()));
        let addr = start(Arc::clone(&metrics), Timeouts::default());
        // Connected, sends nothing (the old endpoint waited on it forever).
        let _idle = TcpStream::connect(addr).unwrap();
        let _half = {
            let mut s = TcpStream::connect(addr).unwrap();
            s.write_all(b"GET /metr").unwrap();
            s
        };
        let answer = get(addr, "/healthz");
        assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
        assert!(answer.ends_with("\r\n\r\nok\n"), "{answer}");
        let answer = get(addr, "/readyz");
        assert!(answer.starts_with("HTTP/1.1 503 "), "{answer}");
        metrics.blocking_lock().ready = true;
        assert!(get(addr, "/readyz").starts_with("HTTP/1.1 200 OK\r\n"));
        assert!(get(addr, "/metrics").contains("k8ssandra_gitops_passes_total 0\n"));
        assert!(get(addr, "/nothing").starts_with("HTTP/1.1 404 "));
    }

    #[test]
    fn a_silent_client_is_disconnected_after_the_header_timeout() {
        let metrics = Arc::new(Mutex::new(Metrics::default()));
        let addr = start(
            metrics,
            Timeouts {
                header_read: Duration::from_millis(300),
                request: Duration::from_secs(5),
            },
        );
        let mut idle = TcpStream::connect(addr).unwrap();
        idle.set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        let mut rest = Vec::new();
        // EOF (or a reset) instead of waiting for the test's deadline.
        match idle.read_to_end(&mut rest) {
            Ok(_) => {}
            Err(e) => assert!(
                !matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ),
                "still connected at the test's deadline: {e}"
            ),
        }
    }

    #[test]
    fn a_request_that_cannot_be_answered_in_time_gets_503() {
        let metrics = Arc::new(Mutex::new(Metrics::default()));
        let addr = start(
            Arc::clone(&metrics),
            Timeouts {
                header_read: Duration::from_secs(10),
                request: Duration::from_millis(200),
            },
        );
        // A pass holding the metrics for longer than the request timeout.
        let held = metrics.blocking_lock();
        let answer = get(addr, "/metrics");
        assert!(answer.starts_with("HTTP/1.1 503 "), "{answer}");
        // Probes that need no metrics answer meanwhile.
        assert!(get(addr, "/healthz").starts_with("HTTP/1.1 200 OK\r\n"));
        drop(held);
        assert!(get(addr, "/metrics").starts_with("HTTP/1.1 200 OK\r\n"));
    }
}
