//! `etcdctl role add|delete|get|list|grant-permission|revoke-permission` (etcdctl's
//! `role_command.go`), with its way of turning a key, an optional range end, `--prefix`
//! and `--from-key` into a permission range.

use client::RetryPolicy::{NonRepeatable, Repeatable};
use etcd_proto::authpb::{permission, Permission};
use etcd_proto::etcdserverpb::{
    AuthRoleAddRequest, AuthRoleDeleteRequest, AuthRoleGetRequest, AuthRoleGrantPermissionRequest,
    AuthRoleListRequest, AuthRoleRevokePermissionRequest,
};

use super::auth::{args, one_arg, rpc, with_conn};
use super::kv::prefix_end;
use super::Ctx;
use crate::exit::{CmdResult, Exit, EXIT_BAD_ARGS};

const EXCLUSIVE: &str = "--from-key and --prefix flags are mutually exclusive";

/// `etcdctl role add <role>`.
pub fn add(ctx: &mut Ctx) -> CmdResult {
    let name = one_arg(ctx, "role add command requires role name as its argument")?;
    let req = AuthRoleAddRequest { name: name.clone() };
    with_conn(ctx, |conn, settings| async move {
        let resp = rpc(&conn, None, NonRepeatable, req, |mut c, r| async move {
            c.role_add(r).await
        })
        .await?;
        settings.printer.role_add(&name, &resp)
    })
}

/// `etcdctl role delete <role>`.
pub fn delete(ctx: &mut Ctx) -> CmdResult {
    let role = one_arg(
        ctx,
        "role delete command requires role name as its argument",
    )?;
    let req = AuthRoleDeleteRequest { role: role.clone() };
    with_conn(ctx, |conn, settings| async move {
        let resp = rpc(&conn, None, NonRepeatable, req, |mut c, r| async move {
            c.role_delete(r).await
        })
        .await?;
        settings.printer.role_delete(&role, &resp)
    })
}

/// `etcdctl role get <role>`.
pub fn get(ctx: &mut Ctx) -> CmdResult {
    let role = one_arg(ctx, "role get command requires role name as its argument")?;
    let req = AuthRoleGetRequest { role: role.clone() };
    with_conn(ctx, |conn, settings| async move {
        let resp = rpc(&conn, None, Repeatable, req, |mut c, r| async move {
            c.role_get(r).await
        })
        .await?;
        settings.printer.role_get(&role, &resp)
    })
}

/// `etcdctl role list`.
pub fn list(ctx: &mut Ctx) -> CmdResult {
    args(ctx, 0, "role list command requires no arguments")?;
    with_conn(ctx, |conn, settings| async move {
        let resp = rpc(
            &conn,
            None,
            Repeatable,
            AuthRoleListRequest {},
            |mut c, r| async move { c.role_list(r).await },
        )
        .await?;
        settings.printer.role_list(&resp)
    })
}

/// clientv3's `StrToPermissionType`.
fn permission_type(s: &str) -> Result<permission::Type, Exit> {
    permission::Type::from_str_name(&s.to_uppercase())
        .ok_or_else(|| Exit::error(EXIT_BAD_ARGS, format!("invalid permission type: {s}")))
}

/// etcdctl's `permRange`: the key and range end for `args` (key, optional end). An empty
/// key becomes `\0` (with `--prefix` or `--from-key`, the whole key space).
fn perm_range(args: &[String], prefix: bool, from_key: bool) -> Result<(Vec<u8>, Vec<u8>), Exit> {
    let bad = |msg: &str| Exit::error(EXIT_BAD_ARGS, msg);
    let key = args[0].as_bytes().to_vec();
    if key.is_empty() {
        if prefix && from_key {
            return Err(bad(EXCLUSIVE));
        }
        let end = if prefix || from_key { vec![0] } else { vec![] };
        return Ok((vec![0], end));
    }
    let end = match (args.get(1), prefix, from_key) {
        (None, true, true) => return Err(bad(EXCLUSIVE)),
        (None, true, false) => prefix_end(&key),
        (None, false, true) => vec![0],
        (None, false, false) => vec![],
        (Some(_), true, _) => return Err(bad("unexpected endkey argument with --prefix flag")),
        (Some(_), _, true) => return Err(bad("unexpected endkey argument with --from-key flag")),
        (Some(end), false, false) => end.as_bytes().to_vec(),
    };
    Ok((key, end))
}

