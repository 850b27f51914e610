//! `etcdctl make-mirror [options] <destination>`: copies the keys under `--prefix` at one
//! revision to the destination cluster (clientv3 mirror's `SyncBase`: pages of 1000 keys,
//! one Put each), then follows the source with a watch from the next revision
//! (`SyncUpdates`), applying the events of each revision as one destination txn. Keys
//! are renamed by replacing the first occurrence of the prefix with `--dest-prefix`. Every
//! 30 s the number of keys synced so far is printed. It runs until interrupted or an error.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use client::{ClientConfig, RetryPolicy, TlsConfig};
use etcd_proto::etcdserverpb::request_op::Request;
use etcd_proto::etcdserverpb::watch_request::RequestUnion;
use etcd_proto::etcdserverpb::{
    DeleteRangeRequest, PutRequest, RangeRequest, RequestOp, TxnRequest, WatchCreateRequest,
    WatchRequest, WatchResponse,
};
use etcd_proto::mvccpb::event::EventType;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

use super::kv::prefix_end;
use super::{block_on, check_tls_files, duration_flag, Conn, Ctx};
use crate::cli::flags::FlagSet;
use crate::exit::{CmdResult, Exit, EXIT_BAD_ARGS, EXIT_ERROR};
use crate::out;

/// clientv3 mirror's `batchLimit`: keys per page of the base sync.
const BATCH_LIMIT: i64 = 1000;
/// How often the running count of synced keys is printed.
const REPORT_EVERY: Duration = Duration::from_secs(30);
/// Pause before reopening the watch stream after the connection was lost.
const RECONNECT_WAIT: Duration = Duration::from_millis(100);
/// `rpctypes.ErrCompacted`.
const ERR_COMPACTED: &str = "etcdserver: mvcc: required revision has been compacted";

/// How keys are renamed on their way to the destination.
struct Rename {
    prefix: Vec<u8>,
    dest_prefix: Vec<u8>,
}

impl Rename {
    /// etcdctl's `modifyPrefix`: `strings.Replace(key, prefix, destPrefix, 1)` (the first
    /// occurrence, wherever it is; an empty prefix inserts `destPrefix` in front).
    fn apply(&self, key: &[u8]) -> Vec<u8> {
        let at = if self.prefix.is_empty() {
            Some(0)
        } else {
            key.windows(self.prefix.len())
                .position(|w| w == self.prefix.as_slice())
        };
        match at {
            Some(i) => [
                &key[..i],
                self.dest_prefix.as_slice(),
                &key[i + self.prefix.len()..],
            ]
            .concat(),
            None => key.to_vec(),
        }
    }
}

/// The destination's TLS from `--dest-cacert/--dest-cert/--dest-key` and
/// `--dest-insecure-transport` (etcdctl's `secureCfg` for the destination).
fn dest_tls(fs: &FlagSet) -> Option<TlsConfig> {
    let file = |name: &str| Some(fs.get_str(name)).filter(|v| !v.is_empty());
    let tls = TlsConfig {
        ca_file: file("dest-cacert"),
        cert_file: file("dest-cert"),
        key_file: file("dest-key"),
        server_name: None,
        insecure_skip_verify: false,
    };
    let wants_tls = tls.ca_file.is_some()
        || tls.cert_file.is_some()
        || tls.key_file.is_some()
        || !fs.get_bool("dest-insecure-transport");
    wants_tls.then_some(tls)
}

