//! `etcdctl watch` (etcdctl's `watch_command.go` over clientv3's watcher): one gRPC watch
//! stream carrying every watch of the process, events printed as they come, an optional
//! command run per event, and the interactive mode reading `watch ...` lines from stdin.

use std::collections::{HashMap, VecDeque};

use etcd_proto::etcdserverpb::watch_request::RequestUnion;
use etcd_proto::etcdserverpb::{
    WatchCreateRequest, WatchProgressRequest, WatchRequest, WatchResponse,
};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tokio_stream::{StreamExt, StreamMap};
use tonic::metadata::MetadataValue;

use client::messages::{AUTH_OLD_REVISION, INVALID_AUTH_TOKEN};

use super::kv::prefix_end;
use super::txn_parse::argify;
use super::watch_args::{self, EnvKey, WatchArgs, WatchOpts, ERR_BAD_ARGS_NUM};
use super::{block_on, Conn, Ctx};
use crate::cli::flags::{Default as FlagDefault, FlagSet, FlagSpec};
use crate::exit::{CmdResult, Exit, EXIT_BAD_ARGS, EXIT_ERROR, EXIT_INVALID_INPUT};
use crate::go::quote::quote;
use crate::out;
use crate::printer::{event_type, Printer};

/// `ExitInterrupted`.
const EXIT_INTERRUPTED: i32 = 5;
/// clientv3's `InvalidWatchID`: progress answers for the whole stream carry it.
const INVALID_WATCH_ID: i64 = -1;
/// `rpctypes.ErrNoLeader`: the server ended a stream opened with `hasleader`.
const NO_LEADER: &str = "etcdserver: no leader";
/// Pause before retrying to open the stream while the connection is down.
const RECONNECT_WAIT: std::time::Duration = std::time::Duration::from_millis(100);

/// `etcdctl watch`.
pub fn run(ctx: &mut Ctx) -> CmdResult {
    let env_key = std::env::var("ETCDCTL_WATCH_KEY").unwrap_or_default();
    let env_range = std::env::var("ETCDCTL_WATCH_RANGE_END").unwrap_or_default();
    if env_key.is_empty() && !env_range.is_empty() {
        return Err(Exit::error(
            EXIT_BAD_ARGS,
            format!(
                "ETCDCTL_WATCH_KEY is empty but got ETCDCTL_WATCH_RANGE_END={}",
                quote(env_range.as_bytes())
            ),
        ));
    }
    let env = EnvKey {
        key: &env_key,
        range: &env_range,
    };
    let cmd = ctx.path.cmd();
    let local_flags = move || {
        let mut fs = FlagSet::default();
        for f in cmd.flags {
            fs.add(*f, false);
        }
        fs
    };
    let os_args: Vec<String> = std::env::args_os()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    // clientConfigFromCmd silences "unrecognized environment variable" for these two.
    for name in crate::cli::env::DISCARDED {
        ctx.flags
            .add(FlagSpec::new(name, FlagDefault::Str(""), ""), true);
    }
    let cmdline_opts = WatchOpts {
        prefix: ctx.flags.get_bool("prefix"),
        rev: ctx.flags.get_int("rev"),
        prev_kv: ctx.flags.get_bool("prev-kv"),
    };
    if ctx.flags.get_bool("interactive") {
        let settings = ctx.settings()?;
        return block_on(async {
            let conn = Conn::new(&settings.config).await?;
            let mut w = Watcher::new(&conn, settings.printer);
            interactive(&mut w, &os_args, env, &local_flags).await
        });
    }
    let args = watch_args::parse(&os_args, &ctx.args, env, false, local_flags)
        .map_err(|e| Exit::error(EXIT_BAD_ARGS, e))?;
    let settings = ctx.settings()?;
    block_on(async {
        let conn = Conn::new(&settings.config).await?;
        let req =
            create_request(&args.watch, cmdline_opts).map_err(|e| Exit::error(EXIT_BAD_ARGS, e))?;
        let mut w = Watcher::new(&conn, settings.printer);
        w.create(req, args.exec).await?;
        while w.has_watches() && w.step().await? {}
        Err(Exit::error(
            EXIT_INTERRUPTED,
            "watch is canceled by the server",
        ))
    })
}

