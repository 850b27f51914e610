//! `etcdctl check datascale [--load s|m|l|xl] [--prefix P] [--auto-compact]
//! [--auto-defrag]`: puts a fixed number of 1 KiB key-values as fast as the clients go,
//! and reports how much the first endpoint's resident memory grew meanwhile (its
//! `process_resident_memory_bytes` metric before and after).

use std::sync::Arc;

use etcd_proto::etcdserverpb::PutRequest;
use tokio::sync::mpsc;

use super::bar::Bar;
use super::metrics::resident_memory;
use super::report::Report;
use super::{clean_up, clients, print_errors, require_empty, runtime, spawn_workers, Keys, Load};
use crate::commands::Ctx;
use crate::exit::{CmdResult, Exit, EXIT_ERROR};
use crate::out;

/// Key and value sizes (512 + 512: the workload's 1 KiB per key-value).
const KEY_SIZE: usize = 512;
const VALUE_SIZE: usize = 512;
/// What the workload announces per key-value.
const KV_SIZE: usize = 1024;

/// `checkDatascaleCfg`: key-values to put, and clients.
fn workload(load: Load) -> (usize, usize) {
    match load {
        Load::Small => (10_000, 50),
        Load::Medium => (100_000, 200),
        Load::Large => (1_000_000, 500),
        Load::XLarge => (3_000_000, 1000),
    }
}

/// Prints a failure to read the memory metric (`when`: before or after) and fails.
fn memory_unknown(when: &str) -> Exit {
    out::line(format!(
        "FAIL: Could not read process_resident_memory_bytes {when} the put operations."
    ));
    Exit::silent(EXIT_ERROR)
}

/// `newCheckDatascaleCommand`.
pub fn run(ctx: &mut Ctx) -> CmdResult {
    let (limit, n_clients) = workload(Load::from_flag(ctx)?);
    let prefix = ctx.flags.get_str("prefix");
    let settings = ctx.settings()?;
    runtime()?.block_on(async {
        let conns: Vec<Arc<_>> = clients(&settings, n_clients)
            .await?
            .into_iter()
            .map(Arc::new)
            .collect();
        let endpoint = settings.config.endpoints.first().cloned().unwrap_or_default();
        let first = conns[0].clone();
        require_empty(&first, &prefix, None).await?;

        let (cert, key) = (ctx.flags.get_str("cert"), ctx.flags.get_str("key"));
        let before = resident_memory(&endpoint, (&cert, &key)).await;
        if before == 0.0 {
            return Err(memory_unknown("before"));
        }
        out::line(format!(
            "Start data scale check for work load [{limit} key-value pairs, {KV_SIZE} bytes per key-value, {n_clients} concurrent clients]."
        ));
        let bar = Bar::start(limit as i64);
        let report = Arc::new(Report::new());
        let (tx, rx) = mpsc::channel(n_clients);
        let counter = bar.clone();
        let mut workers = spawn_workers(&conns, rx, &report, move || counter.add(1));
        let mut keys = Keys::new(&prefix, KEY_SIZE);
        tokio::spawn(async move {
            let value = vec![0u8; VALUE_SIZE];
            for _ in 0..limit {
                let op = PutRequest {
                    key: keys.next(),
                    value: value.clone(),
                    ..Default::default()
                };
                if tx.send(op).await.is_err() {
                    return;
                }
            }
        });
        report.start_clock();
        while workers.join_next().await.is_some() {}
        bar.finish();
        let stats = report.stats();

        let after = resident_memory(&endpoint, (&cert, &key)).await;
        if after == 0.0 {
            return Err(memory_unknown("after"));
        }
        clean_up(ctx, &settings, &first, &prefix, None).await?;

        if !stats.errors.is_empty() {
            print_errors(&stats.errors);
            return Err(Exit::silent(EXIT_ERROR));
        }
        let mb_used = (after - before) / (1024.0 * 1024.0);
        out::line(format!(
            "PASS: Approximate system memory used : {mb_used:.2} MB."
        ));
        Ok(())
    })
}