/// `makeMirrorCommandFunc`.
pub fn run(ctx: &mut Ctx) -> CmdResult {
    if ctx.args.len() != 1 {
        return Err(Exit::error(
            EXIT_BAD_ARGS,
            "make-mirror takes one destination argument",
        ));
    }
    // The destination's client is configured from the flags as given (no environment).
    let tls = dest_tls(&ctx.flags);
    if let Some(tls) = &tls {
        check_tls_files(tls)?;
    }
    let dest_cfg = ClientConfig {
        endpoints: vec![ctx.args[0].clone()],
        dial_timeout: duration_flag(&ctx.flags, "dial-timeout"),
        keepalive_time: Some(duration_flag(&ctx.flags, "keepalive-time")),
        keepalive_timeout: Some(duration_flag(&ctx.flags, "keepalive-timeout")),
        request_timeout: None,
        tls,
        credentials: None,
    };
    let prefix = ctx.flags.get_str("prefix");
    let dest_prefix = ctx.flags.get_str("dest-prefix");
    let no_dest_prefix = ctx.flags.get_bool("no-dest-prefix");
    block_on(async {
        let dest = Conn::new(&dest_cfg).await?;
        let settings = ctx.settings()?;
        let src = Conn::new(&settings.config).await?;
        let total = Arc::new(AtomicI64::new(0));
        let counter = total.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(REPORT_EVERY).await;
                out::line(counter.load(Ordering::SeqCst).to_string());
            }
        });
        let mirror = Mirror {
            src: &src,
            dest: &dest,
            prefix: prefix.clone().into_bytes(),
            total,
        };
        // The revision is chosen before the flags are checked, as etcdctl does.
        let rev = mirror.current_revision().await;
        if no_dest_prefix && !dest_prefix.is_empty() {
            return Err(Exit::error(
                EXIT_BAD_ARGS,
                "`--dest-prefix` and `--no-dest-prefix` cannot be set at the same time, choose one",
            ));
        }
        let rename = Rename {
            dest_prefix: if !no_dest_prefix && dest_prefix.is_empty() {
                prefix.clone().into_bytes()
            } else {
                dest_prefix.into_bytes()
            },
            prefix: prefix.into_bytes(),
        };
        let result = match rev {
            Ok(rev) => mirror.run(rev, &rename).await,
            Err(e) => Err(e),
        };
        // etcdctl ends with `ExitWithError(ExitError, err)` even when the watch just ended.
        Err(Exit::error(
            EXIT_ERROR,
            result.err().unwrap_or_else(|| "<nil>".to_string()),
        ))
    })
}

/// One mirroring session.
struct Mirror<'a> {
    src: &'a Conn,
    dest: &'a Conn,
    prefix: Vec<u8>,
    /// Keys synced so far (puts and deletes).
    total: Arc<AtomicI64>,
}

