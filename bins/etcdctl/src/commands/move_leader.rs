//! `etcdctl move-leader <transferee-member-id>` (etcdctl's `move_leader_command.go`): finds
//! the leader among `--endpoints` with Status calls, then asks it to hand over.

use client::{ClientConfig, RetryPolicy};
use etcd_proto::etcdserverpb::MoveLeaderRequest;

use super::endpoint::status_of;
use super::{block_on, deadline_in, request, rpc_error, Conn, Ctx};
use crate::exit::{CmdResult, Exit, EXIT_BAD_ARGS};
use crate::go::strconv;

pub fn run(ctx: &mut Ctx) -> CmdResult {
    let [arg] = ctx.args.as_slice() else {
        return Err(Exit::error(
            EXIT_BAD_ARGS,
            "move-leader command needs 1 argument",
        ));
    };
    let target = strconv::parse_uint(arg, 16).map_err(|e| Exit::error(EXIT_BAD_ARGS, e))?;
    let settings = ctx.settings()?;
    block_on(async {
        let eps = Conn::new(&settings.config)
            .await?
            .client
            .endpoints()
            .to_vec();
        let deadline = deadline_in(settings.command_timeout);
        let mut leader = None;
        for ep in &eps {
            let cfg = ClientConfig {
                endpoints: vec![ep.clone()],
                ..settings.config.clone()
            };
            let conn = Conn::new(&cfg).await?;
            let status = status_of(&cfg, ep, deadline).await?.map_err(rpc_error)?;
            if status.header.map_or(0, |h| h.member_id) == status.leader {
                leader = Some((conn, status.leader));
                break;
            }
        }
        let Some((conn, leader_id)) = leader else {
            // Go's `%v` of a []string: `[a b]`.
            return Err(Exit::error(
                EXIT_BAD_ARGS,
                format!("no leader endpoint given at [{}]", eps.join(" ")),
            ));
        };
        let maintenance = conn.client.maintenance();
        let resp = conn
            .call(deadline, RetryPolicy::Repeatable, |left| {
                let mut m = maintenance.clone();
                let req = MoveLeaderRequest { target_id: target };
                async move { m.move_leader(request(req, left)).await }
            })
            .await
            .map_err(rpc_error)?
            .into_inner();
        settings.printer.move_leader(leader_id, target, &resp)
    })
}
