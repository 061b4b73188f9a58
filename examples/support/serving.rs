//! What every example server does around serving: logs to stderr, a graceful stop on a signal,
//! and, for the HTTP examples, one serve loop with timeouts.
//!
//! `axum::serve` sets no timer, so a client that sends half a request and stops keeps its
//! connection, and its socket, forever. [`serve`] gives every connection deadlines instead:
//!
//! - **Header read**: a request's head must have arrived [`HEADER_READ_TIMEOUT`] after the
//!   connection opened, or after the previous response on a keep-alive HTTP/1 connection. hyper
//!   (1.12) enforces it for HTTP/1, and starts that timer as soon as a connection goes idle, so it
//!   also closes HTTP/1 keep-alive connections that send no next request. Before hyper sees a
//!   byte, hyper-util reads the first bytes to tell HTTP/1 from HTTP/2 with no deadline, so this
//!   loop closes a connection that has not started a request by then too, whatever it speaks.
//! - **Idle**: a connection without a request in flight for [`IDLE_TIMEOUT`] is closed: HTTP/2
//!   connections, which hyper keeps open for as long as the peer does, and HTTP/1 ones should
//!   the header timeout be longer. A request is in flight from its head until its response's
//!   body is sent.
//! - **HTTP/2 liveness**: a ping every [`HTTP2_KEEPALIVE_INTERVAL`] closes connections whose peer
//!   is gone without a word. Streams reset before they are served (the "rapid reset" attack) are
//!   bounded by the h2 crate's default of 20 pending at once.
//!
//! On the shutdown signal the listener stops accepting, idle connections close, and requests in
//! flight get [`SHUTDOWN_GRACE`] to finish.
#![allow(dead_code)]

use std::{
    future::Future,
    io,
    pin::{Pin, pin},
    sync::Arc,
    task::{Context, Poll},
    time::Duration,
};

use http::{Request, Response};
use hyper::body::{Body, Frame, Incoming, SizeHint};
use hyper_util::{
    rt::{TokioExecutor, TokioIo, TokioTimer},
    server::{conn::auto, graceful::GracefulShutdown},
};
use tokio::{net::TcpListener, sync::watch};
use tower::ServiceExt;

use super::args::{Args, Flag};

/// How long a request's head may take to arrive, from the connection's start or its previous
/// response.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a connection may stay without a request in flight. Longer than the 60 s idle
/// timeout of common load balancers, so that they, not this server, close connections they hold
/// open: otherwise a request sent just as the server closes fails at the balancer.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(75);

/// How often an HTTP/2 connection is pinged, and how long the answer may take.
pub const HTTP2_KEEPALIVE_INTERVAL: Duration = Duration::from_secs(20);

/// How long requests in flight may take to finish after the shutdown signal.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// `--header-timeout SECS`.
pub const HEADER_TIMEOUT_FLAG: Flag = Flag::new(
    "header-timeout",
    "SECS",
    "close a connection whose request head has not arrived SECS after it opened or after the last response (default 10)",
);

/// `--idle-timeout SECS`.
pub const IDLE_TIMEOUT_FLAG: Flag = Flag::new(
    "idle-timeout",
    "SECS",
    "close a connection without a request in flight for SECS (default 75; HTTP/1 ones close at the header timeout first)",
);

/// The deadlines [`serve`] gives each connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    pub header_read: Duration,
    pub idle: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            header_read: HEADER_READ_TIMEOUT,
            idle: IDLE_TIMEOUT,
        }
    }
}

impl Timeouts {
    /// The timeouts of `--header-timeout` and `--idle-timeout`, each 1 second or more.
    pub fn from_args(args: &Args) -> Result<Self, String> {
        let positive = |flag: &Flag, default| {
            let timeout = args.seconds(flag.name, default)?;
            if timeout.is_zero() {
                return Err(format!("--{} must be at least 1 second", flag.name));
            }
            Ok(timeout)
        };
        Ok(Self {
            header_read: positive(&HEADER_TIMEOUT_FLAG, HEADER_READ_TIMEOUT)?,
            idle: positive(&IDLE_TIMEOUT_FLAG, IDLE_TIMEOUT)?,
        })
    }
}

