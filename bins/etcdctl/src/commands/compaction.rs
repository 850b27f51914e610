//! `etcdctl compaction [--physical] <revision>`.

use client::RetryPolicy;
use etcd_proto::etcdserverpb::CompactionRequest;

use super::{block_on, deadline_in, request, rpc_error, Conn, Ctx};
use crate::exit::{CmdResult, Exit, EXIT_BAD_ARGS, EXIT_ERROR};
use crate::go::strconv;
use crate::out;

pub fn run(ctx: &mut Ctx) -> CmdResult {
    if ctx.args.len() != 1 {
        return Err(Exit::error(
            EXIT_BAD_ARGS,
            "compaction command needs 1 argument",
        ));
    }
    let revision = strconv::parse_int(&ctx.args[0], 10).map_err(|e| Exit::error(EXIT_ERROR, e))?;
    let physical = ctx.flags.get_bool("physical");
    let settings = ctx.settings()?;
    block_on(async {
        let conn = Conn::new(&settings.config).await?;
        let deadline = deadline_in(settings.command_timeout);
        let kv = conn.client.kv();
        conn.call(deadline, RetryPolicy::NonRepeatable, |left| {
            let mut kv = kv.clone();
            let req = CompactionRequest { revision, physical };
            async move { kv.compact(request(req, left)).await }
        })
        .await
        .map_err(rpc_error)?;
        out::line(format!("compacted revision {revision}"));
        Ok(())
    })
}
