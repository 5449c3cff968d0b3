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
    /// When bytes last moved.
    moved: Instant,
    /// A timer set `timeout` after some earlier progress: when it fires, it is set again from
    /// `moved` unless that is `timeout` ago (reading the clock at every read and write costs
    /// less than setting a timer).
    deadline: Pin<Box<Sleep>>,
    _open: Option<OwnedSemaphorePermit>,
}

impl<Io> Idle<Io> {
    fn new(io: Io, timeout: Duration, open: Option<OwnedSemaphorePermit>) -> Idle<Io> {
        Idle {
            io,
            timeout,
            moved: Instant::now(),
            deadline: Box::pin(tokio::time::sleep(timeout)),
            _open: open,
        }
    }

    /// The connection inside.
    pub fn get_ref(&self) -> &Io {
        &self.io
    }

    fn progress(&mut self) {
        self.moved = Instant::now();
    }

    /// After the inner connection is pending: an error once `timeout` passed without progress.
    fn check(&mut self, cx: &mut Context<'_>) -> Poll<io::Error> {
        while self.deadline.as_mut().poll(cx).is_ready() {
            let due = self.moved + self.timeout;
            if due <= Instant::now() {
                return Poll::Ready(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("no progress for {:?}", self.timeout),
                ));
            }
            self.deadline.as_mut().reset(due);
        }
        Poll::Pending
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

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    use super::*;

    /// Polls a read of `idle` once.
    fn read_once<Io: AsyncRead + Unpin>(idle: &mut Idle<Io>) -> Poll<io::Result<usize>> {
        let mut byte = [0u8; 1];
        let mut buf = ReadBuf::new(&mut byte);
        let waker = std::task::Waker::noop();
        Pin::new(&mut *idle)
            .poll_read(&mut Context::from_waker(waker), &mut buf)
            .map_ok(|()| buf.filled().len())
    }

    #[tokio::test(start_paused = true)]
    async fn a_connection_times_out_a_timeout_after_its_last_progress() {
        let second = Duration::from_secs(1);
        let (io, mut peer) = tokio::io::duplex(64);
        let start = Instant::now();
        let mut idle = Idle::new(io, second, None);
        assert!(read_once(&mut idle).is_pending());
        // Progress 0.6 s in pushes the end to 1.6 s.
        tokio::time::advance(second * 6 / 10).await;
        peer.write_all(b"x").await.unwrap();
        assert_eq!(idle.read_u8().await.unwrap(), b'x');
        // At 1.2 s the first timer (1 s) has passed: the read that finds it sets it again, to
        // 1.6 s, is woken then (the paused clock moves to it) and fails. Were it not woken, the
        // outer timeout would end it.
        tokio::time::advance(second * 6 / 10).await;
        let waiting = tokio::time::timeout(second * 10, idle.read_u8()).await;
        let failed = waiting.expect("the waiting read was never woken");
        assert_eq!(failed.unwrap_err().kind(), io::ErrorKind::TimedOut);
        assert_eq!(Instant::now() - start, second * 16 / 10);
    }
}
