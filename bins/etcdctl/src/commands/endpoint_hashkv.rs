//! `etcdctl endpoint hashkv [--cluster] [--rev N]`: the KV history hash of each endpoint
//! (clientv3's `Maintenance.HashKV` over a direct dial), printed once all were asked.

use client::RetryPolicy;
use etcd_proto::etcdserverpb::HashKvRequest;

use super::endpoint::endpoints_from_cluster;
use super::{block_on, deadline_in, request, Conn, Ctx};
use crate::exit::{CmdResult, Exit, EXIT_ERROR};
use crate::out;
use crate::printer::EpHashKv;

/// `epHashKVCommandFunc`: a failed endpoint is reported on stderr and skipped; the last
/// failure is the command's error once the others are printed.
pub fn run(ctx: &mut Ctx) -> CmdResult {
    let revision = ctx.flags.get_int("rev");
    let settings = ctx.settings()?;
    block_on(async {
        Conn::new(&settings.config).await?;
        let mut list = Vec::new();
        let mut failure = None;
        for ep in endpoints_from_cluster(ctx, &settings).await? {
            let deadline = deadline_in(settings.command_timeout);
            let conn = Conn::passthrough(&settings.config, &ep).await?;
            let maintenance = conn.client.maintenance();
            let res = conn
                .call(deadline, RetryPolicy::Repeatable, |left| {
                    let mut m = maintenance.clone();
                    async move { m.hash_kv(request(HashKvRequest { revision }, left)).await }
                })
                .await;
            match res {
                Ok(resp) => list.push(EpHashKv {
                    ep,
                    resp: resp.into_inner(),
                }),
                Err(e) => {
                    out::stderr(format!("Failed to get the hash of endpoint {ep} ({e})\n"));
                    failure = Some(e);
                }
            }
        }
        settings.printer.endpoint_hashkv(&list)?;
        match failure {
            Some(e) => Err(Exit::error(EXIT_ERROR, e)),
            None => Ok(()),
        }
    })
}
