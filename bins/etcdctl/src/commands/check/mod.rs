//! `etcdctl check perf` and `etcdctl check datascale` (etcdctl's `check.go`): many clients
//! put generated keys under a prefix, then the prefix is deleted (and, if asked, the store
//! compacted and defragmented) and the outcome judged. What both share lives here: the
//! workload names, the client pool and its workers, and the clean-up.

mod bar;
pub mod datascale;
mod metrics;
pub mod perf;
mod report;

use std::sync::Arc;
use std::time::Duration;

use client::RetryPolicy;
use etcd_proto::etcdserverpb::{
    CompactionRequest, DefragmentRequest, DeleteRangeRequest, PutRequest, RangeRequest,
};
use tokio::sync::{mpsc, Mutex};
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::kv::prefix_end;
use super::{request, Conn, Ctx, Settings};
use crate::exit::{Exit, EXIT_BAD_FEATURE, EXIT_ERROR, EXIT_INVALID_INPUT};
use crate::go::quote::quote;
use crate::out;
use report::Report;

/// Timeout of the clean-up steps (delete, compaction, defragmentation).
const CLEANUP_TIMEOUT: Duration = Duration::from_secs(30);

/// The workload sizes, by `--load` value (`s`, `small`, ..., `xl`, `xLarge`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Load {
    Small,
    Medium,
    Large,
    XLarge,
}

impl Load {
    /// The `--load` flag, or `unknown load option <v>` (exit 4).
    fn from_flag(ctx: &Ctx) -> Result<Load, Exit> {
        let v = ctx.flags.get_str("load");
        match v.as_str() {
            "s" | "small" => Ok(Load::Small),
            "m" | "medium" => Ok(Load::Medium),
            "l" | "large" => Ok(Load::Large),
            "xl" | "xLarge" => Ok(Load::XLarge),
            _ => Err(Exit::error(
                EXIT_BAD_FEATURE,
                format!("unknown load option {v}"),
            )),
        }
    }
}

/// A multi-threaded runtime: the largest workloads keep a thousand clients busy.
fn runtime() -> Result<tokio::runtime::Runtime, Exit> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Exit::error(EXIT_ERROR, e))
}

/// `n` clients, each with its own connection (etcdctl's `cc.mustClient()` per client).
async fn clients(settings: &Settings, n: usize) -> Result<Vec<Conn>, Exit> {
    let mut all = Vec::with_capacity(n);
    for _ in 0..n {
        all.push(Conn::new(&settings.config).await?);
    }
    Ok(all)
}

/// Fails (exit 3) if keys exist under `prefix` already; `timeout` bounds the Get.
async fn require_empty(conn: &Conn, prefix: &str, timeout: Option<Duration>) -> Result<(), Exit> {
    let kv = conn.client.kv();
    let req = RangeRequest {
        key: prefix.as_bytes().to_vec(),
        range_end: prefix_end(prefix.as_bytes()),
        limit: 1,
        ..Default::default()
    };
    let deadline = timeout.map(|t| Instant::now() + t);
    let resp = conn
        .call(deadline, RetryPolicy::Repeatable, |left| {
            let mut kv = kv.clone();
            let req = req.clone();
            async move { kv.range(request(req, left)).await }
        })
        .await
        .map_err(|e| Exit::error(EXIT_ERROR, e))?
        .into_inner();
    if !resp.kvs.is_empty() {
        let q = quote(prefix.as_bytes());
        return Err(Exit::error(
            EXIT_INVALID_INPUT,
            format!("prefix {q} has keys. Delete with etcdctl del --prefix {prefix} first"),
        ));
    }
    Ok(())
}

/// Generates the keys of a workload: the prefix, then a fixed-size buffer into which each
/// key's random number is written as a varint (etcdctl's `binary.PutVarint(k, ...)`,
/// which leaves the bytes after it as the previous keys left them).
struct Keys {
    prefix: Vec<u8>,
    buf: Vec<u8>,
    rng: u64,
}

impl Keys {
    fn new(prefix: &str, size: usize) -> Keys {
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        Keys {
            prefix: prefix.as_bytes().to_vec(),
            buf: vec![0; size],
            rng: seed ^ u64::from(std::process::id()),
        }
    }

    /// splitmix64, reduced to `rand.Int63n(math.MaxInt64)`'s range.
    fn random(&mut self) -> i64 {
        self.rng = self.rng.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        ((z ^ (z >> 31)) >> 1) as i64 % i64::MAX
    }

    /// The next key.
    fn next(&mut self) -> Vec<u8> {
        let x = self.random();
        // Go's PutVarint: zig-zag, then 7 bits a byte.
        let mut ux = (x as u64) << 1;
        if x < 0 {
            ux = !ux;
        }
        let mut i = 0;
        while ux >= 0x80 && i < self.buf.len() {
            self.buf[i] = (ux as u8) | 0x80;
            ux >>= 7;
            i += 1;
        }
        if i < self.buf.len() {
            self.buf[i] = ux as u8;
        }
        [self.prefix.as_slice(), &self.buf].concat()
    }
}

