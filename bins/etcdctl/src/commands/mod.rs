//! The commands this etcdctl implements, and what they share: reading the global flags
//! into a client configuration (`clientConfigFromCmd`), creating the client
//! (`mustClientFromCmd`) and running RPCs with clientv3's deadline, retry and logging.

pub mod compaction;
pub mod endpoint;
pub mod kv;
pub mod member;
pub mod txn;
mod txn_parse;
pub mod version;

use std::future::Future;
use std::time::Duration;

use client::{call_with_retry, Client, ClientConfig, Credentials, Error, RetryPolicy, TlsConfig};
use tokio::time::Instant;

use crate::cli::command::CmdPath;
use crate::cli::{env, flags::FlagSet};
use crate::exit::{CmdResult, Exit, EXIT_BAD_ARGS, EXIT_BAD_CONNECTION, EXIT_BAD_FEATURE, EXIT_ERROR};
use crate::go::json::write_str;
use crate::out;
use crate::printer::Printer;

/// A command invocation: the command, its parsed flags and positional arguments.
pub struct Ctx {
    /// The command.
    pub path: CmdPath,
    /// Its flags (local and inherited).
    pub flags: FlagSet,
    /// Positional arguments.
    pub args: Vec<String>,
}

/// Runs the implemented command at `ctx.path`; `None` if this etcdctl does not implement it.
pub fn dispatch(ctx: &mut Ctx) -> Option<CmdResult> {
    let key = ctx.path.key();
    let result = match key.as_str() {
        "get" => kv::get(ctx),
        "put" => kv::put(ctx),
        "del" => kv::del(ctx),
        "txn" => txn::run(ctx),
        "compaction" => compaction::run(ctx),
        "version" => version::run(),
        "endpoint health" => endpoint::health(ctx),
        "endpoint status" => endpoint::status(ctx),
        "member list" => member::list(ctx),
        _ => return None,
    };
    Some(result)
}

/// Settings taken from the global flags (etcdctl's `clientConfig`).
pub struct Settings {
    /// Client configuration for all endpoints.
    pub config: ClientConfig,
    /// `--command-timeout`.
    pub command_timeout: Duration,
    /// The `-w`/`--hex` printer.
    pub printer: Printer,
}

fn duration_flag(fs: &FlagSet, name: &str) -> Duration {
    Duration::from_nanos(u64::try_from(fs.get_duration(name)).unwrap_or(0))
}

impl Ctx {
    /// `initDisplayFromCmd`.
    pub fn printer(&self) -> Result<Printer, Exit> {
        Printer::new(&self.flags.get_str("write-out"), self.flags.get_bool("hex"))
            .ok_or_else(|| Exit::error(EXIT_BAD_FEATURE, "unsupported output format"))
    }

    /// `--command-timeout`.
    pub fn command_timeout(&self) -> Duration {
        duration_flag(&self.flags, "command-timeout")
    }

    /// `secureCfgFromCmd` (+ `keyAndCertFromCmd`).
    fn tls(&self) -> Result<Option<TlsConfig>, Exit> {
        let mut files = Vec::new();
        for name in ["cert", "key", "cacert"] {
            let v = self.flags.get_str(name);
            if v.is_empty() && self.flags.changed(name) {
                return Err(Exit::error(EXIT_BAD_ARGS, format!("empty string is passed to --{name} option")));
            }
            files.push((!v.is_empty()).then_some(v));
        }
        let mut files = files.into_iter();
        let (cert_file, key_file, ca_file) = (files.next().flatten(), files.next().flatten(), files.next().flatten());
        let insecure_discovery = self.flags.get_bool("insecure-discovery");
        let server_name = Some(self.flags.get_str("discovery-srv")).filter(|d| !d.is_empty() && !insecure_discovery);
        let tls = TlsConfig {
            ca_file,
            cert_file,
            key_file,
            server_name,
            insecure_skip_verify: self.flags.get_bool("insecure-skip-tls-verify"),
        };
        let wants_tls = tls.ca_file.is_some()
            || tls.cert_file.is_some()
            || tls.key_file.is_some()
            || tls.server_name.is_some()
            || !self.flags.get_bool("insecure-transport");
        Ok(wants_tls.then_some(tls))
    }

    /// `authCfgFromCmd`: `--user name[:password]`, `--password`, or a password prompt.
    fn credentials(&self) -> Result<Option<Credentials>, Exit> {
        let user = self.flags.get_str("user");
        let password = self.flags.get_str("password");
        if user.is_empty() {
            return Ok(None);
        }
        if !password.is_empty() {
            return Ok(Some(Credentials { user, password }));
        }
        if let Some((u, p)) = user.split_once(':') {
            return Ok(Some(Credentials { user: u.to_string(), password: p.to_string() }));
        }
        out::stdout("Password: ");
        let mut line = String::new();
        std::io::stdin().read_line(&mut line).map_err(|e| Exit::error(EXIT_ERROR, e))?;
        let password = line.trim_end_matches(['\n', '\r']).to_string();
        Ok(Some(Credentials { user, password }))
    }

    /// `clientConfigFromCmd`: environment, debug output, endpoints, timeouts, TLS, auth
    /// and the printer.
    pub fn settings(&mut self) -> Result<Settings, Exit> {
        env::apply(&mut self.flags)?;
        if self.flags.get_bool("debug") {
            env::print_debug(&self.flags);
        }
        let printer = self.printer()?;
        self.settings_without_env(printer)
    }

