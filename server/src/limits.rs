//! Limits on connections: how many may be open at once (more wait in the kernel's backlog),
//! and how long one may go without reading or writing a byte before it fails with `TimedOut`.
//! Together they bound what clients that send requests slowly, or never finish them, can hold
//! (axum's server sets no header timeout). And the TCP setting every connection gets.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::serve::{Listener, ListenerExt as _, TapIo};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::{Instant, Sleep};

/// A TCP listener whose connections send small writes at once (`TCP_NODELAY`).
pub type NoDelay = TapIo<TcpListener, fn(&mut TcpStream)>;

/// `listener`, its connections set to send small writes at once: without it, a gRPC answer
/// written in pieces (headers, message, trailers) waits for the client's delayed ACK, 40 ms
/// on Linux, before its last piece leaves (Nagle's algorithm).
pub fn no_delay(listener: TcpListener) -> NoDelay {
    listener.tap_io(set_no_delay as fn(&mut TcpStream))
}

/// Sets `TCP_NODELAY` on a connection.
pub fn set_no_delay(tcp: &mut TcpStream) {
    if let Err(e) = tcp.set_nodelay(true) {
        tracing::debug!("setting TCP_NODELAY: {e}");
    }
}

/// A listener with at most `max` connections open, each closed after `timeout` without any
/// progress.
pub struct Limited<L> {
    inner: L,
    timeout: Duration,
    open: std::sync::Arc<Semaphore>,
}

impl<L> Limited<L> {
    /// Wraps `inner`.
    pub fn new(inner: L, max: usize, timeout: Duration) -> Limited<L> {
        Limited {
            inner,
            timeout,
            open: std::sync::Arc::new(Semaphore::new(max.max(1))),
        }
    }
}

impl<L: Listener> Listener for Limited<L> {
    type Io = Idle<L::Io>;
    type Addr = L::Addr;

    async fn accept(&mut self) -> (Idle<L::Io>, L::Addr) {
        // The semaphore is never closed: acquiring fails only then.
        let permit = self.open.clone().acquire_owned().await.ok();
        let (io, addr) = self.inner.accept().await;
        (Idle::new(io, self.timeout, permit), addr)
    }

    fn local_addr(&self) -> io::Result<L::Addr> {
        self.inner.local_addr()
    }
}

/// A connection with an idle deadline, pushed back by every read or write that moves bytes;
/// it holds its place among the open connections until dropped.
pub struct Idle<Io> {
    io: Io,
    timeout: Duration,
    deadline: Pin<Box<Sleep>>,
    _open: Option<OwnedSemaphorePermit>,
}

impl<Io> Idle<Io> {
    fn new(io: Io, timeout: Duration, open: Option<OwnedSemaphorePermit>) -> Idle<Io> {
        Idle {
            io,
            timeout,
            deadline: Box::pin(tokio::time::sleep(timeout)),
            _open: open,
        }
    }

    /// The connection inside.
    pub fn get_ref(&self) -> &Io {
        &self.io
    }

    fn progress(&mut self) {
        let next = Instant::now() + self.timeout;
        self.deadline.as_mut().reset(next);
    }

    /// After the inner connection is pending: an error once the deadline passed.
    fn check(&mut self, cx: &mut Context<'_>) -> Poll<io::Error> {
        match self.deadline.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("no progress for {:?}", self.timeout),
            )),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<Io: AsyncRead + Unpin> AsyncRead for Idle<Io> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        match Pin::new(&mut this.io).poll_read(cx, buf) {
            Poll::Ready(result) => {
                if buf.filled().len() > before {
                    this.progress();
                }
                Poll::Ready(result)
            }
            Poll::Pending => this.check(cx).map(Err),
        }
    }
}

impl<Io: AsyncWrite + Unpin> AsyncWrite for Idle<Io> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        match Pin::new(&mut this.io).poll_write(cx, buf) {
            Poll::Ready(result) => {
                if matches!(result, Ok(n) if n > 0) {
                    this.progress();
                }
                Poll::Ready(result)
            }
            Poll::Pending => this.check(cx).map(Err),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        match Pin::new(&mut this.io).poll_flush(cx) {
            Poll::Ready(result) => Poll::Ready(result),
            Poll::Pending => this.check(cx).map(Err),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        match Pin::new(&mut this.io).poll_write_vectored(cx, bufs) {
            Poll::Ready(result) => {
                if matches!(result, Ok(n) if n > 0) {
                    this.progress();
                }
                Poll::Ready(result)
            }
            Poll::Pending => this.check(cx).map(Err),
        }
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }
}
