//! Opening connections: TCP (then TLS when configured) to one of the endpoints, and the
//! HTTP/2 opening that makes a connection count as established.
//!
//! grpc-go (etcd's client) sends no RPC on a connection before the server's HTTP/2
//! SETTINGS frame arrived: a server that closes the connection or answers something else
//! (a TLS server refusing a missing client certificate after the handshake, a TLS port
//! reached in plaintext) leaves the connection "not ready", and calls wait for a better one
//! until their deadline. hyper sends requests right after its own preface, so the
//! connector does the client's part of the opening itself: it sends the HTTP/2 client magic
//! and waits for the server's first frame, which must be SETTINGS, before handing the
//! connection to hyper ([`Opened`] then drops hyper's copy of the magic and replays what was
//! read). etcd's port multiplexer needs the magic to route the connection; every HTTP/2
//! server answers it with SETTINGS.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use http::Uri;
use hyper_util::rt::TokioIo;
use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// HTTP/2's client connection preface (RFC 9113, 3.4), without the SETTINGS frame.
const CLIENT_MAGIC: &[u8; 24] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// HTTP/2's frame type of SETTINGS (the 4th byte of a frame header).
const SETTINGS_FRAME: u8 = 0x4;

/// A byte stream either way.
trait Io: AsyncRead + AsyncWrite + Send + Unpin {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin> Io for T {}

/// A connection whose HTTP/2 opening the connector began: hyper's client magic is dropped
/// (it was sent already) and the server's bytes read so far come first.
pub(crate) struct Opened {
    inner: Box<dyn Io>,
    /// What the connector read from the server, not yet handed over.
    replay: Vec<u8>,
    /// How much of `replay` was handed over.
    replayed: usize,
    /// How many bytes of hyper's magic are still to be dropped.
    skip: usize,
}

/// Sends the client magic on `stream` and reads the server's first bytes, which must start
/// an HTTP/2 SETTINGS frame.
async fn open(mut stream: Box<dyn Io>) -> io::Result<Opened> {
    let not_ready = |why: &str| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("the server did not open HTTP/2 with SETTINGS ({why})"),
        )
    };
    stream.write_all(CLIENT_MAGIC).await?;
    stream.flush().await?;
    let mut replay = Vec::with_capacity(64);
    while replay.len() < 4 {
        if stream.read_buf(&mut replay).await? == 0 {
            return Err(not_ready("connection closed"));
        }
    }
    if replay[3] != SETTINGS_FRAME {
        return Err(not_ready("unexpected first bytes"));
    }
    Ok(Opened {
        inner: stream,
        replay,
        replayed: 0,
        skip: CLIENT_MAGIC.len(),
    })
}

impl AsyncRead for Opened {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        if this.replayed < this.replay.len() {
            let rest = &this.replay[this.replayed..];
            let n = rest.len().min(buf.remaining());
            buf.put_slice(&rest[..n]);
            this.replayed += n;
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut this.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for Opened {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        if this.skip > 0 {
            let done = CLIENT_MAGIC.len() - this.skip;
            let n = this.skip.min(buf.len());
            if buf[..n] != CLIENT_MAGIC[done..done + n] {
                return Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "HTTP/2 connection not started with the client magic",
                )));
            }
            this.skip -= n;
            return Poll::Ready(Ok(n));
        }
        Pin::new(&mut this.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// TLS for a connector: the rustls configuration and the name to check instead of the
/// endpoint's host, if any.
#[derive(Clone)]
pub(crate) struct Tls {
    pub(crate) config: Arc<rustls::ClientConfig>,
    pub(crate) server_name: Option<String>,
}

/// One place to connect to: host (as in the endpoint, brackets removed) and port.
pub(crate) type Target = (String, u16);

/// Dials TCP, then TLS if configured. With several endpoints it tries them in turn,
/// starting with the one that worked last (tonic cannot balance over a custom connector;
/// failing over keeps a dead member from taking the client down).
#[derive(Clone)]
pub(crate) struct Connector {
    tls: Option<Tls>,
    targets: Arc<[Target]>,
    next: Arc<AtomicUsize>,
}

impl Connector {
    pub(crate) fn new(tls: Option<Tls>, targets: Vec<Target>) -> Self {
        Connector {
            tls,
            targets: targets.into(),
            next: Arc::default(),
        }
    }
}

async fn dial(tls: Option<&Tls>, (host, port): &Target) -> Result<Opened, BoxError> {
    let tcp = TcpStream::connect((host.as_str(), *port)).await?;
    tcp.set_nodelay(true)?;
    let inner: Box<dyn Io> = match tls {
        None => Box::new(tcp),
        Some(tls) => {
            let name = tls.server_name.as_deref().unwrap_or(host);
            let name = ServerName::try_from(name.to_owned())?;
            let connector = tokio_rustls::TlsConnector::from(tls.config.clone());
            Box::new(connector.connect(name, tcp).await?)
        }
    };
    Ok(open(inner).await?)
}

impl tower_service::Service<Uri> for Connector {
    type Response = TokioIo<Opened>;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, BoxError>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _: Uri) -> Self::Future {
        let this = self.clone();
        Box::pin(async move {
            let n = this.targets.len();
            let first = this.next.load(Ordering::Relaxed);
            let mut last_error: BoxError = "no endpoint to dial".into();
            for i in 0..n {
                let index = (first + i) % n;
                match dial(this.tls.as_ref(), &this.targets[index]).await {
                    Ok(stream) => {
                        this.next.store(index, Ordering::Relaxed);
                        return Ok(TokioIo::new(stream));
                    }
                    Err(e) => last_error = e,
                }
            }
            Err(last_error)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Opens a connection to a fake server that answers `server_says` to the magic, then
    /// lets hyper's side write `client_writes` and read everything.
    async fn exchange(server_says: &'static [u8]) -> io::Result<(Vec<u8>, Vec<u8>)> {
        let (client, mut server) = tokio::io::duplex(256);
        let fake = tokio::spawn(async move {
            let mut magic = [0u8; 24];
            server.read_exact(&mut magic).await?;
            server.write_all(server_says).await?;
            let mut rest = Vec::new();
            server.read_to_end(&mut rest).await?;
            io::Result::Ok((magic.to_vec(), rest))
        });
        let mut conn = open(Box::new(client)).await?;
        conn.write_all(CLIENT_MAGIC).await?;
        conn.write_all(b"frames").await?;
        conn.shutdown().await?;
        let mut read = vec![0u8; server_says.len()];
        conn.read_exact(&mut read).await?;
        let (magic, rest) = fake.await.expect("fake server")?;
        assert_eq!(magic, CLIENT_MAGIC.to_vec());
        Ok((read, rest))
    }

    #[tokio::test]
    async fn settings_first_opens_the_connection_once() {
        let settings = b"\x00\x00\x00\x04\x00\x00\x00\x00\x00";
        let (read, written) = exchange(settings).await.expect("opened");
        assert_eq!(read, settings.to_vec());
        assert_eq!(written, b"frames".to_vec());
    }

    #[tokio::test]
    async fn other_answers_leave_the_connection_unopened() {
        let err = exchange(b"HTTP/1.0 400 Bad Request\r\n\r\n").await.err();
        assert!(err.is_some_and(|e| e.kind() == io::ErrorKind::InvalidData));
    }
}