    /// The connection settings from the flags as they are (no environment, no debug
    /// output), with an already chosen printer.
    pub fn settings_without_env(&self, printer: Printer) -> Result<Settings, Exit> {
        if !self.flags.get_str("discovery-srv").is_empty() {
            return Err(Exit::error(EXIT_ERROR, "DNS SRV discovery (--discovery-srv) is not supported by this etcdctl"));
        }
        let endpoints: Vec<String> = self.flags.get_strings("endpoints").iter().map(|e| e.trim().to_string()).collect();
        let keepalive_time = duration_flag(&self.flags, "keepalive-time");
        let keepalive_timeout = duration_flag(&self.flags, "keepalive-timeout");
        let config = ClientConfig {
            endpoints,
            dial_timeout: duration_flag(&self.flags, "dial-timeout"),
            keepalive_time: Some(keepalive_time),
            keepalive_timeout: Some(keepalive_timeout),
            request_timeout: None,
            tls: self.tls()?,
            credentials: self.credentials()?,
        };
        Ok(Settings { config, command_timeout: self.command_timeout(), printer })
    }
}

/// A connected client plus what clientv3's logger prints about it.
pub struct Conn {
    /// The client.
    pub client: Client,
    /// gRPC target name shown in retry warnings.
    target: String,
}

/// A random UUID v4, as clientv3 names its resolver targets.
fn uuid4() -> String {
    let mut b = [0u8; 16];
    let read = std::fs::File::open("/dev/urandom").and_then(|mut f| std::io::Read::read_exact(&mut f, &mut b));
    if read.is_err() {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos();
        b = (nanos ^ u128::from(std::process::id())).to_le_bytes();
    }
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!("{}-{}-{}-{}-{}", &h[0..8], &h[8..12], &h[12..16], &h[16..20], &h[20..32])
}

/// zap's JSON warning for a failed attempt (clientv3's retry interceptor).
fn warn_retry(target: &str, attempt: u32, err: &Error) {
    let mut line = String::from("{\"level\":\"warn\",\"ts\":");
    write_str(&mut line, crate::go::time::zap_now().as_bytes());
    line.push_str(",\"caller\":\"clientv3/retry_interceptor.go:62\",\"msg\":\"retrying of unary invoker failed\",\"target\":");
    write_str(&mut line, target.as_bytes());
    line.push_str(&format!(",\"attempt\":{attempt},\"error\":"));
    write_str(&mut line, err.grpc_text().as_bytes());
    line.push_str("}\n");
    out::stderr(line);
}

/// The endpoint as clientv3 shows it in a target (scheme removed).
fn target_host(ep: &str) -> &str {
    ep.strip_prefix("http://").or_else(|| ep.strip_prefix("https://")).unwrap_or(ep)
}

impl Conn {
    /// `mustClient`: a client over all configured endpoints (exit 2 when that fails).
    pub async fn new(cfg: &ClientConfig) -> Result<Conn, Exit> {
        let first = cfg.endpoints.first().map(|e| target_host(e).to_string()).unwrap_or_default();
        Self::with_target(cfg, format!("endpoint://client-{}/{first}", uuid4())).await
    }

    /// A client for one endpoint, as `Maintenance.Status(ctx, ep)` dials it.
    pub async fn passthrough(cfg: &ClientConfig, ep: &str) -> Result<Conn, Exit> {
        let cfg = ClientConfig { endpoints: vec![ep.to_string()], ..cfg.clone() };
        Self::with_target(&cfg, format!("passthrough:///{}", target_host(ep))).await
    }

    async fn with_target(cfg: &ClientConfig, target: String) -> Result<Conn, Exit> {
        let client = Client::connect_lazy(cfg).map_err(|e| Exit::error(EXIT_BAD_CONNECTION, e))?;
        let conn = Conn { client, target };
        if let Some(creds) = &cfg.credentials {
            let deadline = (!cfg.dial_timeout.is_zero()).then(|| Instant::now() + cfg.dial_timeout);
            let target = conn.target.clone();
            conn.client
                .authenticate(creds, deadline, |a, e| warn_retry(&target, a, e))
                .await
                .map_err(|e| Exit::error(EXIT_BAD_CONNECTION, e))?;
        }
        Ok(conn)
    }

    /// Runs one RPC until `deadline` with clientv3's retry policy and warnings.
    pub async fn call<T, F, Fut>(&self, deadline: Option<Instant>, policy: RetryPolicy, call: F) -> Result<T, Error>
    where
        F: FnMut(Option<Duration>) -> Fut,
        Fut: Future<Output = Result<T, tonic::Status>>,
    {
        call_with_retry(deadline, policy, |a, e| warn_retry(&self.target, a, e), call).await
    }
}

/// A request carrying the time left as its gRPC timeout.
pub fn request<T>(msg: T, left: Option<Duration>) -> tonic::Request<T> {
    let mut req = tonic::Request::new(msg);
    if let Some(left) = left {
        req.set_timeout(left);
    }
    req
}

/// A deadline `timeout` from now.
pub fn deadline_in(timeout: Duration) -> Option<Instant> {
    Some(Instant::now() + timeout)
}

/// `ExitWithError(ExitError, err)` for a failed RPC.
pub fn rpc_error(e: Error) -> Exit {
    Exit::error(EXIT_ERROR, e)
}

fn runtime() -> Result<tokio::runtime::Runtime, Exit> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Exit::error(EXIT_ERROR, e))
}

/// Runs `fut` on a fresh single-threaded runtime.
pub fn block_on<T>(fut: impl std::future::Future<Output = Result<T, Exit>>) -> Result<T, Exit> {
    runtime()?.block_on(fut)
}

