//! `etcdctl snapshot restore <file> [--data-dir --wal-dir --name --initial-cluster
//! --initial-cluster-token --initial-advertise-peer-urls --skip-hash-check]`: creates a
//! new member's data dir for this server from an etcd snapshot (`server::restore`), with
//! etcdctl 3.4's messages and zap log lines. It needs no running server.

use std::path::PathBuf;

use server::restore::{plan, RestoreConfig};

use super::Ctx;
use crate::exit::{CmdResult, Exit, EXIT_BAD_ARGS, EXIT_ERROR};
use crate::go::json::array;
use crate::go::zap;

/// etcd's `snapshot.v3Manager` log lines name their Go source lines.
const RESTORE_CALLER: &str = "snapshot/v3_snapshot.go:296";
const RESTORED_CALLER: &str = "snapshot/v3_snapshot.go:309";
const ADDED_CALLER: &str = "membership/cluster.go:392";

/// A URL as a zap JSON string (for the list field).
fn quoted(s: &str) -> String {
    let mut out = String::new();
    crate::go::json::write_zap_str(&mut out, s.as_bytes());
    out
}

pub fn run(ctx: &mut Ctx) -> CmdResult {
    let [file] = ctx.args.as_slice() else {
        return Err(Exit::error(
            EXIT_BAD_ARGS,
            "snapshot restore requires exactly one argument",
        ));
    };
    let flags = &ctx.flags;
    let name = flags.get_str("name");
    let data_dir = match flags.get_str("data-dir") {
        d if d.is_empty() => format!("{name}.etcd"),
        d => d,
    };
    let wal_dir = match flags.get_str("wal-dir") {
        w if w.is_empty() => None,
        w => Some(PathBuf::from(w)),
    };
    let cfg = RestoreConfig {
        snapshot: PathBuf::from(file),
        name: name.clone(),
        data_dir: Some(PathBuf::from(&data_dir)),
        wal_dir,
        initial_cluster: flags.get_str("initial-cluster"),
        initial_cluster_token: flags.get_str("initial-cluster-token"),
        initial_advertise_peer_urls: flags
            .get_str("initial-advertise-peer-urls")
            .split(',')
            .map(str::to_string)
            .collect(),
        skip_hash_check: flags.get_bool("skip-hash-check"),
    };
    let fail = |e: anyhow::Error| Exit::error(EXIT_ERROR, format!("{e:#}"));
    let plan = plan(cfg).map_err(fail)?;
    let dirs = |o: &mut crate::go::json::Obj| {
        o.str("path", file)
            .str("wal-dir", &plan.wal_dir.display().to_string())
            .str("data-dir", &data_dir)
            .str("snap-dir", &plan.snap_dir.display().to_string());
    };
    let mut line = zap::info(RESTORE_CALLER, "restoring snapshot");
    dirs(&mut line);
    zap::emit(&mut line);
    plan.run().map_err(fail)?;
    for m in &plan.members {
        let urls: Vec<String> = m.peer_ur_ls.iter().map(|u| quoted(u)).collect();
        let mut line = zap::info(ADDED_CALLER, "added member");
        line.str("cluster-id", &format!("{:x}", plan.cluster_id))
            .str("local-member-id", "0")
            .str("added-peer-id", &format!("{:x}", m.id))
            .raw("added-peer-peer-urls", &array(&urls));
        zap::emit(&mut line);
    }
    let mut line = zap::info(RESTORED_CALLER, "restored snapshot");
    dirs(&mut line);
    zap::emit(&mut line);
    Ok(())
}