/// The interactive loop: `watch ...` and `progress` lines from stdin, until its end.
async fn interactive(
    w: &mut Watcher<'_>,
    os_args: &[String],
    env: EnvKey<'_>,
    flags: &dyn Fn() -> FlagSet,
) -> CmdResult {
    let mut lines = stdin_lines();
    loop {
        tokio::select! {
            line = lines.recv() => {
                let Some(Ok(line)) = line else {
                    return Err(Exit::error(
                        EXIT_INVALID_INPUT,
                        "Error reading watch request line: EOF",
                    ));
                };
                interactive_line(w, &line, os_args, env, flags).await?;
            }
            alive = w.step() => {
                alive?;
            }
        }
    }
}

/// One interactive line (without its newline).
async fn interactive_line(
    w: &mut Watcher<'_>,
    line: &str,
    os_args: &[String],
    env: EnvKey<'_>,
    flags: &dyn Fn() -> FlagSet,
) -> CmdResult {
    let args = argify(line.as_bytes())?;
    match args.first().map(String::as_str) {
        None => out::stderr(format!(
            "Invalid command: {line} (watch and progress supported)\n"
        )),
        Some("watch") => {
            if args.len() < 2 && env.key.is_empty() {
                out::stderr(format!(
                    "Invalid command {line} (command type or key is not provided)\n"
                ));
                return Ok(());
            }
            let WatchArgs { watch, exec, opts } =
                watch_args::parse(os_args, &args, env, true, flags)
                    .map_err(|e| Exit::error(EXIT_BAD_ARGS, e))?;
            match create_request(&watch, opts.unwrap_or_default()) {
                Ok(req) => w.create(req, exec).await?,
                Err(e) => out::stderr(format!("Invalid command {line} ({e})\n")),
            }
        }
        Some("progress") => w.request_progress().await?,
        Some(_) => out::stderr(format!("Invalid command {line} (only support watch)\n")),
    }
    Ok(())
}

/// Lines of stdin as Go's `bufio.Reader.ReadString('\n')` yields them; an `Err` at the end
/// (a last line without newline is dropped, as etcdctl does).
fn stdin_lines() -> mpsc::UnboundedReceiver<Result<String, ()>> {
    let (tx, rx) = mpsc::unbounded_channel();
    std::thread::spawn(move || {
        use std::io::BufRead;
        let mut stdin = std::io::stdin().lock();
        loop {
            let mut buf = Vec::new();
            match stdin.read_until(b'\n', &mut buf) {
                Ok(_) if buf.last() == Some(&b'\n') => {
                    buf.pop();
                    let line = String::from_utf8_lossy(&buf).into_owned();
                    if tx.send(Ok(line)).is_err() {
                        return;
                    }
                }
                _ => {
                    let _ = tx.send(Err(()));
                    return;
                }
            }
        }
    });
    rx
}

/// `getWatchChan`: the create request for `args` (key and optional range end).
fn create_request(args: &[String], opts: WatchOpts) -> Result<WatchCreateRequest, String> {
    let Some(key) = args.first() else {
        return Err(ERR_BAD_ARGS_NUM.to_string());
    };
    let mut req = WatchCreateRequest {
        key: key.as_bytes().to_vec(),
        start_revision: opts.rev,
        prev_kv: opts.prev_kv,
        ..Default::default()
    };
    if args.len() == 2 {
        if opts.prefix {
            return Err("`range_end` and `--prefix` are mutually exclusive".to_string());
        }
        req.range_end = args[1].as_bytes().to_vec();
    }
    if opts.prefix {
        if req.key.is_empty() {
            req.key = vec![0];
            req.range_end = vec![0];
        } else {
            req.range_end = prefix_end(&req.key);
        }
    }
    Ok(req)
}

/// One watch of the stream.
struct Watch {
    /// Command to run per event.
    exec: Vec<String>,
    /// How it was created, to create it again on a new stream.
    req: WatchCreateRequest,
    /// Where a re-created watch starts (clientv3's `initReq.rev` as updated by
    /// `serveSubstream`); 0 until known.
    next_rev: i64,
}

