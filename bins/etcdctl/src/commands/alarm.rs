//! `etcdctl alarm list` and `etcdctl alarm disarm` (etcdctl's `alarm_command.go`):
//! disarming lists the alarms, then deactivates each (clientv3's `AlarmDisarm` with no
//! member and no type), printing the ones it cleared.

use client::RetryPolicy;
use etcd_proto::etcdserverpb::{
    alarm_request::AlarmAction, AlarmMember, AlarmRequest, AlarmResponse,
};
use tokio::time::Instant;

use super::{block_on, deadline_in, request, rpc_error, Conn, Ctx};
use crate::exit::{CmdResult, Exit, EXIT_BAD_ARGS};

/// Refuses positional arguments as etcdctl does.
fn no_args(ctx: &Ctx, command: &str) -> Result<(), Exit> {
    if ctx.args.is_empty() {
        return Ok(());
    }
    Err(Exit::error(
        EXIT_BAD_ARGS,
        format!("{command} command accepts no arguments"),
    ))
}

/// One Maintenance.Alarm call (clientv3 does not retry it).
async fn alarm(
    conn: &Conn,
    deadline: Option<Instant>,
    req: AlarmRequest,
) -> Result<AlarmResponse, Exit> {
    let maintenance = conn.client.maintenance();
    Ok(conn
        .call(deadline, RetryPolicy::NonRepeatable, |left| {
            let mut m = maintenance.clone();
            async move { m.alarm(request(req, left)).await }
        })
        .await
        .map_err(rpc_error)?
        .into_inner())
}

/// Every active alarm.
fn get_all() -> AlarmRequest {
    AlarmRequest {
        action: AlarmAction::Get as i32,
        member_id: 0,
        alarm: 0,
    }
}

pub fn list(ctx: &mut Ctx) -> CmdResult {
    no_args(ctx, "alarm list")?;
    let settings = ctx.settings()?;
    block_on(async {
        let conn = Conn::new(&settings.config).await?;
        let deadline = deadline_in(settings.command_timeout);
        let resp = alarm(&conn, deadline, get_all()).await?;
        settings.printer.alarm(&resp)
    })
}

pub fn disarm(ctx: &mut Ctx) -> CmdResult {
    no_args(ctx, "alarm disarm")?;
    let settings = ctx.settings()?;
    block_on(async {
        let conn = Conn::new(&settings.config).await?;
        let deadline = deadline_in(settings.command_timeout);
        let active = alarm(&conn, deadline, get_all()).await?;
        let mut cleared: Vec<AlarmMember> = Vec::new();
        for a in active.alarms {
            let req = AlarmRequest {
                action: AlarmAction::Deactivate as i32,
                member_id: a.member_id,
                alarm: a.alarm,
            };
            cleared.extend(alarm(&conn, deadline, req).await?.alarms);
        }
        settings.printer.alarm(&AlarmResponse {
            header: None,
            alarms: cleared,
        })
    })
}
