//! The examples' serve loop (`examples/support/serving.rs`) as a client that stalls sees it:
//! connections that send half a request, nothing, or nothing more are closed on time; a slow
//! request is not; shutdown waits for requests in flight.
//!
//! Run with `--nocapture` to see the measured seconds.

#[path = "../../examples/support/args.rs"]
mod args;
#[path = "../../examples/support/serving.rs"]
mod serving;

use std::{
    convert::Infallible,
    time::{Duration, Instant},
};

use http::{Request, Response};
use hyper::body::Incoming;
use serving::Timeouts;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
    sync::oneshot,
};

const TIMEOUTS: Timeouts = Timeouts {
    header_read: Duration::from_secs(1),
    idle: Duration::from_secs(2),
};

/// How much later than its timeout a close may come on a busy machine.
const MARGIN: Duration = Duration::from_millis(1500);

/// How long `/slow` takes: longer than both timeouts.
const SLOW: Duration = Duration::from_secs(3);

/// An HTTP/2 connection preface and an empty SETTINGS frame: what a client sends first.
const H2_START: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00";

/// `GET /health` on stream 1 as one HEADERS frame (END_STREAM, END_HEADERS), HPACK-encoded by
/// hand: `:method GET` and `:scheme http` from the static table, `:path` and `:authority` as
/// literals.
const H2_GET_HEALTH: &[u8] =
    b"\x00\x00\x0e\x01\x05\x00\x00\x00\x01\x82\x86\x44\x07/health\x41\x01x";

struct Server {
    addr: std::net::SocketAddr,
    stop: oneshot::Sender<()>,
    served: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Server {
    async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let service = tower::service_fn(|request: Request<Incoming>| async move {
            if request.uri().path() == "/slow" {
                tokio::time::sleep(SLOW).await;
            }
            Ok::<_, Infallible>(Response::new("ok".to_owned()))
        });
        let shutdown = async {
            let _ = stopped.await;
        };
        let served = tokio::spawn(serving::serve(listener, service, TIMEOUTS, shutdown));
        Self { addr, stop, served }
    }

    /// Sends `bytes` on a new connection and reads until the server closes it: how long that
    /// took, and what it answered.
    async fn close_after(&self, bytes: &[u8]) -> (Duration, String) {
        let mut stream = TcpStream::connect(self.addr).await.unwrap();
        let start = Instant::now();
        stream.write_all(bytes).await.unwrap();
        let mut answer = Vec::new();
        let read = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut answer));
        // A reset counts as a close, as it does for the client.
        let _ = read
            .await
            .expect("the server kept the connection open for 10 s");
        (
            start.elapsed(),
            String::from_utf8_lossy(&answer).into_owned(),
        )
    }
}

fn assert_closed_at(what: &str, elapsed: Duration, timeout: Duration) {
    eprintln!("{what}: closed after {:.2} s", elapsed.as_secs_f64());
    assert!(
        elapsed >= timeout.saturating_sub(Duration::from_millis(100))
            && elapsed <= timeout + MARGIN,
        "{what}: closed after {elapsed:?}, expected {timeout:?} (+ up to {MARGIN:?})"
    );
}

#[tokio::test]
async fn a_request_head_cut_short_is_closed_after_the_header_timeout() {
    let server = Server::start().await;
    let (elapsed, _) = server
        .close_after(b"GET /health HTTP/1.1\r\nHost: x\r\n")
        .await;
    assert_closed_at("partial HTTP/1.1 head", elapsed, TIMEOUTS.header_read);
}

#[tokio::test]
async fn a_connection_that_sends_nothing_is_closed_after_the_header_timeout() {
    let server = Server::start().await;
    let (elapsed, _) = server.close_after(b"").await;
    assert_closed_at("silent connection", elapsed, TIMEOUTS.header_read);
    // Half an HTTP/2 preface: hyper-util is still telling HTTP/1 from HTTP/2.
    let (elapsed, _) = server.close_after(&H2_START[..10]).await;
    assert_closed_at("partial HTTP/2 preface", elapsed, TIMEOUTS.header_read);
}

#[tokio::test]
async fn an_idle_http1_keep_alive_connection_is_closed_after_the_header_timeout() {
    let server = Server::start().await;
    let (elapsed, answer) = server
        .close_after(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        .await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert_closed_at("idle HTTP/1.1 keep-alive", elapsed, TIMEOUTS.header_read);
}

#[tokio::test]
async fn an_http2_connection_without_requests_is_closed_after_the_idle_timeout() {
    let server = Server::start().await;
    // Its first request never comes: the header timeout.
    let (elapsed, _) = server.close_after(H2_START).await;
    assert_closed_at("HTTP/2 without a request", elapsed, TIMEOUTS.header_read);
    // Idle after a request: the idle timeout.
    let (elapsed, answer) = server
        .close_after(&[H2_START, H2_GET_HEALTH].concat())
        .await;
    assert!(
        answer.contains("ok"),
        "no response to the request: {answer:?}"
    );
    assert_closed_at("idle HTTP/2 after a request", elapsed, TIMEOUTS.idle);
}

#[tokio::test]
async fn a_request_in_flight_outlasts_both_timeouts() {
    let server = Server::start().await;
    let (elapsed, answer) = server
        .close_after(b"GET /slow HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(elapsed >= SLOW, "{elapsed:?}");
}

#[tokio::test]
async fn shutdown_lets_the_requests_in_flight_finish() {
    let server = Server::start().await;
    let addr = server.addr;
    let slow = tokio::spawn(async move {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        stream
            .write_all(b"GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        let mut answer = Vec::new();
        let _ = stream.read_to_end(&mut answer).await;
        String::from_utf8_lossy(&answer).into_owned()
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let start = Instant::now();
    server.stop.send(()).unwrap();
    server.served.await.unwrap().unwrap();
    let answer = slow.await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(start.elapsed() < SLOW + MARGIN, "{:?}", start.elapsed());
    assert!(
        TcpStream::connect(addr).await.is_err(),
        "no new connections once shut down"
    );
}