impl Watch {
    /// clientv3's `serveSubstream` bookkeeping of the revision to resume from.
    fn observe(&mut self, r: &WatchResponse) {
        let rev = r.header.as_ref().map_or(0, |h| h.revision);
        let unknown_start = self.req.start_revision == 0 && self.next_rev == 0;
        if !r.created || unknown_start {
            self.next_rev = rev;
        }
        if let Some(kv) = r.events.last().and_then(|e| e.kv.as_ref()) {
            self.next_rev = kv.mod_revision + 1;
        }
    }

    /// The request that re-creates this watch on a new stream.
    fn resume_request(&self) -> WatchCreateRequest {
        let mut req = self.req.clone();
        if self.next_rev != 0 {
            req.start_revision = self.next_rev;
        }
        req
    }
}

/// clientv3's `shouldRetryWatch`: a creation refused for the stream's auth token is tried
/// again on a new stream (with a fresh token).
fn should_retry_watch(cancel_reason: &str) -> bool {
    cancel_reason == format!("rpc error: code = Unauthenticated desc = {INVALID_AUTH_TOKEN}")
        || cancel_reason == format!("rpc error: code = InvalidArgument desc = {AUTH_OLD_REVISION}")
}

/// How many times in a row a new stream is opened for creations refused for their token.
const MAX_STREAM_RETRIES: u32 = 100;

/// The process's watch stream (clientv3's `watchGrpcStream`).
struct Watcher<'a> {
    conn: &'a Conn,
    printer: Printer,
    /// Requests to the open stream.
    tx: Option<mpsc::Sender<WatchRequest>>,
    stream: Option<tonic::Streaming<WatchResponse>>,
    /// Watches whose creation the server has not confirmed yet, in request order.
    pending: VecDeque<Watch>,
    /// Live watches by watch ID.
    live: HashMap<i64, Watch>,
    /// New streams opened in a row because creations were refused for their token.
    stream_retries: u32,
    /// Streams left behind by [`Watcher::reopen`]: clientv3 neither closes them nor stops
    /// reading them, so their events still reach the watches (by watch ID, as numbered on
    /// the new stream). Their request senders keep them open.
    stale: StreamMap<usize, tonic::Streaming<WatchResponse>>,
    stale_tx: Vec<mpsc::Sender<WatchRequest>>,
}

impl<'a> Watcher<'a> {
    fn new(conn: &'a Conn, printer: Printer) -> Self {
        Watcher {
            conn,
            printer,
            tx: None,
            stream: None,
            pending: VecDeque::new(),
            live: HashMap::new(),
            stream_retries: 0,
            stale: StreamMap::new(),
            stale_tx: Vec::new(),
        }
    }

    /// Sends `req`, opening the stream with it first if needed (waiting while the
    /// connection is down, as clientv3 does; the server answers the call only once it has
    /// a message to send, so the first request must be queued before). Opening a stream
    /// logs in again first when credentials are set; a refused login fails every watch.
    async fn send(&mut self, req: RequestUnion) -> Result<(), Exit> {
        let req = WatchRequest {
            request_union: Some(req),
        };
        if let Some(tx) = &self.tx {
            let _ = tx.send(req).await;
            return Ok(());
        }
        loop {
            match self.conn.stream_auth().await {
                Ok(()) => {}
                Err(e) if is_unavailable(&e) => {
                    tokio::time::sleep(RECONNECT_WAIT).await;
                    continue;
                }
                Err(e) => return self.close_all(&e.to_string()),
            }
            let (tx, rx) = mpsc::channel(16);
            let _ = tx.send(req.clone()).await;
            // clientv3.WithRequireLeader.
            let mut call = tonic::Request::new(ReceiverStream::new(rx));
            call.metadata_mut()
                .insert("hasleader", MetadataValue::from_static("true"));
            if let Ok(resp) = self.conn.client.watch().watch(call).await {
                self.stream = Some(resp.into_inner());
                self.tx = Some(tx);
                return Ok(());
            }
            tokio::time::sleep(RECONNECT_WAIT).await;
        }
    }