/// Serves `service` on every connection `listener` accepts, HTTP/1.1 or HTTP/2, with
/// `timeouts`, until `shutdown` completes; then stops accepting and waits up to
/// [`SHUTDOWN_GRACE`] for the connections to finish.
pub async fn serve<S, B>(
    listener: TcpListener,
    service: S,
    timeouts: Timeouts,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()>
where
    S: tower::Service<Request<Incoming>, Response = Response<B>> + Clone + Send + 'static,
    S::Future: Send,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>> + 'static,
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(timeouts.header_read);
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(HTTP2_KEEPALIVE_INTERVAL)
        .keep_alive_timeout(HTTP2_KEEPALIVE_INTERVAL);
    let graceful = GracefulShutdown::new();
    let mut shutdown = pin!(shutdown);
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                // A connection that failed before it was accepted, or no file descriptor left
                // for now: neither stops the server.
                Err(error) => {
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let (in_flight, requests) = watch::channel(0_usize);
        let service = counted(service.clone(), Arc::new(in_flight));
        let connection = builder
            .serve_connection(TokioIo::new(stream), service)
            .into_owned();
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            tokio::select! {
                served = connection => {
                    if let Err(error) = served {
                        tracing::debug!(%error, "connection ended with an error");
                    }
                }
                // Dropping the connection closes it.
                () = idle(requests, timeouts) => tracing::debug!("closed an idle connection"),
            }
        });
    }
    // Stop accepting now: new clients are refused rather than left waiting.
    drop(listener);
    if tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("requests still in flight {SHUTDOWN_GRACE:?} after the shutdown signal");
    }
    Ok(())
}

/// Completes when the connection has had no request in flight for too long: the header timeout
/// until its first request, the idle timeout after.
async fn idle(mut requests: watch::Receiver<usize>, timeouts: Timeouts) {
    let mut limit = timeouts.header_read;
    loop {
        if *requests.borrow_and_update() > 0 {
            limit = timeouts.idle;
            if requests.changed().await.is_err() {
                return;
            }
            continue;
        }
        match tokio::time::timeout(limit, requests.changed()).await {
            Err(_elapsed) => return,
            Ok(Err(_closed)) => return,
            Ok(Ok(())) => limit = timeouts.idle,
        }
    }
}

/// `service` as a hyper service that counts its requests in flight in `in_flight`, each from
/// its call until its response body is dropped.
fn counted<S, B>(
    service: S,
    in_flight: Arc<watch::Sender<usize>>,
) -> impl hyper::service::Service<
    Request<Incoming>,
    Response = Response<Counted<B>>,
    Error = S::Error,
    Future = CountedFuture<S::Error, B>,
>
where
    S: tower::Service<Request<Incoming>, Response = Response<B>> + Clone + Send + 'static,
    S::Future: Send,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>> + 'static,
    B: Body + 'static,
{
    hyper::service::service_fn(move |request| {
        let request_in_flight = InFlight::start(&in_flight);
        let service = service.clone();
        Box::pin(async move {
            let response = service.oneshot(request).await?;
            Ok(response.map(|body| Counted {
                body,
                _in_flight: request_in_flight,
            }))
        }) as CountedFuture<S::Error, B>
    })
}

/// What a counted service answers with.
type CountedFuture<E, B> = Pin<Box<dyn Future<Output = Result<Response<Counted<B>>, E>> + Send>>;

/// One request in flight, until dropped.
struct InFlight(Arc<watch::Sender<usize>>);

impl InFlight {
    fn start(in_flight: &Arc<watch::Sender<usize>>) -> Self {
        in_flight.send_modify(|count| *count += 1);
        Self(Arc::clone(in_flight))
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.send_modify(|count| *count = count.saturating_sub(1));
    }
}

pin_project_lite::pin_project! {
    /// A response body that keeps its request counted as in flight until it is dropped.
    struct Counted<B> {
        #[pin]
        body: B,
        _in_flight: InFlight,
    }
}

impl<B: Body> Body for Counted<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        self.project().body.poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

/// Logs warnings and errors to stderr, or what `RUST_LOG` asks for; stdout stays for the lines
/// scripts read (the keys, the address).
pub fn init_tracing() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
}

/// Ctrl-C, or SIGTERM as process managers send.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
