//! `etcdctl member list`.

use client::RetryPolicy;
use etcd_proto::etcdserverpb::MemberListRequest;

use super::{block_on, deadline_in, request, rpc_error, Conn, Ctx};
use crate::exit::CmdResult;

pub fn list(ctx: &mut Ctx) -> CmdResult {
    let deadline = deadline_in(ctx.command_timeout());
    let settings = ctx.settings()?;
    block_on(async {
        let conn = Conn::new(&settings.config).await?;
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
            .map_err(rpc_error)?
            .into_inner();
        settings.printer.member_list(&resp)
    })
}
