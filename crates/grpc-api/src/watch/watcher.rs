//! One watcher's task: catch up from history, follow the live feed, send progress
//! notifications when asked to.

use std::sync::Arc;
use std::time::Duration;

use etcd_proto::etcdserverpb::{watch_create_request::FilterType, WatchCreateRequest};
use etcd_proto::mvccpb::{event::EventType, Event};
use rand::Rng;
use tokio::sync::broadcast::error::{RecvError, TryRecvError};
use tokio::time::{Instant, Interval, MissedTickBehavior};

use super::hub::{KeyRange, Subscription};
use super::{fragment, StreamCtx};
use crate::backend::{EventBatch, DEFAULT_WATCH_PROGRESS_NOTIFY_INTERVAL};

/// etcd's `minWatchProgressInterval`: shorter progress intervals are raised to this.
pub const MIN_PROGRESS_NOTIFY_INTERVAL: Duration = Duration::from_millis(100);

/// What the watcher does after a step.
enum Flow {
    /// Keep following the live feed.
    Live,
    /// Fell behind the live feed: re-read history.
    CatchUp,
    /// The stream is gone or the watcher is done.
    Stop,
}

pub(super) struct Watcher {
    id: i64,
    range: KeyRange,
    start: i64,
    no_put: bool,
    no_delete: bool,
    prev_kv: bool,
    fragment: bool,
    progress_notify: bool,
    /// Highest revision already delivered (or skipped as before the start).
    sent: i64,
    /// Events were sent since the last progress tick: etcd skips that tick's notification.
    events_since_tick: bool,
}

impl Watcher {
    pub(super) fn new(id: i64, c: WatchCreateRequest) -> Self {
        let has = |f: FilterType| c.filters.contains(&(f as i32));
        Watcher {
            id,
            no_put: has(FilterType::Noput),
            no_delete: has(FilterType::Nodelete),
            range: KeyRange {
                key: c.key,
                range_end: c.range_end,
            },
            start: c.start_revision,
            prev_kv: c.prev_kv,
            fragment: c.fragment,
            progress_notify: c.progress_notify,
            sent: 0,
            events_since_tick: false,
        }
    }

    fn matches(&self, ev: &Event) -> bool {
        let Some(kv) = &ev.kv else { return false };
        let is_put = ev.r#type == EventType::Put as i32;
        if (is_put && self.no_put) || (!is_put && self.no_delete) {
            return false;
        }
        self.range.contains(&kv.key)
    }

    /// Sends the events above `self.sent` that match, as one response at `revision`
    /// (fragmented when the watcher asked for it). False when the stream is gone.
    async fn deliver(&mut self, ctx: &StreamCtx, events: &[Event], revision: i64) -> bool {
        let mut batch: Vec<Event> = Vec::new();
        for ev in events {
            let rev = ev.kv.as_ref().map_or(0, |kv| kv.mod_revision);
            if rev <= self.sent || !self.matches(ev) {
                continue;
            }
            let mut ev = ev.clone();
            if self.prev_kv {
                let key = ev.kv.as_ref().map(|kv| kv.key.clone()).unwrap_or_default();
                ev.prev_kv = ctx.backend.kv_at(&key, rev - 1);
            }
            batch.push(ev);
        }
        self.sent = self.sent.max(revision);
        if batch.is_empty() {
            return true;
        }
        self.events_since_tick = true;
        let resp = ctx.response(revision, self.id, |r| r.events = batch);
        let responses = if self.fragment {
            fragment::split(resp, ctx.max_response_bytes)
        } else {
            vec![resp]
        };
        ctx.out.send(responses).await.is_ok()
    }

    /// Replays history from `self.sent + 1` to the current revision. When that history was
    /// compacted meanwhile, cancels the watcher with `compact_revision` set.
    async fn catch_up(&mut self, ctx: &StreamCtx) -> Flow {
        let (current, _) = ctx.backend.revisions();
        if current <= self.sent {
            return Flow::Live;
        }
        match ctx.backend.history(self.sent + 1, current) {
            Ok(events) if self.deliver(ctx, &events, current).await => Flow::Live,
            Ok(_) => Flow::Stop,
            Err(_) => {
                self.cancel_compacted(ctx).await;
                Flow::Stop
            }
        }
    }

