//! `etcdctl auth enable|disable` (etcdctl's `auth_command.go`), and the way every `auth`,
//! `user` and `role` command runs its Auth RPCs.

use std::future::Future;

use client::messages::ROOT_ROLE_NOT_EXIST;
use client::{RetryPolicy, Svc};
use etcd_proto::etcdserverpb::auth_client::AuthClient;
use etcd_proto::etcdserverpb::{
    AuthDisableRequest, AuthEnableRequest, AuthRoleAddRequest, AuthUserGrantRoleRequest,
};
use tokio::time::Instant;

use super::{block_on, deadline_in, request, rpc_error, Conn, Ctx, Settings};
use crate::exit::{CmdResult, Exit, EXIT_BAD_ARGS};
use crate::out;

/// Runs one Auth RPC until `deadline` (`None` for etcdctl's `context.TODO()`), with
/// clientv3's retries; a failure exits 1 with the error.
pub(super) async fn rpc<Req, Resp, F, Fut>(
    conn: &Conn,
    deadline: Option<Instant>,
    policy: RetryPolicy,
    req: Req,
    call: F,
) -> Result<Resp, Exit>
where
    Req: Clone,
    F: Fn(AuthClient<Svc>, tonic::Request<Req>) -> Fut,
    Fut: Future<Output = Result<tonic::Response<Resp>, tonic::Status>>,
{
    rpc_raw(conn, deadline, policy, req, call)
        .await
        .map_err(rpc_error)
}

/// [`rpc`] returning the client error itself.
async fn rpc_raw<Req, Resp, F, Fut>(
    conn: &Conn,
    deadline: Option<Instant>,
    policy: RetryPolicy,
    req: Req,
    call: F,
) -> Result<Resp, client::Error>
where
    Req: Clone,
    F: Fn(AuthClient<Svc>, tonic::Request<Req>) -> Fut,
    Fut: Future<Output = Result<tonic::Response<Resp>, tonic::Status>>,
{
    let auth = conn.client.auth();
    let resp = conn
        .call(deadline, policy, |left| {
            call(auth.clone(), request(req.clone(), left))
        })
        .await?;
    Ok(resp.into_inner())
}

/// The arguments, which must be exactly `n`, or `msg` (exit 128).
pub(super) fn args<'a>(ctx: &'a Ctx, n: usize, msg: &str) -> Result<&'a [String], Exit> {
    if ctx.args.len() == n {
        Ok(&ctx.args)
    } else {
        Err(Exit::error(EXIT_BAD_ARGS, msg))
    }
}

/// Exactly one argument, or `msg` (exit 128).
pub(super) fn one_arg(ctx: &Ctx, msg: &str) -> Result<String, Exit> {
    Ok(args(ctx, 1, msg)?[0].clone())
}

/// Exactly two arguments, or `msg` (exit 128).
pub(super) fn two_args(ctx: &Ctx, msg: &str) -> Result<(String, String), Exit> {
    let a = args(ctx, 2, msg)?;
    Ok((a[0].clone(), a[1].clone()))
}

/// Connects as `mustClientFromCmd` does and runs `f` with the client.
pub(super) fn with_conn<F, Fut>(ctx: &mut Ctx, f: F) -> CmdResult
where
    F: FnOnce(Conn, Settings) -> Fut,
    Fut: Future<Output = CmdResult>,
{
    let settings = ctx.settings()?;
    block_on(async {
        let conn = Conn::new(&settings.config).await?;
        f(conn, settings).await
    })
}

/// `etcdctl auth enable`: when the root user lacks the root role, etcdctl creates the role,
/// grants it and tries again.
pub fn enable(ctx: &mut Ctx) -> CmdResult {
    args(ctx, 0, "auth enable command does not accept any arguments")?;
    let deadline = deadline_in(ctx.command_timeout());
    with_conn(ctx, |conn, _| async move {
        let policy = RetryPolicy::NonRepeatable;
        loop {
            let enable = |mut c: AuthClient<Svc>, r| async move { c.auth_enable(r).await };
            match rpc_raw(&conn, deadline, policy, AuthEnableRequest {}, enable).await {
                Ok(_) => break,
                Err(e) if e.is_etcd(ROOT_ROLE_NOT_EXIST) => {}
                Err(e) => return Err(rpc_error(e)),
            }
            let role = AuthRoleAddRequest {
                name: "root".to_string(),
            };
            rpc(&conn, deadline, policy, role, |mut c, r| async move {
                c.role_add(r).await
            })
            .await?;
            let grant = AuthUserGrantRoleRequest {
                user: "root".to_string(),
                role: "root".to_string(),
            };
            rpc(&conn, deadline, policy, grant, |mut c, r| async move {
                c.user_grant_role(r).await
            })
            .await?;
        }
        out::line("Authentication Enabled");
        Ok(())
    })
}

/// `etcdctl auth disable`.
pub fn disable(ctx: &mut Ctx) -> CmdResult {
    args(ctx, 0, "auth disable command does not accept any arguments")?;
    let deadline = deadline_in(ctx.command_timeout());
    with_conn(ctx, |conn, _| async move {
        let policy = RetryPolicy::NonRepeatable;
        rpc(
            &conn,
            deadline,
            policy,
            AuthDisableRequest {},
            |mut c, r| async move { c.auth_disable(r).await },
        )
        .await?;
        out::line("Authentication Disabled");
        Ok(())
    })
}
