//! `etcdctl check perf [--load s|m|l|xl] [--prefix P] [--auto-compact] [--auto-defrag]`:
//! 60 s of rate-limited puts (256-byte keys, 1 KiB values) from many clients, a progress
//! bar ticking each second, then PASS/FAIL on throughput (above 90% of the rate), slowest
//! request (at most 0.5 s) and standard deviation (at most 0.1 s).

use std::sync::Arc;
use std::time::Duration;

use etcd_proto::etcdserverpb::PutRequest;
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::bar::Bar;
use super::report::Report;
use super::{
    clean_up, clients, print_errors, require_empty, runtime, spawn_workers, Keys, Load,
    CLEANUP_TIMEOUT,
};
use crate::commands::Ctx;
use crate::exit::{CmdResult, Exit, EXIT_ERROR};
use crate::out;

/// Key and value sizes.
const KEY_SIZE: usize = 256;
const VALUE_SIZE: usize = 1024;
/// Timeout of the Get that checks the prefix is empty.
const PRECHECK_TIMEOUT: Duration = Duration::from_secs(60);

/// `checkPerfCfg`: puts per second, clients, seconds.
#[derive(Clone, Copy)]
struct Workload {
    limit: u32,
    clients: usize,
    duration: u64,
}

fn workload(load: Load) -> Workload {
    let (limit, clients) = match load {
        Load::Small => (150, 50),
        Load::Medium => (1000, 200),
        Load::Large => (8000, 500),
        Load::XLarge => (15000, 1000),
    };
    Workload {
        limit,
        clients,
        duration: 60,
    }
}

/// `newCheckPerfCommand`.
pub fn run(ctx: &mut Ctx) -> CmdResult {
    let cfg = workload(Load::from_flag(ctx)?);
    let prefix = ctx.flags.get_str("prefix");
    let settings = ctx.settings()?;
    runtime()?.block_on(async {
        let conns: Vec<Arc<_>> = clients(&settings, cfg.clients)
            .await?
            .into_iter()
            .map(Arc::new)
            .collect();
        let first = conns[0].clone();
        require_empty(&first, &prefix, Some(PRECHECK_TIMEOUT)).await?;

        let bar = Bar::start(cfg.duration as i64);
        let report = Arc::new(Report::new());
        let (tx, rx) = mpsc::channel(cfg.clients);
        let mut workers = spawn_workers(&conns, rx, &report, || {});
        tokio::spawn(generate(tx, Keys::new(&prefix, KEY_SIZE), cfg));
        let ticker = bar.clone();
        let seconds = cfg.duration;
        let ticking = tokio::spawn(async move {
            for _ in 0..seconds {
                tokio::time::sleep(Duration::from_secs(1)).await;
                ticker.add(1);
            }
            ticker.finish();
        });
        report.start_clock();
        while workers.join_next().await.is_some() {}
        let stats = report.stats();

        clean_up(ctx, &settings, &first, &prefix, Some(CLEANUP_TIMEOUT)).await?;
        // The load stops on a deadline and the bar on its own count of seconds: the verdict
        // comes after the bar's last drawing, as with etcdctl on any machine that is not
        // so loaded that its one-second sleeps drift behind the deadline.
        let _ = ticking.await;

        let mut ok = true;
        if !stats.errors.is_empty() {
            print_errors(&stats.errors);
            ok = false;
        }
        let writes = stats.rps as i64 + 1;
        if stats.rps / f64::from(cfg.limit) <= 0.9 {
            out::line(format!("FAIL: Throughput too low: {writes} writes/s"));
            ok = false;
        } else {
            out::line(format!("PASS: Throughput is {writes} writes/s"));
        }
        if stats.slowest > 0.5 {
            out::line(format!(
                "Slowest request took too long: {:.6}s",
                stats.slowest
            ));
            ok = false;
        } else {
            out::line(format!("PASS: Slowest request took {:.6}s", stats.slowest));
        }
        if stats.stddev > 0.1 {
            out::line(format!("Stddev too high: {:.6}s", stats.stddev));
            ok = false;
        } else {
            out::line(format!("PASS: Stddev is {:.6}s", stats.stddev));
        }
        if ok {
            out::line("PASS");
            Ok(())
        } else {
            out::line("FAIL");
            Err(Exit::silent(EXIT_ERROR))
        }
    })
}

/// Sends puts at `cfg.limit` per second (golang.org/x/time/rate with a burst of 1) until
/// the next one would come after `cfg.duration` seconds; then closes `tx`.
async fn generate(tx: mpsc::Sender<PutRequest>, mut keys: Keys, cfg: Workload) {
    let deadline = Instant::now() + Duration::from_secs(cfg.duration);
    let interval = Duration::from_secs(1) / cfg.limit;
    let value = vec![0u8; VALUE_SIZE];
    let mut last: Option<Instant> = None;
    loop {
        let now = Instant::now();
        let at = last.map_or(now, |l| (l + interval).max(now));
        if at > deadline {
            return;
        }
        tokio::time::sleep_until(at).await;
        last = Some(at);
        let op = PutRequest {
            key: keys.next(),
            value: value.clone(),
            ..Default::default()
        };
        if tx.send(op).await.is_err() {
            return;
        }
    }
}
