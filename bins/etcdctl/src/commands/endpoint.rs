//! `etcdctl endpoint health` and `etcdctl endpoint status` (with `--cluster`).

use std::time::Duration;

use client::{ClientConfig, RetryPolicy};
use etcd_proto::etcdserverpb::{MemberListRequest, RangeRequest, StatusRequest, StatusResponse};
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::{block_on, deadline_in, request, Conn, Ctx, Settings};
use crate::cli::env;
use crate::exit::{CmdResult, Exit, EXIT_ERROR};
use crate::go::duration;
use crate::out;
use crate::printer::{EpHealth, EpStatus};

/// `endpointsFromCluster`: `--endpoints` as given, or with `--cluster` every member's
/// client URLs.
pub(super) async fn endpoints_from_cluster(
    ctx: &Ctx,
    settings: &Settings,
) -> Result<Vec<String>, Exit> {
    if !ctx.flags.get_bool("cluster") {
        return Ok(ctx.flags.get_strings("endpoints"));
    }
    let cfg = ClientConfig {
        credentials: None,
        ..settings.config.clone()
    };
    let conn = Conn::new(&cfg).await.map_err(|e| Exit {
        code: EXIT_ERROR,
        ..e
    })?;
    let deadline = deadline_in(settings.command_timeout);
    let cluster = conn.client.cluster();
    let resp = conn
        .call(deadline, RetryPolicy::Repeatable, |left| {
            let mut cluster = cluster.clone();
            async move {
                cluster
                    .member_list(request(MemberListRequest {}, left))
                    .await
            }
        })
        .await
        .map_err(|e| {
            Exit::error(
                EXIT_ERROR,
                format!("failed to fetch endpoints from etcd cluster member list: {e}"),
            )
        })?
        .into_inner();
    Ok(resp
        .members
        .into_iter()
        .flat_map(|m| m.client_ur_ls)
        .collect())
}

/// Probes one endpoint with a linearizable Get of the key "health".
async fn probe(ep: String, cfg: ClientConfig, timeout: Duration) -> EpHealth {
    let cfg = ClientConfig {
        endpoints: vec![ep.clone()],
        ..cfg
    };
    let conn = match Conn::new(&cfg).await {
        Ok(c) => c,
        Err(e) => {
            let error = e
                .stderr
                .trim_end()
                .trim_start_matches("Error: ")
                .to_string();
            return EpHealth {
                ep,
                health: false,
                took: String::new(),
                error,
            };
        }
    };
    let start = Instant::now();
    let deadline = deadline_in(timeout);
    let kv = conn.client.kv();
    let res = conn
        .call(deadline, RetryPolicy::Repeatable, |left| {
            let mut kv = kv.clone();
            let req = RangeRequest {
                key: b"health".to_vec(),
                ..Default::default()
            };
            async move { kv.range(request(req, left)).await }
        })
        .await;
    let took = duration::format(i64::try_from(start.elapsed().as_nanos()).unwrap_or(i64::MAX));
    match res {
        Ok(_) => EpHealth {
            ep,
            health: true,
            took,
            error: String::new(),
        },
        Err(e) if e.is_etcd("etcdserver: permission denied") => EpHealth {
            ep,
            health: true,
            took,
            error: String::new(),
        },
        Err(e) => EpHealth {
            ep,
            health: false,
            took,
            error: e.to_string(),
        },
    }
}

/// `etcdctl endpoint health`.
pub fn health(ctx: &mut Ctx) -> CmdResult {
    env::apply(&mut ctx.flags)?;
    let printer = ctx.printer()?;
    // Like etcdctl, this command reads the connection flags itself (no --debug output).
    let settings = ctx.settings_without_env(printer)?;
    block_on(async {
        let endpoints = endpoints_from_cluster(ctx, &settings).await?;
        let mut probes = JoinSet::new();
        for ep in endpoints {
            probes.spawn(probe(ep, settings.config.clone(), settings.command_timeout));
        }
        let mut list = Vec::new();
        while let Some(done) = probes.join_next().await {
            list.push(done.map_err(|e| Exit::error(EXIT_ERROR, e))?);
        }
        printer.endpoint_health(&list)?;
        if list.iter().any(|h| !h.error.is_empty()) {
            return Err(Exit::error(EXIT_ERROR, "unhealthy cluster"));
        }
        Ok(())
    })
}

/// clientv3's `Maintenance.Status(ctx, ep)`: a Status RPC over a direct dial of `ep`.
/// The outer error is a failed client setup (authentication), the inner one the RPC's.
pub async fn status_of(
    cfg: &ClientConfig,
    ep: &str,
    deadline: Option<Instant>,
) -> Result<Result<StatusResponse, client::Error>, Exit> {
    let conn = Conn::passthrough(cfg, ep).await?;
    let maintenance = conn.client.maintenance();
    let res = conn
        .call(deadline, RetryPolicy::Repeatable, |left| {
            let mut m = maintenance.clone();
            async move { m.status(request(StatusRequest {}, left)).await }
        })
        .await;
    Ok(res.map(tonic::Response::into_inner))
}

/// `etcdctl endpoint status`.
pub fn status(ctx: &mut Ctx) -> CmdResult {
    let settings = ctx.settings()?;
    block_on(async {
        Conn::new(&settings.config).await?;
        let mut list = Vec::new();
        let mut failed = false;
        for ep in endpoints_from_cluster(ctx, &settings).await? {
            let deadline = deadline_in(settings.command_timeout);
            match status_of(&settings.config, &ep, deadline).await? {
                Ok(resp) => list.push(EpStatus { ep, resp }),
                Err(e) => {
                    failed = true;
                    out::stderr(format!("Failed to get the status of endpoint {ep} ({e})\n"));
                }
            }
        }
        settings.printer.endpoint_status(&list)?;
        if failed {
            return Err(Exit::silent(EXIT_ERROR));
        }
        Ok(())
    })
}
