//! `benchmark`: etcd 3.4 `tools/benchmark`-compatible load generator (see the library docs).

use std::process::ExitCode;
use std::sync::Arc;

use benchmark::cli::{Cli, Command};
use benchmark::conn::{dial_all, leader_endpoints, normalize_endpoint};
use benchmark::runner::{run, RunConfig};
use benchmark::workload::{PutWorkload, RangeWorkload, Workload};
use benchmark::BenchError;
use clap::Parser;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match bench(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("benchmark: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn bench(cli: Cli) -> Result<(), BenchError> {
    let global = &cli.global;
    global.validate()?;
    let workload: Arc<dyn Workload> = match &cli.command {
        Command::Put(args) => Arc::new(PutWorkload::new(args)?),
        Command::Range(args) => {
            let workload = RangeWorkload::new(args)?;
            if workload.serializable() {
                println!("bench with serializable range");
            } else {
                println!("bench with linearizable range");
            }
            Arc::new(workload)
        }
    };
    let mut endpoints = global
        .endpoints
        .iter()
        .filter(|e| !e.trim().is_empty())
        .map(|e| normalize_endpoint(e))
        .collect::<Result<Vec<_>, _>>()?;
    let dial_timeout = global.effective_dial_timeout();
    if global.target_leader {
        endpoints = leader_endpoints(&endpoints, dial_timeout, global.request_timeout).await?;
    }
    let channels = dial_all(&endpoints, global.conns, dial_timeout).await?;
    let config = RunConfig {
        clients: global.clients,
        request_timeout: global.request_timeout,
        precise: global.precise,
    };
    let report = run(&channels, workload, config).await;
    println!("{}", report.render());
    println!("{}", report.result_line());
    Ok(())
}