fn perm_flags(ctx: &Ctx) -> (bool, bool) {
    (ctx.flags.get_bool("prefix"), ctx.flags.get_bool("from-key"))
}

/// `etcdctl role grant-permission [--prefix|--from-key] <role> <type> <key> [end]`.
pub fn grant_permission(ctx: &mut Ctx) -> CmdResult {
    if ctx.args.len() < 3 {
        return Err(Exit::error(
            EXIT_BAD_ARGS,
            "role grant command requires role name, permission type, and key [endkey] as its argument",
        ));
    }
    let perm_type = permission_type(&ctx.args[1])?;
    let (prefix, from_key) = perm_flags(ctx);
    let (key, range_end) = perm_range(&ctx.args[2..], prefix, from_key)?;
    let name = ctx.args[0].clone();
    let req = AuthRoleGrantPermissionRequest {
        name: name.clone(),
        perm: Some(Permission {
            perm_type: perm_type as i32,
            key,
            range_end,
        }),
    };
    with_conn(ctx, |conn, settings| async move {
        let resp = rpc(&conn, None, NonRepeatable, req, |mut c, r| async move {
            c.role_grant_permission(r).await
        })
        .await?;
        settings.printer.role_grant_permission(&name, &resp)
    })
}

/// `etcdctl role revoke-permission [--prefix|--from-key] <role> <key> [end]`.
pub fn revoke_permission(ctx: &mut Ctx) -> CmdResult {
    if ctx.args.len() < 2 {
        return Err(Exit::error(
            EXIT_BAD_ARGS,
            "role revoke-permission command requires role name and key [endkey] as its argument",
        ));
    }
    let (prefix, from_key) = perm_flags(ctx);
    let (key, range_end) = perm_range(&ctx.args[1..], prefix, from_key)?;
    let (role, shown_key) = (ctx.args[0].clone(), ctx.args[1].clone());
    let req = AuthRoleRevokePermissionRequest {
        role: role.clone(),
        key,
        range_end: range_end.clone(),
    };
    with_conn(ctx, |conn, settings| async move {
        let resp = rpc(&conn, None, NonRepeatable, req, |mut c, r| async move {
            c.role_revoke_permission(r).await
        })
        .await?;
        let printer = settings.printer;
        printer.role_revoke_permission(&role, shown_key.as_bytes(), &range_end, &resp)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(args: &[&str], prefix: bool, from_key: bool) -> Result<(Vec<u8>, Vec<u8>), String> {
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        perm_range(&args, prefix, from_key).map_err(|e| e.stderr)
    }

    #[test]
    fn permission_ranges_as_etcdctl_builds_them() {
        assert_eq!(range(&["a"], false, false), Ok((b"a".to_vec(), vec![])));
        assert_eq!(
            range(&["a", "c"], false, false),
            Ok((b"a".to_vec(), b"c".to_vec()))
        );
        assert_eq!(
            range(&["a\u{7f}"], true, false),
            Ok((b"a\x7f".to_vec(), b"a\x80".to_vec()))
        );
        assert_eq!(range(&["a"], false, true), Ok((b"a".to_vec(), vec![0])));
        assert_eq!(range(&[""], false, false), Ok((vec![0], vec![])));
        assert_eq!(range(&["", "z"], true, false), Ok((vec![0], vec![0])));
        assert_eq!(
            range(&["a", "b"], true, false),
            Err("Error: unexpected endkey argument with --prefix flag\n".to_string())
        );
        assert_eq!(
            range(&[""], true, true),
            Err(format!("Error: {EXCLUSIVE}\n"))
        );
    }

    #[test]
    fn permission_types_ignore_case() {
        assert_eq!(
            permission_type("readwrite").ok(),
            Some(permission::Type::Readwrite)
        );
        assert_eq!(
            permission_type("admin").err().map(|e| e.stderr),
            Some("Error: invalid permission type: admin\n".to_string())
        );
    }
}
