//! `etcdctl member add|remove|update|list|promote` (etcdctl's `member_command.go`, with
//! clientv3's peer URL check).

use std::future::Future;

use client::{RetryPolicy, Svc};
use etcd_proto::etcdserverpb::cluster_client::ClusterClient;
use etcd_proto::etcdserverpb::{
    MemberAddRequest, MemberAddResponse, MemberListRequest, MemberPromoteRequest,
    MemberRemoveRequest, MemberUpdateRequest,
};

use super::{block_on, deadline_in, request, rpc_error, Conn, Ctx, Settings};
use crate::exit::{CmdResult, Exit, EXIT_BAD_ARGS, EXIT_ERROR};
use crate::go::quote::quote;
use crate::go::{strconv, url};
use crate::out;
use crate::printer::Format;

/// Runs one Cluster RPC as the member commands do: the `--command-timeout` deadline starts
/// before the client is made, `check` runs once the client exists (clientv3 validates
/// peer URLs there), and a failure exits 1.
fn cluster_rpc<Req, Resp, F, Fut>(
    ctx: &mut Ctx,
    policy: RetryPolicy,
    check: impl FnOnce() -> Result<(), String>,
    req: Req,
    call: F,
) -> Result<(Settings, Resp), Exit>
where
    Req: Clone,
    F: Fn(ClusterClient<Svc>, tonic::Request<Req>) -> Fut,
    Fut: Future<Output = Result<tonic::Response<Resp>, tonic::Status>>,
{
    let deadline = deadline_in(ctx.command_timeout());
    let settings = ctx.settings()?;
    let resp = block_on(async {
        let conn = Conn::new(&settings.config).await?;
        check().map_err(|e| Exit::error(EXIT_ERROR, e))?;
        let cluster = conn.client.cluster();
        let resp = conn
            .call(deadline, policy, |left| {
                call(cluster.clone(), request(req.clone(), left))
            })
            .await
            .map_err(rpc_error)?;
        Ok(resp.into_inner())
    })?;
    Ok((settings, resp))
}

/// The member ID argument in hexadecimal (`remove`, `update`, `promote`).
fn member_id_arg(ctx: &Ctx) -> Result<u64, Exit> {
    let [arg] = ctx.args.as_slice() else {
        return Err(Exit::error(EXIT_BAD_ARGS, "member ID is not provided"));
    };
    strconv::parse_uint(arg, 16).map_err(|e| {
        Exit::error(
            EXIT_BAD_ARGS,
            format!("bad member ID arg ({e}), expecting ID in Hex"),
        )
    })
}

/// `--peer-urls`, split at commas; exit 128 when not given.
fn peer_urls_flag(ctx: &Ctx) -> Result<(String, Vec<String>), Exit> {
    let flag = ctx.flags.get_str("peer-urls");
    if flag.is_empty() {
        return Err(Exit::error(EXIT_BAD_ARGS, "member peer urls not provided"));
    }
    let urls = flag.split(',').map(str::to_string).collect();
    Ok((flag, urls))
}

/// etcd's `types.NewURLs`, which clientv3 runs on peer URLs before sending them.
fn check_peer_urls(urls: &[String]) -> Result<(), String> {
    if urls.is_empty() {
        return Err("no valid URLs given".to_string());
    }
    for raw in urls {
        let s = raw.trim();
        let u = url::parse(s)?;
        if !matches!(u.scheme.as_str(), "http" | "https" | "unix" | "unixs") {
            return Err(format!(
                "URL scheme must be http, https, unix, or unixs: {s}"
            ));
        }
        if url::split_host_port(&u.host).is_err() {
            return Err(format!(
                "URL address does not have the form \"host:port\": {s}"
            ));
        }
        if !u.path.is_empty() {
            return Err(format!("URL must not contain a path: {s}"));
        }
    }
    Ok(())
}

/// `etcdctl member list`.
pub fn list(ctx: &mut Ctx) -> CmdResult {
    let (settings, resp) = cluster_rpc(
        ctx,
        RetryPolicy::Repeatable,
        || Ok(()),
        MemberListRequest {},
        |mut c, r| async move { c.member_list(r).await },
    )?;
    settings.printer.member_list(&resp)
}

