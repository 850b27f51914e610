//! `etcdctl lock <lockname> [exec-command arg1 arg2 ...]` (etcdctl's `lock_command.go`):
//! acquires the named lock on a session of `--ttl` seconds, then either prints the lock key
//! and holds the lock until SIGINT/SIGTERM, or runs the command with `ETCD_LOCK_KEY` and
//! `ETCD_LOCK_REV` set and releases the lock when it ends.

use std::process::{Command, Stdio};

use concurrency::{Mutex, Session};

use super::recipe::{fail, store, Interrupt, Store};
use super::{block_on, Conn, Ctx};
use crate::exit::{CmdResult, Exit, EXIT_BAD_ARGS};
use crate::printer::Printer;

/// `etcdctl lock`.
pub fn run(ctx: &mut Ctx) -> CmdResult {
    if ctx.args.is_empty() {
        return Err(Exit::error(
            EXIT_BAD_ARGS,
            "lock takes a lock name argument and an optional command to execute",
        ));
    }
    let ttl = ctx.flags.get_int("ttl");
    let settings = ctx.settings()?;
    let (name, exec) = (ctx.args[0].clone(), ctx.args[1..].to_vec());
    block_on(async move {
        let conn = Conn::new(&settings.config).await?;
        lock_until_signal(store(conn), settings.printer, &name, &exec, ttl).await
    })
}

/// `lockUntilSignal`.
async fn lock_until_signal(
    store: std::sync::Arc<Store>,
    printer: Printer,
    name: &str,
    exec: &[String],
    ttl: i64,
) -> CmdResult {
    let session = Session::new(store.clone(), ttl).await.map_err(fail)?;
    let mut mutex = Mutex::new(&session, name.as_bytes());
    let interrupt = Interrupt::install()?;
    mutex.lock(&interrupt.ctx).await.map_err(fail)?;

    if !exec.is_empty() {
        let rev = mutex.header().map_or(0, |h| h.revision);
        let key = String::from_utf8_lossy(mutex.key()).into_owned();
        let outcome = tokio::task::spawn_blocking({
            let exec = exec.to_vec();
            move || run_command(&exec, &key, rev)
        })
        .await
        .map_err(fail)?;
        let unlocked = mutex.unlock().await;
        outcome.map_err(fail)?;
        return unlocked.map(|_| ()).map_err(fail);
    }

    use concurrency::Store as _;
    let resp = store
        .range(etcd_proto::etcdserverpb::RangeRequest {
            key: mutex.key().to_vec(),
            ..Default::default()
        })
        .await
        .map_err(fail)?;
    if resp.kvs.is_empty() {
        return Err(fail("lock lost on init"));
    }
    printer.get(&resp)?;
    tokio::select! {
        _ = interrupt.fired() => mutex.unlock().await.map(|_| ()).map_err(fail),
        _ = session.done() => Err(fail("session expired")),
    }
}

/// Runs the command as Go's `exec.Command(...).Run()` with the lock's variables in front of
/// the environment (a variable already in the environment wins, as with Go's dedup).
fn run_command(exec: &[String], key: &str, rev: i64) -> Result<(), String> {
    let mut cmd = Command::new(&exec[0]);
    cmd.args(&exec[1..]).stdin(Stdio::null());
    for (name, value) in [
        ("ETCD_LOCK_KEY", key.to_string()),
        ("ETCD_LOCK_REV", rev.to_string()),
    ] {
        if std::env::var_os(name).is_none() {
            cmd.env(name, value);
        }
    }
    crate::go::exec::run_error(exec, cmd.status())
}