/// The workers: one per client, each taking puts from `ops` until it closes, recording
/// each outcome in `report` and calling `done` after each.
fn spawn_workers(
    clients: &[Arc<Conn>],
    ops: mpsc::Receiver<PutRequest>,
    report: &Arc<Report>,
    done: impl Fn() + Clone + Send + 'static,
) -> JoinSet<()> {
    let ops = Arc::new(Mutex::new(ops));
    let mut workers = JoinSet::new();
    for conn in clients {
        let (conn, ops, report, done) = (conn.clone(), ops.clone(), report.clone(), done.clone());
        workers.spawn(async move {
            let kv = conn.client.kv();
            loop {
                let Some(op) = ops.lock().await.recv().await else {
                    return;
                };
                let start = std::time::Instant::now();
                let res = conn
                    .call(None, RetryPolicy::NonRepeatable, |_| {
                        let mut kv = kv.clone();
                        let op = op.clone();
                        async move { kv.put(op).await }
                    })
                    .await;
                report.record(start.elapsed(), res.err().map(|e| e.to_string()));
                done();
            }
        });
    }
    workers
}

/// After a run: deletes the prefix (bounded by `delete_timeout`), then compacts at the
/// delete's revision and defragments every endpoint when asked.
async fn clean_up(
    ctx: &Ctx,
    settings: &Settings,
    conn: &Conn,
    prefix: &str,
    delete_timeout: Option<Duration>,
) -> Result<(), Exit> {
    let kv = conn.client.kv();
    let req = DeleteRangeRequest {
        key: prefix.as_bytes().to_vec(),
        range_end: prefix_end(prefix.as_bytes()),
        ..Default::default()
    };
    let deadline = delete_timeout.map(|t| Instant::now() + t);
    let resp = conn
        .call(deadline, RetryPolicy::NonRepeatable, |left| {
            let mut kv = kv.clone();
            let req = req.clone();
            async move { kv.delete_range(request(req, left)).await }
        })
        .await
        .map_err(|e| Exit::error(EXIT_ERROR, e))?
        .into_inner();
    if ctx.flags.get_bool("auto-compact") {
        let revision = resp.header.map_or(0, |h| h.revision);
        compact(conn, revision).await?;
    }
    if ctx.flags.get_bool("auto-defrag") {
        for ep in &settings.config.endpoints {
            defrag(settings, ep).await?;
        }
    }
    Ok(())
}

/// etcdctl's `compact`: a physical compaction at `revision`.
async fn compact(conn: &Conn, revision: i64) -> Result<(), Exit> {
    out::stdout(format!("Compacting with revision {revision}\n"));
    let kv = conn.client.kv();
    let deadline = Some(Instant::now() + CLEANUP_TIMEOUT);
    conn.call(deadline, RetryPolicy::NonRepeatable, |left| {
        let mut kv = kv.clone();
        let req = CompactionRequest {
            revision,
            physical: true,
        };
        async move { kv.compact(request(req, left)).await }
    })
    .await
    .map_err(|e| Exit::error(EXIT_ERROR, e))?;
    out::stdout(format!("Compacted with revision {revision}\n"));
    Ok(())
}

/// etcdctl's `defrag`: defragments the member at `ep`.
async fn defrag(settings: &Settings, ep: &str) -> Result<(), Exit> {
    let q = quote(ep.as_bytes());
    out::stdout(format!("Defragmenting {q}\n"));
    let conn = Conn::passthrough(&settings.config, ep).await?;
    let maintenance = conn.client.maintenance();
    let deadline = Some(Instant::now() + CLEANUP_TIMEOUT);
    conn.call(deadline, RetryPolicy::NonRepeatable, |left| {
        let mut m = maintenance.clone();
        async move { m.defragment(request(DefragmentRequest {}, left)).await }
    })
    .await
    .map_err(|e| Exit::error(EXIT_ERROR, e))?;
    out::stdout(format!("Defragmented {q}\n"));
    Ok(())
}

/// The error lines of a failed run (`FAIL: too many errors`, then one per error text).
fn print_errors(errors: &[(String, usize)]) {
    out::line("FAIL: too many errors");
    for (text, n) in errors {
        out::line(format!("FAIL: ERROR({text}) -> {n}"));
    }
}

#[cfg(test)]
mod tests {
    use super::Keys;

    #[test]
    fn keys_are_prefix_and_fixed_size_buffer() {
        let mut k = Keys::new("/p/", 256);
        let a = k.next();
        let b = k.next();
        assert_eq!(a.len(), 3 + 256);
        assert!(a.starts_with(b"/p/"));
        assert_ne!(a, b);
    }
}