impl Mirror<'_> {
    /// `SyncBase`'s first step: the source's current revision (from a Get of "foo").
    async fn current_revision(&self) -> Result<i64, String> {
        let resp = self
            .range(RangeRequest {
                key: b"foo".to_vec(),
                ..Default::default()
            })
            .await?;
        Ok(resp.header.map_or(0, |h| h.revision))
    }

    /// A linearizable Get on the source, without a deadline.
    async fn range(
        &self,
        req: RangeRequest,
    ) -> Result<etcd_proto::etcdserverpb::RangeResponse, String> {
        let kv = self.src.client.kv();
        self.src
            .call(None, RetryPolicy::Repeatable, |_| {
                let mut kv = kv.clone();
                let req = req.clone();
                async move { kv.range(req).await }
            })
            .await
            .map(tonic::Response::into_inner)
            .map_err(|e| e.to_string())
    }

    /// The base sync at `rev`, then the updates after it; returns when the watch ends
    /// (`Ok`) or something fails.
    async fn run(&self, rev: i64, rename: &Rename) -> Result<(), String> {
        self.sync_base(rev, rename).await?;
        self.sync_updates(rev + 1, rename).await
    }

    /// `SyncBase`: every key of the prefix (of the whole key space when it is empty) at
    /// `rev`, page by page, each written to the destination with a Put.
    async fn sync_base(&self, rev: i64, rename: &Rename) -> Result<(), String> {
        let (mut key, range_end) = if self.prefix.is_empty() {
            (vec![0], vec![0])
        } else {
            (self.prefix.clone(), prefix_end(&self.prefix))
        };
        loop {
            let resp = self
                .range(RangeRequest {
                    key: key.clone(),
                    range_end: range_end.clone(),
                    limit: BATCH_LIMIT,
                    revision: rev,
                    ..Default::default()
                })
                .await?;
            for kv in &resp.kvs {
                self.put(PutRequest {
                    key: rename.apply(&kv.key),
                    value: kv.value.clone(),
                    ..Default::default()
                })
                .await?;
                self.total.fetch_add(1, Ordering::SeqCst);
            }
            match resp.kvs.last() {
                Some(last) if resp.more => key = [last.key.as_slice(), &[0]].concat(),
                _ => return Ok(()),
            }
        }
    }

    /// A Put on the destination.
    async fn put(&self, req: PutRequest) -> Result<(), String> {
        let kv = self.dest.client.kv();
        self.dest
            .call(None, RetryPolicy::NonRepeatable, |_| {
                let mut kv = kv.clone();
                let req = req.clone();
                async move { kv.put(req).await }
            })
            .await
            .map(drop)
            .map_err(|e| e.to_string())
    }

    /// A Txn of `ops` (no comparisons) on the destination.
    async fn commit(&self, ops: Vec<RequestOp>) -> Result<(), String> {
        let kv = self.dest.client.kv();
        let req = TxnRequest {
            success: ops,
            ..Default::default()
        };
        self.dest
            .call(None, RetryPolicy::NonRepeatable, |_| {
                let mut kv = kv.clone();
                let req = req.clone();
                async move { kv.txn(req).await }
            })
            .await
            .map(drop)
            .map_err(|e| e.to_string())
    }

    /// `SyncUpdates`: a watch of the prefix from `start`, reopened from the next revision
    /// when the connection is lost (as clientv3's watcher does). `Ok` when the watch ends.
    async fn sync_updates(&self, start: i64, rename: &Rename) -> Result<(), String> {
        let (key, range_end) = if self.prefix.is_empty() {
            (vec![0], vec![0])
        } else {
            (self.prefix.clone(), prefix_end(&self.prefix))
        };
        let mut next_rev = start;
        loop {
            if let Err(e) = self.src.stream_auth().await {
                if is_transient(e.status()) {
                    tokio::time::sleep(RECONNECT_WAIT).await;
                    continue;
                }
                return Ok(());
            }
            let create = WatchCreateRequest {
                key: key.clone(),
                range_end: range_end.clone(),
                start_revision: next_rev,
                ..Default::default()
            };
            let (tx, rx) = mpsc::channel(1);
            let _ = tx
                .send(WatchRequest {
                    request_union: Some(RequestUnion::CreateRequest(create)),
                })
                .await;
            let mut stream = match self.src.client.watch().watch(ReceiverStream::new(rx)).await {
                Ok(resp) => resp.into_inner(),
                Err(_) => {
                    tokio::time::sleep(RECONNECT_WAIT).await;
                    continue;
                }
            };
            loop {
                match stream.message().await {
                    Ok(Some(resp)) => {
                        if resp.compact_revision != 0 {
                            return Err(ERR_COMPACTED.to_string());
                        }
                        if let Some(last) = resp.events.last().and_then(|e| e.kv.as_ref()) {
                            next_rev = last.mod_revision + 1;
                        }
                        self.apply(&resp, rename).await?;
                        if resp.canceled {
                            return Ok(());
                        }
                    }
                    Err(status) if is_transient(Some(&status)) => break,
                    Ok(None) | Err(_) => return Ok(()),
                }
            }
            drop(tx);
            tokio::time::sleep(RECONNECT_WAIT).await;
        }
    }

    /// Applies one watch response: the events of each revision as one destination txn.
    async fn apply(&self, resp: &WatchResponse, rename: &Rename) -> Result<(), String> {
        let mut ops = Vec::new();
        let mut last_rev = 0;
        for ev in &resp.events {
            let kv = ev.kv.clone().unwrap_or_default();
            if last_rev != 0 && kv.mod_revision > last_rev {
                self.commit(std::mem::take(&mut ops)).await?;
            }
            last_rev = kv.mod_revision;
            let key = rename.apply(&kv.key);
            let request = match EventType::try_from(ev.r#type) {
                Ok(EventType::Put) => Request::RequestPut(PutRequest {
                    key,
                    value: kv.value,
                    ..Default::default()
                }),
                Ok(EventType::Delete) => Request::RequestDeleteRange(DeleteRangeRequest {
                    key,
                    ..Default::default()
                }),
                Err(_) => return Err("unexpected event type".to_string()),
            };
            ops.push(RequestOp {
                request: Some(request),
            });
            self.total.fetch_add(1, Ordering::SeqCst);
        }
        if !ops.is_empty() {
            self.commit(ops).await?;
        }
        Ok(())
    }
}

/// clientv3's `isHaltErr` negated: `Unavailable` and `Internal` (and a lost connection,
/// which tonic reports as `Unknown` without one of etcd's messages) are retried; any other
/// status ends the watch.
fn is_transient(status: Option<&tonic::Status>) -> bool {
    status.is_none_or(|s| match s.code() {
        tonic::Code::Unavailable | tonic::Code::Internal => true,
        tonic::Code::Unknown => !s.message().starts_with("etcdserver: "),
        _ => false,
    })
}

#[cfg(test)]
mod tests {
    use super::Rename;

    fn rename(prefix: &str, dest: &str, key: &str) -> String {
        let r = Rename {
            prefix: prefix.as_bytes().to_vec(),
            dest_prefix: dest.as_bytes().to_vec(),
        };
        String::from_utf8(r.apply(key.as_bytes())).unwrap_or_default()
    }

    #[test]
    fn renames_like_strings_replace_once() {
        assert_eq!(rename("a/", "b/", "a/x"), "b/x");
        assert_eq!(rename("a/", "", "a/x"), "x");
        assert_eq!(rename("", "d/", "x"), "d/x");
        assert_eq!(rename("a/", "a/", "a/a/x"), "a/a/x");
        assert_eq!(rename("/", "-", "x/a/b"), "x-a/b");
        assert_eq!(rename("q", "z", "xyz"), "xyz");
    }
}
