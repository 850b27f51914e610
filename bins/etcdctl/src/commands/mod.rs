//! The commands this etcdctl implements, and what they share: reading the global flags
//! into a client configuration (`clientConfigFromCmd`), creating the client
//! (`mustClientFromCmd`) and running RPCs with clientv3's deadline, retry and logging.

pub mod alarm;
pub mod auth;
pub mod check;
pub mod compaction;
mod conn;
pub mod defrag;
pub mod elect;
pub mod endpoint;
pub mod endpoint_hashkv;
pub mod kv;
pub mod lease;
pub mod lock;
pub mod make_mirror;
pub mod member;
pub mod move_leader;
mod password;
mod recipe;
pub mod restore;
pub mod role;
pub mod snapshot;
pub mod txn;
mod txn_parse;
pub mod user;
pub mod version;
pub mod watch;
mod watch_args;

use std::time::Duration;

pub use conn::Conn;

use client::{ClientConfig, Credentials, Error, TlsConfig};
use tokio::time::Instant;

use crate::cli::command::CmdPath;
use crate::cli::{env, flags::FlagSet};
use crate::exit::{CmdResult, Exit, EXIT_BAD_ARGS, EXIT_BAD_FEATURE, EXIT_ERROR};
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
        "defrag" => defrag::run(ctx),
        "alarm list" => alarm::list(ctx),
        "alarm disarm" => alarm::disarm(ctx),
        "snapshot restore" => restore::run(ctx),
        "version" => version::run(),
        "endpoint health" => endpoint::health(ctx),
        "endpoint status" => endpoint::status(ctx),
        "endpoint hashkv" => endpoint_hashkv::run(ctx),
        "make-mirror" => make_mirror::run(ctx),
        "check perf" => check::perf::run(ctx),
        "check datascale" => check::datascale::run(ctx),
        "member add" => member::add(ctx),
        "member remove" => member::remove(ctx),
        "member update" => member::update(ctx),
        "member list" => member::list(ctx),
        "member promote" => member::promote(ctx),
        "move-leader" => move_leader::run(ctx),
        "snapshot save" => snapshot::save(ctx),
        "snapshot status" => snapshot::status(ctx),
        "snapshot verify" => snapshot::verify(ctx),
        "lease grant" => lease::grant(ctx),
        "lease revoke" => lease::revoke(ctx),
        "lease timetolive" => lease::time_to_live(ctx),
        "lease list" => lease::list(ctx),
        "lease keep-alive" => lease::keep_alive(ctx),
        "watch" => watch::run(ctx),
        "lock" => lock::run(ctx),
        "elect" => elect::run(ctx),
        "auth enable" => auth::enable(ctx),
        "auth disable" => auth::disable(ctx),
        "user add" => user::add(ctx),
        "user delete" => user::delete(ctx),
        "user get" => user::get(ctx),
        "user list" => user::list(ctx),
        "user passwd" => user::passwd(ctx),
        "user grant-role" => user::grant_role(ctx),
        "user revoke-role" => user::revoke_role(ctx),
        "role add" => role::add(ctx),
        "role delete" => role::delete(ctx),
        "role get" => role::get(ctx),
        "role list" => role::list(ctx),
        "role grant-permission" => role::grant_permission(ctx),
        "role revoke-permission" => role::revoke_permission(ctx),
        _ => return None,
    };
    Some(result)
}

/// Go's text for an OS error: the C library's message, first letter lower-cased.
pub(crate) fn errno_text(e: &std::io::Error) -> String {
    let errno = match e.raw_os_error() {
        // SAFETY: strerror returns a pointer to a static, NUL-terminated message.
        Some(code) => unsafe { std::ffi::CStr::from_ptr(libc::strerror(code)) }
            .to_string_lossy()
            .into_owned(),
        None => e.to_string(),
    };
    let mut chars = errno.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => errno,
    }
}

/// Go's `*os.PathError` text for a failed read: `open <path>: no such file or directory`.
fn path_error(path: &str, e: &std::io::Error) -> String {
    let op = if e.raw_os_error() == Some(libc::EISDIR) {
        "read"
    } else {
        "open"
    };
    format!("{op} {path}: {}", errno_text(e))
}