    /// True while some watch is live or waiting for its creation.
    fn has_watches(&self) -> bool {
        !self.live.is_empty() || !self.pending.is_empty()
    }

    /// Starts a watch.
    async fn create(&mut self, req: WatchCreateRequest, exec: Vec<String>) -> Result<(), Exit> {
        self.pending.push_back(Watch {
            exec,
            req: req.clone(),
            next_rev: 0,
        });
        self.send(RequestUnion::CreateRequest(req)).await
    }

    /// `RequestProgress`.
    async fn request_progress(&mut self) -> Result<(), Exit> {
        self.send(RequestUnion::ProgressRequest(WatchProgressRequest {}))
            .await
    }

    /// clientv3's `newWatchClient` after a creation refused for the token: a new stream,
    /// on which every watch (live or waiting) is created again.
    async fn reopen(&mut self) -> Result<(), Exit> {
        if let (Some(tx), Some(stream)) = (self.tx.take(), self.stream.take()) {
            self.stale.insert(self.stale_tx.len(), stream);
            self.stale_tx.push(tx);
        }
        // clientv3 resumes the watches waiting for creation first, then the live ones.
        let mut all: Vec<Watch> = self.pending.drain(..).collect();
        all.extend(self.live.drain().map(|(_, w)| w));
        for w in all {
            let req = w.resume_request();
            self.pending.push_back(w);
            self.send(RequestUnion::CreateRequest(req)).await?;
        }
        Ok(())
    }

    /// Handles the next response; `false` once no watch is left or the stream ended.
    async fn step(&mut self) -> Result<bool, Exit> {
        let Some(stream) = self.stream.as_mut() else {
            return std::future::pending().await;
        };
        let stale = &mut self.stale;
        let resp = loop {
            let current = tokio::select! {
                r = stream.message() => r,
                Some((_, r)) = stale.next(), if !stale.is_empty() => match r {
                    Ok(resp) => break resp,
                    Err(_) => continue,
                },
            };
            match current {
                Ok(Some(resp)) => break resp,
                // clientv3 does not retry a stream the server ended for lack of a leader:
                // every watch gets a canceled response carrying the error.
                Err(status) if status.message() == NO_LEADER => {
                    self.close_all(&client::Error::Status(status).to_string())?;
                    return Ok(false);
                }
                // The stream is gone: every watch channel closes.
                Ok(None) | Err(_) => return Ok(false),
            }
        };
        if resp.created {
            let refused = resp.watch_id == INVALID_WATCH_ID
                || (resp.canceled && !resp.cancel_reason.is_empty());
            if refused
                && should_retry_watch(&resp.cancel_reason)
                && self.stream_retries < MAX_STREAM_RETRIES
            {
                self.stream_retries += 1;
                self.reopen().await?;
                return Ok(true);
            }
            self.stream_retries = 0;
            if refused {
                // `addSubstream`: the watch fails with the reason as its close error.
                if self.pending.pop_front().is_some() {
                    self.report_closed(&resp.cancel_reason)?;
                }
                return Ok(self.has_watches());
            }
            if let Some(w) = self.pending.pop_front() {
                self.live.insert(resp.watch_id, w);
            }
            if !resp.canceled {
                if let Some(w) = self.live.get_mut(&resp.watch_id) {
                    w.observe(&resp);
                }
                return Ok(true);
            }
        }
        if resp.watch_id == INVALID_WATCH_ID && is_progress_notify(&resp) {
            for w in self.live.values() {
                deliver(self.printer, w, &resp)?;
            }
            return Ok(true);
        }
        let id = resp.watch_id;
        if let Some(w) = self.live.get_mut(&id) {
            w.observe(&resp);
            deliver(self.printer, w, &resp)?;
        }
        if resp.canceled {
            self.live.remove(&id);
            return Ok(self.has_watches());
        }
        Ok(true)
    }

    /// What `printWatchCh` shows for a watch closed with the error `err` (clientv3's
    /// `WatchResponse{Canceled: true, closeErr}`).
    fn report_closed(&self, err: &str) -> Result<(), Exit> {
        out::stderr(format!("watch was canceled ({err})\n"));
        self.printer.watch_closed()
    }

