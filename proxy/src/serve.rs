//! Serving HTTP on an open port without anyone in front.
//!
//! The proxy is meant to sit behind nginx, but a site owner will also expose
//! it directly, and then it must hold by itself. `axum::serve` has no
//! header-read timeout, no request timeout and no connection limit, so a
//! slowloris client (one byte of header every few seconds, on thousands of
//! sockets) would hold the server's sockets and memory for ever. This module
//! runs the same axum [`Router`] on hyper directly, with:
//!
//! - a **header-read timeout**: a request's head must arrive whole within it;
//!   hyper also starts it when a kept-alive connection goes idle, so it is
//!   the idle timeout too (a connection that sends nothing is closed);
//! - a **request timeout**: the time to produce a response's head, body
//!   upload included (a status stream's body flows on afterwards: streams
//!   have their own caps and lifetime);
//! - a cap on **open connections**, overall and **per client address**
//!   (addresses of trusted reverse proxies are exempt: every visitor comes
//!   through them);
//! - a cap on **requests in flight**: past it the proxy sheds load with a
//!   503 and `Retry-After` at once instead of queueing without bound.
//!
//! A connection over a cap gets a `503` for its first request and is closed.
//! Graceful shutdown is as `axum::serve`'s: stop accepting, let in-flight
//! requests finish (bounded by `drain`), end.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::IpAddr;
#[cfg(test)]
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{HeaderValue, Request, Response, StatusCode, header};
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

/// How much one server takes before it refuses more. Defaults are for one
/// small machine; README "Deployment" lists them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServeLimits {
    /// A request head (and an idle kept-alive connection) may take this long.
    pub header_read_timeout: Duration,
    /// Producing a response's head may take this long (body upload included).
    pub request_timeout: Duration,
    /// Open connections at most, overall.
    pub max_connections: usize,
    /// Open connections at most from one client address (trusted proxies
    /// exempt). An office behind one NAT address shares it: a browser opens
    /// up to 6 connections to a host, plus one per open status stream.
    pub max_connections_per_ip: usize,
    /// Requests being handled at once at most; more get a 503 at once.
    pub max_requests_in_flight: usize,
    /// On shutdown, in-flight requests get this long to finish.
    pub drain: Duration,
}

impl Default for ServeLimits {
    fn default() -> Self {
        Self {
            header_read_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            max_connections: 10_000,
            max_connections_per_ip: 256,
            max_requests_in_flight: 1_024,
            drain: Duration::from_secs(30),
        }
    }
}

/// Serves `app` on `listener` until `shutdown` is cancelled, under `limits`.
/// `exempt` tells the addresses (trusted reverse proxies) that the
/// per-address connection cap does not apply to.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: ServeLimits,
    exempt: Arc<dyn Fn(IpAddr) -> bool + Send + Sync>,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    let connections = Arc::new(Connections::default());
    let in_flight = Arc::new(Semaphore::new(limits.max_requests_in_flight));
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        // Heads larger than this are refused (431) rather than buffered.
        .max_buf_size(64 * 1024);

    loop {
        let (socket, remote) = tokio::select! {
            () = shutdown.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                // Out of file descriptors and the like: wait a little and go
                // on (as axum::serve does), rather than end the server.
                Err(error) => {
                    tracing::warn!(%error, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let per_ip_cap = if exempt(remote.ip()) {
            usize::MAX
        } else {
            limits.max_connections_per_ip
        };
        let Some(slot) = connections.enter(remote.ip(), per_ip_cap, limits.max_connections) else {
            refuse(socket);
            continue;
        };
        let _ = socket.set_nodelay(true);
        let app = app.clone();
        let in_flight = in_flight.clone();
        let request_timeout = limits.request_timeout;
        let service = hyper::service::service_fn(move |mut request: Request<Incoming>| {
            request.extensions_mut().insert(ConnectInfo(remote));
            let app = app.clone();
            let in_flight = in_flight.clone();
            async move {
                // The permit is held until the response's head is ready; a
                // stream's body does not hold it.
                let Ok(_permit) = in_flight.try_acquire() else {
                    return Ok::<_, Infallible>(overloaded());
                };
                let request = request.map(Body::new);
                match tokio::time::timeout(request_timeout, app.oneshot(request)).await {
                    Ok(Ok(response)) => Ok(response),
                    Ok(Err(never)) => match never {},
                    Err(_) => Ok(timed_out()),
                }
            }
        });
        let connection = http.serve_connection(TokioIo::new(socket), service);
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            let _slot = slot;
            if let Err(error) = connection.await {
                tracing::debug!(%error, %remote, "connection ended with an error");
            }
        });
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(limits.drain) => {
            tracing::warn!("shutdown: connections still open after the drain time were cut");
        }
    }
    Ok(())
}