/// What etcd's `transport.TLSInfo.ClientConfig` checks before any connection: both halves
/// of a key pair, and readable files (exit 128 otherwise).
fn check_tls_files(tls: &TlsConfig) -> Result<(), Exit> {
    let bad = |msg: String| Exit::error(EXIT_BAD_ARGS, msg);
    if tls.cert_file.is_some() || tls.key_file.is_some() {
        let (cert, key) = (
            tls.cert_file.clone().unwrap_or_default(),
            tls.key_file.clone().unwrap_or_default(),
        );
        if cert.is_empty() || key.is_empty() {
            return Err(bad(format!(
                "KeyFile and CertFile must both be present[key: {key}, cert: {cert}]"
            )));
        }
        for path in [&cert, &key] {
            std::fs::read(path).map_err(|e| bad(path_error(path, &e)))?;
        }
    }
    if let Some(ca) = &tls.ca_file {
        std::fs::read(ca).map_err(|e| bad(path_error(ca, &e)))?;
    }
    let configured = tls.ca_file.is_some()
        || tls.cert_file.is_some()
        || tls.key_file.is_some()
        || tls.server_name.is_some();
    if configured {
        client::check_tls(tls).map_err(|e| bad(e.to_string()))?;
    }
    Ok(())
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

    /// `secureCfgFromCmd` (+ `keyAndCertFromCmd`); the files are checked later, by
    /// [`check_tls_files`].
    fn tls(&self) -> Result<Option<TlsConfig>, Exit> {
        let mut files = Vec::new();
        for name in ["cert", "key", "cacert"] {
            let v = self.flags.get_str(name);
            if v.is_empty() && self.flags.changed(name) {
                return Err(Exit::error(
                    EXIT_BAD_ARGS,
                    format!("empty string is passed to --{name} option"),
                ));
            }
            files.push((!v.is_empty()).then_some(v));
        }
        let mut files = files.into_iter();
        let (cert_file, key_file, ca_file) = (
            files.next().flatten(),
            files.next().flatten(),
            files.next().flatten(),
        );
        let insecure_discovery = self.flags.get_bool("insecure-discovery");
        let server_name = Some(self.flags.get_str("discovery-srv"))
            .filter(|d| !d.is_empty() && !insecure_discovery);
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
            return Ok(Some(Credentials {
                user: u.to_string(),
                password: p.to_string(),
            }));
        }
        let password = password::ask("Password: ").map_err(|e| Exit::error(EXIT_ERROR, e))?;
        Ok(Some(Credentials { user, password }))
    }

    /// `clientConfigFromCmd`: environment, debug output, endpoints, timeouts, TLS, auth
    /// and the printer.
    pub fn settings(&mut self) -> Result<Settings, Exit> {
        env::apply(&mut self.flags)?;
        if self.flags.get_bool("debug") {
            env::print_debug(&self.flags);
        }
        self.connection_settings(Self::printer)
    }

    /// The connection settings from the flags as they are (no environment, no debug
    /// output), with an already chosen printer.
    pub fn settings_without_env(&self, printer: Printer) -> Result<Settings, Exit> {
        self.connection_settings(|_| Ok(printer))
    }

    /// `clientConfigFromCmd` and `newClientCfg` in etcdctl's order: endpoints, TLS flags,
    /// credentials (perhaps a password prompt), the printer, then the TLS files.
    fn connection_settings(
        &self,
        printer: impl FnOnce(&Self) -> Result<Printer, Exit>,
    ) -> Result<Settings, Exit> {
        if !self.flags.get_str("discovery-srv").is_empty() {
            return Err(Exit::error(
                EXIT_ERROR,
                "DNS SRV discovery (--discovery-srv) is not supported by this etcdctl",
            ));
        }
        let endpoints: Vec<String> = self
            .flags
            .get_strings("endpoints")
            .iter()
            .map(|e| e.trim().to_string())
            .collect();
        let keepalive_time = duration_flag(&self.flags, "keepalive-time");
        let keepalive_timeout = duration_flag(&self.flags, "keepalive-timeout");
        let tls = self.tls()?;
        let credentials = self.credentials()?;
        let printer = printer(self)?;
        if let Some(tls) = &tls {
            check_tls_files(tls)?;
        }
        let config = ClientConfig {
            endpoints,
            dial_timeout: duration_flag(&self.flags, "dial-timeout"),
            keepalive_time: Some(keepalive_time),
            keepalive_timeout: Some(keepalive_timeout),
            request_timeout: None,
            tls,
            credentials,
        };
        Ok(Settings {
            config,
            command_timeout: self.command_timeout(),
            printer,
        })
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