    /// Cancels the watcher because the history it needs is compacted.
    async fn cancel_compacted(&self, ctx: &StreamCtx) {
        let (current, compacted) = ctx.backend.revisions();
        let resp = ctx.response(current, self.id, |r| {
            r.canceled = true;
            r.compact_revision = compacted;
        });
        ctx.send(resp).await;
    }

    /// One message of the live feed.
    async fn on_live(&mut self, ctx: &StreamCtx, msg: Result<Arc<EventBatch>, RecvError>) -> Flow {
        match msg {
            Ok(b) => {
                if self.deliver(ctx, &b.events, b.revision).await {
                    Flow::Live
                } else {
                    Flow::Stop
                }
            }
            Err(RecvError::Lagged(_)) => Flow::CatchUp,
            Err(RecvError::Closed) => Flow::Stop,
        }
    }

    /// A progress tick (etcd's `progressIfSync`): first deliver what the live feed already
    /// holds, so only a watcher with nothing pending is synced; then, unless events went out
    /// since the last tick, send an empty response at the revision it has caught up to.
    async fn on_progress_tick(&mut self, ctx: &StreamCtx, live: &Subscription) -> Flow {
        // Read before draining: then every batch up to it that concerns us is delivered.
        let dispatched = live.dispatched();
        loop {
            match live.try_recv() {
                Ok(b) => {
                    if !self.deliver(ctx, &b.events, b.revision).await {
                        return Flow::Stop;
                    }
                }
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Lagged(_)) => {
                    self.events_since_tick = false;
                    return Flow::CatchUp;
                }
                Err(TryRecvError::Closed) => return Flow::Stop,
            }
        }
        // Batches that did not concern us were not handed to us, but we are synced past them.
        self.sent = self.sent.max(dispatched);
        if std::mem::take(&mut self.events_since_tick) {
            return Flow::Live;
        }
        // A watcher whose start revision is in the future reports the store revision.
        let revision = self.sent.min(ctx.backend.revisions().0);
        if ctx.send(ctx.response(revision, self.id, |_| {})).await {
            Flow::Live
        } else {
            Flow::Stop
        }
    }

    pub(super) async fn run(mut self, ctx: StreamCtx) {
        let live = ctx.hub.subscribe(self.range.clone());
        let (current, compacted) = ctx.backend.revisions();
        if !ctx
            .send(ctx.response(current, self.id, |r| r.created = true))
            .await
        {
            return;
        }
        if self.start != 0 && self.start <= compacted {
            self.cancel_compacted(&ctx).await;
            return;
        }
        self.sent = if self.start == 0 {
            current
        } else {
            self.start - 1
        };
        let mut ticker = self
            .progress_notify
            .then(|| progress_ticker(ctx.backend.watch_progress_notify_interval()));
        loop {
            if let Flow::Stop = self.catch_up(&ctx).await {
                return;
            }
            loop {
                let flow = tokio::select! {
                    biased;
                    msg = live.recv() => self.on_live(&ctx, msg).await,
                    _ = tick(&mut ticker) => self.on_progress_tick(&ctx, &live).await,
                };
                match flow {
                    Flow::Live => {}
                    Flow::CatchUp => break,
                    Flow::Stop => return,
                }
            }
        }
    }
}

/// The progress interval actually used for a configured one: zero is etcd's default, less
/// than [`MIN_PROGRESS_NOTIFY_INTERVAL`] is raised to it.
pub(super) fn effective_progress_interval(configured: Duration) -> Duration {
    if configured.is_zero() {
        DEFAULT_WATCH_PROGRESS_NOTIFY_INTERVAL
    } else {
        configured.max(MIN_PROGRESS_NOTIFY_INTERVAL)
    }
}

/// A ticker at the effective interval plus a random jitter of up to a tenth of it (as etcd's
/// `GetProgressReportInterval`, so watchers created together do not all fire together).
/// The first tick is one period after creation.
fn progress_ticker(configured: Duration) -> Interval {
    let base = effective_progress_interval(configured);
    let max_jitter = u64::try_from((base / 10).as_nanos()).unwrap_or(u64::MAX);
    let period = base + Duration::from_nanos(rand::rng().random_range(0..=max_jitter));
    let mut ticker = tokio::time::interval_at(Instant::now() + period, period);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    ticker
}

/// The next tick, or never for a watcher without progress notifications.
async fn tick(ticker: &mut Option<Interval>) {
    match ticker {
        Some(t) => {
            t.tick().await;
        }
        None => std::future::pending().await,
    }
}
