//! A TCP proxy that fails on demand, for outages of a real server in the middle of a test: the
//! PostgreSQL pool of `store_outage`, the Redis subscription of `redis_invalidation`.

use std::{
    io,
    pin::Pin,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    task::{Context, Poll},
};

use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf, copy_bidirectional},
    net::{TcpListener, TcpStream},
    task::{JoinHandle, JoinSet},
};

/// How the proxy fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// Every connection is closed and new ones are closed as soon as they arrive, as when
    /// the server crashed or a router in between resets connections.
    Cut,
    /// Connections stay open but nothing gets through any more, new ones included, as on a
    /// network that silently drops packets. When it ends, the connections that were open
    /// are closed, as a firewall that forgot them resets them.
    Stall,
}

/// A TCP proxy between a client and its server, which fails as told.
pub struct Proxy {
    port: u16,
    failure: Failure,
    state: Arc<Mutex<ProxyState>>,
    /// Read by the forwarding tasks: while set, no byte passes in either direction.
    stalled: Arc<AtomicBool>,
    accepting: JoinHandle<()>,
}

#[derive(Default)]
struct ProxyState {
    failing: bool,
    forwarding: JoinSet<()>,
    forwarded: usize,
    turned_away: usize,
}

impl Proxy {
    /// Forwards connections to `upstream` (`HOST:PORT`) until told to fail.
    pub async fn start(upstream: String, failure: Failure) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let state = Arc::new(Mutex::new(ProxyState::default()));
        let stalled = Arc::new(AtomicBool::new(false));
        let accepting = tokio::spawn(accept(
            listener,
            upstream,
            failure,
            Arc::clone(&state),
            Arc::clone(&stalled),
        ));
        Self {
            port,
            failure,
            state,
            stalled,
            accepting,
        }
    }

    /// The port it listens on, on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// How it fails.
    pub fn failure(&self) -> Failure {
        self.failure
    }

    /// Connections forwarded, and turned away while failing.
    pub fn counts(&self) -> (usize, usize) {
        let state = self.state.lock().unwrap();
        (state.forwarded, state.turned_away)
    }

    /// Starts failing: cuts or stalls every connection, and those that come.
    pub async fn fail(&self) {
        self.state.lock().unwrap().failing = true;
        match self.failure {
            Failure::Cut => self.close_all().await,
            Failure::Stall => self.stalled.store(true, Ordering::SeqCst),
        }
    }

    /// Forwards again; connections a stall held are closed first.
    pub async fn recover(&self) {
        if self.failure == Failure::Stall {
            self.close_all().await;
            self.stalled.store(false, Ordering::SeqCst);
        }
        self.state.lock().unwrap().failing = false;
    }

    /// Closes both ends of every connection, and waits until they are closed.
    async fn close_all(&self) {
        let mut forwarding = std::mem::take(&mut self.state.lock().unwrap().forwarding);
        forwarding.abort_all();
        while forwarding.join_next().await.is_some() {}
    }
}

async fn accept(
    listener: TcpListener,
    upstream: String,
    failure: Failure,
    state: Arc<Mutex<ProxyState>>,
    stalled: Arc<AtomicBool>,
) {
    loop {
        let Ok((client, _)) = listener.accept().await else {
            continue;
        };
        let mut state = state.lock().unwrap();
        while state.forwarding.try_join_next().is_some() {}
        if state.failing {
            state.turned_away += 1;
            match failure {
                // Closed at once, before the server could say anything.
                Failure::Cut => drop(client),
                // Accepted, and never answered.
                Failure::Stall => {
                    state.forwarding.spawn(async move {
                        let _held = client;
                        std::future::pending::<()>().await;
                    });
                }
            }
            continue;
        }
        state.forwarded += 1;
        let upstream = upstream.clone();
        let stalled = Arc::clone(&stalled);
        state.forwarding.spawn(async move {
            let Ok(server) = TcpStream::connect(&upstream).await else {
                return;
            };
            let mut client = Stallable {
                stream: client,
                stalled: Arc::clone(&stalled),
            };
            let mut server = Stallable {
                stream: server,
                stalled,
            };
            let _ = copy_bidirectional(&mut client, &mut server).await;
        });
    }
}

/// A stream that neither reads nor writes while `stalled` is set: the forwarding task waits
/// forever, holding the connection open.
struct Stallable {
    stream: TcpStream,
    stalled: Arc<AtomicBool>,
}

impl Stallable {
    fn stalled(&self) -> bool {
        self.stalled.load(Ordering::SeqCst)
    }
}

impl AsyncRead for Stallable {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if self.stalled() {
            return Poll::Pending;
        }
        Pin::new(&mut self.get_mut().stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for Stallable {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if self.stalled() {
            return Poll::Pending;
        }
        Pin::new(&mut self.get_mut().stream).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.stalled() {
            return Poll::Pending;
        }
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.stalled() {
            return Poll::Pending;
        }
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.accepting.abort();
        self.state.lock().unwrap().forwarding.abort_all();
    }
}