/// Answers a connection over a cap: its first request gets a 503 with
/// `Retry-After` and the connection is closed. The request head is read
/// first (for at most a second) because a client that gets an answer before
/// it asked takes it for a broken connection, not for "busy".
fn refuse(socket: tokio::net::TcpStream) {
    tokio::spawn(async move {
        let mut http = hyper::server::conn::http1::Builder::new();
        http.timer(TokioTimer::new())
            .header_read_timeout(Duration::from_secs(1))
            .keep_alive(false);
        let busy = hyper::service::service_fn(|_: Request<Incoming>| async {
            Ok::<_, Infallible>(overloaded())
        });
        let _ = tokio::time::timeout(
            Duration::from_secs(2),
            http.serve_connection(TokioIo::new(socket), busy),
        )
        .await;
    });
}

/// A 503 in the API's error shape (`protocol::ErrorBody`), so the widget
/// and the OpenAPI document need no second one.
fn overloaded() -> Response<Body> {
    let mut response = Response::new(Body::from(
        r#"{"error":{"code":"unavailable","message":"The server is busy. Try again in a few seconds."}}"#,
    ));
    *response.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
    let headers = response.headers_mut();
    headers.insert(header::RETRY_AFTER, HeaderValue::from_static("2"));
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

fn timed_out() -> Response<Body> {
    let mut response = overloaded();
    *response.body_mut() = Body::from(
        r#"{"error":{"code":"unavailable","message":"The server took too long. Try again in a few seconds."}}"#,
    );
    response
}

/// Open connections, overall and per client address.
#[derive(Debug, Default)]
struct Connections {
    open: Mutex<OpenConnections>,
}

#[derive(Debug, Default)]
struct OpenConnections {
    total: usize,
    by_ip: HashMap<IpAddr, usize>,
}

impl Connections {
    /// Counts a new connection from `ip` in, unless a cap is reached.
    fn enter(self: &Arc<Self>, ip: IpAddr, per_ip: usize, total: usize) -> Option<ConnectionSlot> {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        let from_ip = open.by_ip.get(&ip).copied().unwrap_or(0);
        if open.total >= total || from_ip >= per_ip {
            return None;
        }
        open.total += 1;
        open.by_ip.insert(ip, from_ip + 1);
        Some(ConnectionSlot {
            connections: self.clone(),
            ip,
        })
    }

    #[cfg(test)]
    fn open(&self) -> usize {
        self.open.lock().unwrap_or_else(|p| p.into_inner()).total
    }
}

/// One counted connection; dropping it counts it out.
#[derive(Debug)]
struct ConnectionSlot {
    connections: Arc<Connections>,
    ip: IpAddr,
}

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        let mut open = self
            .connections
            .open
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        open.total = open.total.saturating_sub(1);
        if let Some(count) = open.by_ip.get_mut(&self.ip) {
            *count -= 1;
            if *count == 0 {
                open.by_ip.remove(&self.ip);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::routing::get;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpStream;

    async fn start(limits: ServeLimits) -> (SocketAddr, CancellationToken) {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let app = Router::new()
            .route("/", get(|| async { "ok" }))
            .route(
                "/slow",
                get(|| async {
                    tokio::time::sleep(Duration::from_secs(5)).await;
                    "late"
                }),
            )
            .route(
                "/who",
                get(|ConnectInfo(remote): ConnectInfo<SocketAddr>| async move {
                    remote.ip().to_string()
                }),
            );
        let shutdown = CancellationToken::new();
        tokio::spawn(serve(
            listener,
            app,
            limits,
            Arc::new(|_| false),
            shutdown.clone(),
        ));
        (addr, shutdown)
    }

    async fn get_path(addr: SocketAddr, path: &str) -> String {
        let mut socket = TcpStream::connect(addr).await.expect("connect");
        socket
            .write_all(
                format!("GET {path} HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n").as_bytes(),
            )
            .await
            .expect("write");
        let mut answer = String::new();
        socket.read_to_string(&mut answer).await.expect("read");
        answer
    }

    /// Reads until the peer closes; returns how long that took.
    async fn time_until_closed(socket: &mut TcpStream) -> Duration {
        let started = std::time::Instant::now();
        let mut buffer = [0u8; 1024];
        loop {
            match tokio::time::timeout(Duration::from_secs(10), socket.read(&mut buffer)).await {
                Ok(Ok(0) | Err(_)) => return started.elapsed(),
                Ok(Ok(_)) => {}
                Err(_) => panic!("the server kept the connection open for 10 s"),
            }
        }
    }

    #[tokio::test]
    async fn a_slow_request_head_is_cut_off() {
        let (addr, _stop) = start(ServeLimits {
            header_read_timeout: Duration::from_millis(300),
            ..ServeLimits::default()
        })
        .await;
        let mut socket = TcpStream::connect(addr).await.expect("connect");
        socket
            .write_all(b"GET / HTTP/1.1\r\nho")
            .await
            .expect("write");
        let held = time_until_closed(&mut socket).await;
        assert!(held < Duration::from_secs(3), "held {held:?}");
    }

    #[tokio::test]
    async fn an_idle_kept_alive_connection_is_closed() {
        let (addr, _stop) = start(ServeLimits {
            header_read_timeout: Duration::from_millis(300),
            ..ServeLimits::default()
        })
        .await;
        let mut socket = TcpStream::connect(addr).await.expect("connect");
        socket
            .write_all(b"GET / HTTP/1.1\r\nhost: x\r\n\r\n")
            .await
            .expect("write");
        let held = time_until_closed(&mut socket).await;
        assert!(held < Duration::from_secs(3), "held {held:?}");
    }

    #[tokio::test]
    async fn a_slow_handler_gets_a_503_at_the_request_timeout() {
        let (addr, _stop) = start(ServeLimits {
            request_timeout: Duration::from_millis(200),
            ..ServeLimits::default()
        })
        .await;
        let answer = get_path(addr, "/slow").await;
        assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
        assert!(answer.contains("retry-after"), "{answer}");
    }

    #[tokio::test]
    async fn connections_past_the_per_address_cap_are_refused_and_others_still_served() {
        let (addr, _stop) = start(ServeLimits {
            max_connections_per_ip: 3,
            ..ServeLimits::default()
        })
        .await;
        let mut held = Vec::new();
        for _ in 0..3 {
            let mut socket = TcpStream::connect(addr).await.expect("connect");
            socket
                .write_all(b"GET / HTTP/1.1\r\nhost: x\r\n\r\n")
                .await
                .expect("write");
            let mut buffer = [0u8; 256];
            let n = socket.read(&mut buffer).await.expect("read");
            assert!(buffer[..n].starts_with(b"HTTP/1.1 200"));
            held.push(socket);
        }
        let refused = get_path(addr, "/").await;
        assert!(refused.starts_with("HTTP/1.1 503"), "{refused}");
        drop(held);
        // Slots come back when connections close.
        let mut answer = String::new();
        for _ in 0..50 {
            answer = get_path(addr, "/").await;
            if answer.starts_with("HTTP/1.1 200") {
                break;
            }
            tokio::task::yield_now().await;
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    }

    #[tokio::test]
    async fn handlers_see_the_client_address() {
        let (addr, _stop) = start(ServeLimits::default()).await;
        let answer = get_path(addr, "/who").await;
        assert!(answer.ends_with("127.0.0.1"), "{answer}");
    }

    #[tokio::test]
    async fn requests_past_the_in_flight_cap_are_shed_with_a_503() {
        let (addr, _stop) = start(ServeLimits {
            max_requests_in_flight: 1,
            ..ServeLimits::default()
        })
        .await;
        let slow = tokio::spawn(get_path(addr, "/slow"));
        // Wait until the slow request holds the one permit.
        let mut shed = String::new();
        for _ in 0..100 {
            shed = get_path(addr, "/").await;
            if shed.starts_with("HTTP/1.1 503") {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert!(shed.starts_with("HTTP/1.1 503"), "{shed}");
        slow.abort();
    }

    #[tokio::test]
    async fn the_counter_counts_connections_out_again() {
        let connections = Arc::new(Connections::default());
        let ip: IpAddr = "127.0.0.1".parse().expect("ip");
        let a = connections.enter(ip, 2, 10).expect("first");
        let b = connections.enter(ip, 2, 10).expect("second");
        assert!(connections.enter(ip, 2, 10).is_none());
        assert!(
            connections
                .enter("127.0.0.2".parse().expect("ip"), 2, 2)
                .is_none()
        );
        drop(a);
        assert_eq!(connections.open(), 1);
        drop(b);
        assert_eq!(connections.open(), 0);
        assert!(connections.enter(ip, 2, 10).is_some());
    }
}
