//! A client connection as etcdctl's `mustClient` makes it, and the per-attempt warnings
//! clientv3's retry interceptor logs (zap JSON on stderr).

use std::future::Future;
use std::time::Duration;

use client::{Client, ClientConfig, Error, RetryLog, RetryPolicy};
use tokio::time::Instant;

use crate::exit::{Exit, EXIT_BAD_CONNECTION};
use crate::go::json::write_str;
use crate::out;

/// A connected client plus what clientv3's logger prints about it.
pub struct Conn {
    /// The client.
    pub client: Client,
    /// gRPC target name shown in retry warnings.
    target: String,
    /// The endpoint, for a direct single-endpoint dial.
    passthrough_host: Option<String>,
}

/// A random UUID v4, as clientv3 names its resolver targets.
fn uuid4() -> String {
    let mut b = [0u8; 16];
    let read = std::fs::File::open("/dev/urandom")
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut b));
    if read.is_err() {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos();
        b = (nanos ^ u128::from(std::process::id())).to_le_bytes();
    }
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// Go gRPC's text for a failed attempt. While the connection is down, clientv3's balancer
/// reports `all SubConns are in TransientFailure`; a direct (passthrough) dial reports the
/// dial error.
fn grpc_text(err: &Error, passthrough_host: Option<&str>) -> String {
    match (err, passthrough_host) {
        (Error::DeadlineExceeded(Some(_)), None) => {
            "rpc error: code = DeadlineExceeded desc = latest balancer error: all SubConns are in TransientFailure".to_string()
        }
        (Error::DeadlineExceeded(Some(last)), Some(host)) => {
            let cause = if last.contains("Connection refused") { "connect: connection refused" } else { last.as_str() };
            format!(
                "rpc error: code = DeadlineExceeded desc = latest balancer error: connection error: desc = \"transport: Error while dialing dial tcp {host}: {cause}\""
            )
        }
        _ => err.grpc_text(),
    }
}

/// zap's JSON warning from clientv3's retry interceptor (`caller` is its source line):
/// `target`, then the extra fields, already rendered.
fn warn(caller: u32, msg: &str, target: &str, fields: &str) {
    let mut line = String::from("{\"level\":\"warn\",\"ts\":");
    write_str(&mut line, crate::go::time::zap_now().as_bytes());
    line.push_str(&format!(
        ",\"caller\":\"clientv3/retry_interceptor.go:{caller}\",\"msg\":\"{msg}\",\"target\":"
    ));
    write_str(&mut line, target.as_bytes());
    line.push_str(fields);
    line.push_str("}\n");
    out::stderr(line);
}

/// The retry interceptor's log for one connection.
struct Log<'a> {
    target: &'a str,
    passthrough_host: Option<&'a str>,
}

impl RetryLog for Log<'_> {
    fn attempt_failed(&mut self, attempt: u32, err: &Error) {
        let mut fields = format!(",\"attempt\":{attempt},\"error\":");
        write_str(
            &mut fields,
            grpc_text(err, self.passthrough_host).as_bytes(),
        );
        warn(62, "retrying of unary invoker failed", self.target, &fields);
    }

    fn token_refresh_failed(&mut self, err: &Error) {
        let mut fields = String::from(",\"error\":");
        write_str(&mut fields, err.to_string().as_bytes());
        warn(
            79,
            "retrying of unary invoker failed to fetch new auth token",
            self.target,
            &fields,
        );
    }
}

/// The endpoint as clientv3 shows it in a target (scheme removed).
fn target_host(ep: &str) -> &str {
    ep.strip_prefix("http://")
        .or_else(|| ep.strip_prefix("https://"))
        .unwrap_or(ep)
}

impl Conn {
    /// `mustClient`: a client over all configured endpoints (exit 2 when that fails).
    pub async fn new(cfg: &ClientConfig) -> Result<Conn, Exit> {
        let first = cfg
            .endpoints
            .first()
            .map(|e| target_host(e).to_string())
            .unwrap_or_default();
        Self::with_target(cfg, format!("endpoint://client-{}/{first}", uuid4()), None).await
    }

    /// A client for one endpoint, as `Maintenance.Status(ctx, ep)` dials it (clientv3's
    /// `Dial(ep)`: the target is the endpoint as given, scheme included).
    pub async fn passthrough(cfg: &ClientConfig, ep: &str) -> Result<Conn, Exit> {
        let cfg = ClientConfig {
            endpoints: vec![ep.to_string()],
            ..cfg.clone()
        };
        let host = target_host(ep).to_string();
        Self::with_target(&cfg, format!("passthrough:///{ep}"), Some(host)).await
    }

    async fn with_target(
        cfg: &ClientConfig,
        target: String,
        passthrough_host: Option<String>,
    ) -> Result<Conn, Exit> {
        let client = Client::connect_lazy(cfg).map_err(|e| Exit::error(EXIT_BAD_CONNECTION, e))?;
        let conn = Conn {
            client,
            target,
            passthrough_host,
        };
        let deadline = (!cfg.dial_timeout.is_zero()).then(|| Instant::now() + cfg.dial_timeout);
        conn.client
            .authenticate(deadline, &mut conn.log())
            .await
            .map_err(|e| Exit::error(EXIT_BAD_CONNECTION, e))?;
        Ok(conn)
    }

    fn log(&self) -> Log<'_> {
        Log {
            target: &self.target,
            passthrough_host: self.passthrough_host.as_deref(),
        }
    }

    /// What clientv3's stream interceptor does before opening a stream (watch,
    /// keep-alive): log in again when credentials are set.
    pub async fn stream_auth(&self) -> Result<(), Error> {
        self.client.authenticate(None, &mut self.log()).await
    }

    /// Runs one RPC until `deadline` with clientv3's retry policy, token refresh and
    /// warnings.
    pub async fn call<T, F, Fut>(
        &self,
        deadline: Option<Instant>,
        policy: RetryPolicy,
        call: F,
    ) -> Result<T, Error>
    where
        F: FnMut(Option<Duration>) -> Fut,
        Fut: Future<Output = Result<T, tonic::Status>>,
    {
        self.client
            .call(deadline, policy, &mut self.log(), call)
            .await
    }
}
