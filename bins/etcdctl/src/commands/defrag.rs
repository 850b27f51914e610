//! `etcdctl defrag [--cluster] [--data-dir <dir>]`.

use client::RetryPolicy;
use etcd_proto::etcdserverpb::DefragmentRequest;

use super::endpoint::endpoints_from_cluster;
use super::{block_on, deadline_in, request, Conn, Ctx};
use crate::exit::{CmdResult, Exit, EXIT_ERROR};
use crate::out;

/// Why `--data-dir` (etcdctl's offline defragmentation of a stopped member's bbolt file)
/// cannot work here: this server keeps its data in RocksDB.
const OFFLINE_UNSUPPORTED: &str = "offline defragmentation is not supported for this server's \
     data format (RocksDB, not bbolt); defragment the running member instead (omit --data-dir)";

/// `etcdctl defrag`: a Defragment RPC to each endpoint in turn, over a direct dial.
pub fn run(ctx: &mut Ctx) -> CmdResult {
    let data_dir = ctx.flags.get_str("data-dir");
    if !data_dir.is_empty() {
        out::stderr(format!(
            "Failed to defragment etcd data[{data_dir}] ({OFFLINE_UNSUPPORTED})\n"
        ));
        return Err(Exit::silent(EXIT_ERROR));
    }
    let settings = ctx.settings()?;
    block_on(async {
        Conn::new(&settings.config).await?;
        let mut failures = 0;
        for ep in endpoints_from_cluster(ctx, &settings).await? {
            let deadline = deadline_in(settings.command_timeout);
            let conn = Conn::passthrough(&settings.config, &ep).await?;
            let maintenance = conn.client.maintenance();
            let res = conn
                .call(deadline, RetryPolicy::NonRepeatable, |left| {
                    let mut m = maintenance.clone();
                    async move { m.defragment(request(DefragmentRequest {}, left)).await }
                })
                .await;
            match res {
                Ok(_) => out::line(format!("Finished defragmenting etcd member[{ep}]")),
                Err(e) => {
                    failures += 1;
                    out::stderr(format!("Failed to defragment etcd member[{ep}] ({e})\n"));
                }
            }
        }
        if failures != 0 {
            return Err(Exit::silent(EXIT_ERROR));
        }
        Ok(())
    })
}