/// `etcdctl member add <name> --peer-urls=... [--learner]`.
pub fn add(ctx: &mut Ctx) -> CmdResult {
    let name = match ctx.args.as_slice() {
        [] => return Err(Exit::error(EXIT_BAD_ARGS, "member name not provided")),
        [name] => name.clone(),
        args => {
            let mut ev = String::from("too many arguments");
            for s in args.iter().filter(|s| s.to_lowercase().starts_with("http")) {
                ev.push_str(&format!(", did you mean --peer-urls={s}"));
            }
            return Err(Exit::error(EXIT_BAD_ARGS, ev));
        }
    };
    let (flag, urls) = peer_urls_flag(ctx)?;
    let req = MemberAddRequest {
        peer_ur_ls: urls.clone(),
        is_learner: ctx.flags.get_bool("learner"),
    };
    let (settings, resp) = cluster_rpc(
        ctx,
        RetryPolicy::NonRepeatable,
        || check_peer_urls(&urls),
        req,
        |mut c, r| async move { c.member_add(r).await },
    )?;
    settings.printer.member_add(&resp)?;
    if settings.printer.format == Format::Simple {
        print_env(&name, &flag, &resp);
    }
    Ok(())
}

/// The settings a new member starts with, after `member add` in the simple format.
fn print_env(name: &str, peer_urls: &str, resp: &MemberAddResponse) {
    let new_id = resp.member.as_ref().map_or(0, |m| m.id);
    let conf: Vec<String> = resp
        .members
        .iter()
        .flat_map(|m| {
            let n = if m.id == new_id { name } else { &m.name };
            m.peer_ur_ls.iter().map(move |u| format!("{n}={u}"))
        })
        .collect();
    let q = |s: &str| quote(s.as_bytes());
    out::stdout(format!(
        "\nETCD_NAME={}\nETCD_INITIAL_CLUSTER={}\nETCD_INITIAL_ADVERTISE_PEER_URLS={}\nETCD_INITIAL_CLUSTER_STATE=\"existing\"\n",
        q(name),
        q(&conf.join(",")),
        q(peer_urls)
    ));
}

/// `etcdctl member remove <id>`.
pub fn remove(ctx: &mut Ctx) -> CmdResult {
    let id = member_id_arg(ctx)?;
    let (settings, resp) = cluster_rpc(
        ctx,
        RetryPolicy::NonRepeatable,
        || Ok(()),
        MemberRemoveRequest { id },
        |mut c, r| async move { c.member_remove(r).await },
    )?;
    settings.printer.member_remove(id, &resp)
}

/// `etcdctl member update <id> --peer-urls=...`.
pub fn update(ctx: &mut Ctx) -> CmdResult {
    let id = member_id_arg(ctx)?;
    let (_, urls) = peer_urls_flag(ctx)?;
    let req = MemberUpdateRequest {
        id,
        peer_ur_ls: urls.clone(),
    };
    let (settings, resp) = cluster_rpc(
        ctx,
        RetryPolicy::NonRepeatable,
        || check_peer_urls(&urls),
        req,
        |mut c, r| async move { c.member_update(r).await },
    )?;
    settings.printer.member_update(id, &resp)
}

/// `etcdctl member promote <id>`.
pub fn promote(ctx: &mut Ctx) -> CmdResult {
    let id = member_id_arg(ctx)?;
    let (settings, resp) = cluster_rpc(
        ctx,
        RetryPolicy::NonRepeatable,
        || Ok(()),
        MemberPromoteRequest { id },
        |mut c, r| async move { c.member_promote(r).await },
    )?;
    settings.printer.member_promote(id, &resp)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn urls(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn peer_url_checks_match_etcd() {
        assert_eq!(
            check_peer_urls(&urls(&["http://127.0.0.1:2380", " https://a:1 "])),
            Ok(())
        );
        assert_eq!(check_peer_urls(&urls(&["unix://a:1"])), Ok(()));
        assert_eq!(
            check_peer_urls(&urls(&["foo"])).unwrap_err(),
            "URL scheme must be http, https, unix, or unixs: foo"
        );
        assert_eq!(
            check_peer_urls(&urls(&["http://a:1", ""])).unwrap_err(),
            "URL scheme must be http, https, unix, or unixs: "
        );
        assert_eq!(
            check_peer_urls(&urls(&["http://127.0.0.1"])).unwrap_err(),
            "URL address does not have the form \"host:port\": http://127.0.0.1"
        );
        assert_eq!(
            check_peer_urls(&urls(&["http://127.0.0.1:1/p"])).unwrap_err(),
            "URL must not contain a path: http://127.0.0.1:1/p"
        );
        assert_eq!(
            check_peer_urls(&urls(&[":foo"])).unwrap_err(),
            "parse \":foo\": missing protocol scheme"
        );
    }
}
