//! `etcdctl user add|delete|get|list|passwd|grant-role|revoke-role` (etcdctl's
//! `user_command.go`). Passwords are read before connecting, as etcdctl does.

use client::RetryPolicy::{NonRepeatable, Repeatable};
use etcd_proto::authpb::UserAddOptions;
use etcd_proto::etcdserverpb::{
    AuthRoleGetRequest, AuthUserAddRequest, AuthUserChangePasswordRequest, AuthUserDeleteRequest,
    AuthUserGetRequest, AuthUserGrantRoleRequest, AuthUserListRequest, AuthUserRevokeRoleRequest,
};

use super::auth::{args, one_arg, rpc, two_args, with_conn};
use super::{password, Ctx};
use crate::exit::{CmdResult, Exit, EXIT_BAD_ARGS};
use crate::out;

/// `readPasswordInteractive`: the password twice, without echo.
fn read_password_interactive(name: &str) -> Result<String, Exit> {
    let ask = |prompt: String| {
        password::ask(&prompt)
            .map_err(|e| Exit::error(EXIT_BAD_ARGS, format!("failed to ask password: {e}")))
    };
    let first = ask(format!("Password of {name}: "))?;
    if first.is_empty() {
        return Err(Exit::error(EXIT_BAD_ARGS, "empty password"));
    }
    let second = ask(format!("Type password of {name} again for confirmation: "))?;
    if first != second {
        return Err(Exit::error(EXIT_BAD_ARGS, "given passwords are different"));
    }
    Ok(first)
}

/// The new password of `name`: from stdin (`--interactive=false`) or asked twice.
fn new_password(ctx: &Ctx, name: &str) -> Result<String, Exit> {
    if ctx.flags.get_bool("interactive") {
        read_password_interactive(name)
    } else {
        Ok(password::scan_stdin())
    }
}

/// `etcdctl user add <name or name:password>`.
pub fn add(ctx: &mut Ctx) -> CmdResult {
    let arg = one_arg(ctx, "user add command requires user name as its argument")?;
    let no_password = ctx.flags.get_bool("no-password");
    let from_flag = ctx.flags.get_str("new-user-password");
    let (name, password) = if no_password {
        (arg, String::new())
    } else if !from_flag.is_empty() {
        (arg, from_flag)
    } else if let Some((name, password)) = arg.split_once(':') {
        if name.is_empty() {
            return Err(Exit::error(EXIT_BAD_ARGS, "empty user name is not allowed"));
        }
        (name.to_string(), password.to_string())
    } else {
        let password = new_password(ctx, &arg)?;
        (arg, password)
    };
    let req = AuthUserAddRequest {
        name: name.clone(),
        password,
        options: Some(UserAddOptions { no_password }),
        ..Default::default()
    };
    with_conn(ctx, |conn, settings| async move {
        let resp = rpc(&conn, None, NonRepeatable, req, |mut c, r| async move {
            c.user_add(r).await
        })
        .await?;
        settings.printer.user_add(&name, &resp)
    })
}

/// `etcdctl user delete <name>`.
pub fn delete(ctx: &mut Ctx) -> CmdResult {
    let msg = "user delete command requires user name as its argument";
    let name = one_arg(ctx, msg)?;
    let req = AuthUserDeleteRequest { name: name.clone() };
    with_conn(ctx, |conn, settings| async move {
        let resp = rpc(&conn, None, NonRepeatable, req, |mut c, r| async move {
            c.user_delete(r).await
        })
        .await?;
        settings.printer.user_delete(&name, &resp)
    })
}

/// `etcdctl user get <name> [--detail]`: with `--detail`, every granted role as `role get`
/// prints it.
pub fn get(ctx: &mut Ctx) -> CmdResult {
    let name = one_arg(ctx, "user get command requires user name as its argument")?;
    let detail = ctx.flags.get_bool("detail");
    let req = AuthUserGetRequest { name: name.clone() };
    with_conn(ctx, |conn, settings| async move {
        let resp = rpc(&conn, None, Repeatable, req, |mut c, r| async move {
            c.user_get(r).await
        })
        .await?;
        if !detail {
            return settings.printer.user_get(&name, &resp);
        }
        out::line(format!("User: {name}"));
        for role in &resp.roles {
            out::line("");
            let req = AuthRoleGetRequest { role: role.clone() };
            let role_resp = rpc(&conn, None, Repeatable, req, |mut c, r| async move {
                c.role_get(r).await
            })
            .await?;
            settings.printer.role_get(role, &role_resp)?;
        }
        Ok(())
    })
}

/// `etcdctl user list`.
pub fn list(ctx: &mut Ctx) -> CmdResult {
    args(ctx, 0, "user list command requires no arguments")?;
    with_conn(ctx, |conn, settings| async move {
        let resp = rpc(
            &conn,
            None,
            Repeatable,
            AuthUserListRequest {},
            |mut c, r| async move { c.user_list(r).await },
        )
        .await?;
        settings.printer.user_list(&resp)
    })
}

/// `etcdctl user passwd <name>`.
pub fn passwd(ctx: &mut Ctx) -> CmdResult {
    let msg = "user passwd command requires user name as its argument";
    let name = one_arg(ctx, msg)?;
    let password = new_password(ctx, &name)?;
    let req = AuthUserChangePasswordRequest {
        name,
        password,
        ..Default::default()
    };
    with_conn(ctx, |conn, settings| async move {
        let resp = rpc(&conn, None, NonRepeatable, req, |mut c, r| async move {
            c.user_change_password(r).await
        })
        .await?;
        settings.printer.user_change_password(&resp)
    })
}

/// `etcdctl user grant-role <name> <role>`.
pub fn grant_role(ctx: &mut Ctx) -> CmdResult {
    let msg = "user grant command requires user name and role name as its argument";
    let (user, role) = two_args(ctx, msg)?;
    let req = AuthUserGrantRoleRequest {
        user: user.clone(),
        role: role.clone(),
    };
    with_conn(ctx, |conn, settings| async move {
        let resp = rpc(&conn, None, NonRepeatable, req, |mut c, r| async move {
            c.user_grant_role(r).await
        })
        .await?;
        settings.printer.user_grant_role(&user, &role, &resp)
    })
}

/// `etcdctl user revoke-role <name> <role>`.
pub fn revoke_role(ctx: &mut Ctx) -> CmdResult {
    let msg = "user revoke-role requires user name and role name as its argument";
    let (name, role) = two_args(ctx, msg)?;
    let req = AuthUserRevokeRoleRequest {
        name: name.clone(),
        role: role.clone(),
    };
    with_conn(ctx, |conn, settings| async move {
        let resp = rpc(&conn, None, NonRepeatable, req, |mut c, r| async move {
            c.user_revoke_role(r).await
        })
        .await?;
        settings.printer.user_revoke_role(&name, &role, &resp)
    })
}
