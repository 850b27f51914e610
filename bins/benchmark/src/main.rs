//! `benchmark`: etcd 3.4 `tools/benchmark`-compatible load generator (see the library docs).

use std::process::ExitCode;
use std::sync::Arc;

use benchmark::auth::Credentials;
use benchmark::cli::{Cli, Command, LeaseKeepaliveArgs, WatchArgs, WatchLatencyArgs};
use benchmark::conn::{connect, dial_all, leader_endpoints, normalize_endpoint};
use benchmark::runner::{run, RunConfig};
use benchmark::workload::{PutWorkload, RangeWorkload, Workload};
use benchmark::{lease, watch, watch_latency, BenchError};
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

/// What to run, prepared (and validated) before dialing.
enum Mode<'a> {
    Kv(Arc<dyn Workload>),
    Watch(&'a WatchArgs),
    WatchLatency(&'a WatchLatencyArgs),
    LeaseKeepalive(&'a LeaseKeepaliveArgs),
}

fn prepare(command: &Command) -> Result<Mode<'_>, BenchError> {
    Ok(match command {
        Command::Put(args) => Mode::Kv(Arc::new(PutWorkload::new(args)?)),
        Command::Range(args) => {
            let workload = RangeWorkload::new(args)?;
            if workload.serializable() {
                println!("bench with serializable range");
            } else {
                println!("bench with linearizable range");
            }
            Mode::Kv(Arc::new(workload))
        }
        Command::Watch(args) => Mode::Watch(args),
        Command::WatchLatency(args) => Mode::WatchLatency(args),
        Command::LeaseKeepalive(args) => Mode::LeaseKeepalive(args),
    })
}

async fn bench(cli: Cli) -> Result<(), BenchError> {
    let global = &cli.global;
    global.validate()?;
    let mode = prepare(&cli.command)?;
    let mut endpoints = global
        .endpoints
        .iter()
        .filter(|e| !e.trim().is_empty())
        .map(|e| normalize_endpoint(e))
        .collect::<Result<Vec<_>, _>>()?;
    let dial_timeout = global.effective_dial_timeout();
    // etcd's tool asks for the password when it opens its first connection.
    let credentials = Credentials::from_flag_or_prompt(&global.user)?;
    let credentials = credentials.as_ref();
    if global.target_leader {
        endpoints = leader_endpoints(
            &endpoints,
            dial_timeout,
            global.request_timeout,
            credentials,
        )
        .await?;
    }
    let channels = dial_all(&endpoints, global.conns, dial_timeout, credentials).await?;
    let config = RunConfig {
        clients: global.clients,
        request_timeout: global.request_timeout,
        precise: global.precise,
    };
    let output = match mode {
        Mode::Kv(workload) => {
            let report = run(&channels, workload, config).await;
            format!("{}\n{}", report.render(), report.result_line())
        }
        Mode::Watch(args) => watch::bench(&channels, args, config).await?,
        Mode::WatchLatency(args) => {
            // etcd's tool puts over a connection of its own.
            let put_channel = connect(&endpoints[0], dial_timeout, credentials).await?;
            watch_latency::bench(&channels, put_channel, args, config).await?
        }
        Mode::LeaseKeepalive(args) => lease::bench(&channels, args, config).await?,
    };
    println!("{output}");
    Ok(())
}