    /// clientv3's `closeSubstream` with a close error: every watch, created or not, gets
    /// `WatchResponse{Canceled: true, closeErr}`, which `printWatchCh` reports. The stream
    /// is dropped: a later watch opens a new one.
    fn close_all(&mut self, err: &str) -> Result<(), Exit> {
        self.stream = None;
        self.tx = None;
        let watches = self.live.len() + self.pending.len();
        self.live.clear();
        self.pending.clear();
        for _ in 0..watches {
            self.report_closed(err)?;
        }
        Ok(())
    }
}

/// True for a failure the connection may recover from (clientv3's `isUnavailableErr`).
fn is_unavailable(e: &client::Error) -> bool {
    match e {
        client::Error::Status(s) => s.code() == tonic::Code::Unavailable,
        client::Error::DeadlineExceeded(_) | client::Error::Transport(_) => true,
        _ => false,
    }
}

/// `WatchResponse.IsProgressNotify`.
fn is_progress_notify(r: &WatchResponse) -> bool {
    r.events.is_empty()
        && !r.canceled
        && !r.created
        && r.compact_revision == 0
        && r.header.as_ref().is_some_and(|h| h.revision != 0)
}

/// `WatchResponse.Err()` for a canceled watch.
fn cancel_error(r: &WatchResponse) -> String {
    if r.compact_revision != 0 {
        return "etcdserver: mvcc: required revision has been compacted".to_string();
    }
    if !r.cancel_reason.is_empty() {
        return client::Error::Status(tonic::Status::failed_precondition(r.cancel_reason.clone()))
            .to_string();
    }
    "etcdserver: mvcc: required revision is a future revision".to_string()
}

/// `printWatchCh` for one response of one watch.
fn deliver(printer: Printer, w: &Watch, r: &WatchResponse) -> Result<(), Exit> {
    if r.canceled {
        out::stderr(format!("watch was canceled ({})\n", cancel_error(r)));
    }
    if is_progress_notify(r) {
        let rev = r.header.as_ref().map_or(0, |h| h.revision);
        out::line(format!("progress notify: {rev}"));
    }
    printer.watch(r)?;
    if !w.exec.is_empty() {
        for ev in &r.events {
            run_exec(&w.exec, r, ev)?;
        }
    }
    Ok(())
}

/// Runs the per-event command with the `ETCD_WATCH_*` variables.
fn run_exec(
    exec: &[String],
    r: &WatchResponse,
    ev: &etcd_proto::mvccpb::Event,
) -> Result<(), Exit> {
    let kv = ev.kv.clone().unwrap_or_default();
    let rev = r.header.as_ref().map_or(0, |h| h.revision);
    let status = std::process::Command::new(&exec[0])
        .args(&exec[1..])
        .env("ETCD_WATCH_REVISION", rev.to_string())
        .env("ETCD_WATCH_EVENT_TYPE", quote(event_type(ev).as_bytes()))
        .env("ETCD_WATCH_KEY", quote(&kv.key))
        .env("ETCD_WATCH_VALUE", quote(&kv.value))
        .status();
    let Err(err) = crate::go::exec::run_error(exec, status) else {
        return Ok(());
    };
    let quoted: Vec<String> = exec.iter().map(|a| quote(a.as_bytes())).collect();
    out::stderr(format!("command [{}] error ({err})\n", quoted.join(" ")));
    Err(Exit::silent(EXIT_ERROR))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_and_range_requests() {
        let opts = WatchOpts {
            prefix: true,
            ..Default::default()
        };
        let req = create_request(&["foo".to_string()], opts).unwrap();
        assert_eq!(req.range_end, b"fop");
        let req = create_request(&[String::new()], opts).unwrap();
        assert_eq!((req.key, req.range_end), (vec![0], vec![0]));
        let two = ["a".to_string(), "b".to_string()];
        assert!(create_request(&two, opts).is_err());
        assert!(create_request(&[], WatchOpts::default()).is_err());
    }
}
