//! `get`, `put` and `del`, and the request builders the txn parser shares with them
//! (etcdctl's `getGetOp`, `getPutOp`, `getDelOp`).

use std::io::Read;

use client::RetryPolicy;
use etcd_proto::etcdserverpb::range_request::{SortOrder, SortTarget};
use etcd_proto::etcdserverpb::{DeleteRangeRequest, PutRequest, RangeRequest};

use super::{block_on, deadline_in, request, rpc_error, Conn, Ctx};
use crate::cli::flags::FlagSet;
use crate::exit::{CmdResult, Exit, EXIT_BAD_ARGS, EXIT_BAD_FEATURE};
use crate::go::quote::quote;
use crate::go::strconv;

const BOTH_PREFIX_AND_FROM_KEY: &str =
    "`--prefix` and `--from-key` cannot be set at the same time, choose one";
const TOO_MANY_WITH_PREFIX: &str =
    "too many arguments, only accept one argument when `--prefix` or `--from-key` is set";

/// clientv3's `getPrefix` (one implementation, shared with the lock/election recipe).
pub use concurrency::prefix_end;

/// `getGetOp`.
pub fn get_op(args: &[String], fs: &FlagSet) -> Result<RangeRequest, Exit> {
    if args.is_empty() {
        return Err(Exit::error(
            EXIT_BAD_ARGS,
            "get command needs one argument as key and an optional argument as range_end",
        ));
    }
    let (prefix, from_key) = (fs.get_bool("prefix"), fs.get_bool("from-key"));
    if prefix && from_key {
        return Err(Exit::error(EXIT_BAD_ARGS, BOTH_PREFIX_AND_FROM_KEY));
    }
    let mut req = RangeRequest::default();
    match fs.get_str("consistency").as_str() {
        "s" => req.serializable = true,
        "l" => {}
        other => {
            return Err(Exit::error(
                EXIT_BAD_FEATURE,
                format!("unknown consistency flag {}", quote(other.as_bytes())),
            ))
        }
    }
    req.key = args[0].as_bytes().to_vec();
    if args.len() > 1 {
        if prefix || from_key {
            return Err(Exit::error(EXIT_BAD_ARGS, TOO_MANY_WITH_PREFIX));
        }
        req.range_end = args[1].as_bytes().to_vec();
    }
    req.limit = fs.get_int("limit");
    let rev = fs.get_int("rev");
    if rev > 0 {
        req.revision = rev;
    }
    let order_flag = fs.get_str("order");
    let mut order = match order_flag.to_uppercase().as_str() {
        "ASCEND" => SortOrder::Ascend,
        "DESCEND" => SortOrder::Descend,
        "" => SortOrder::None,
        _ => {
            return Err(Exit::error(
                EXIT_BAD_FEATURE,
                format!("bad sort order {order_flag}"),
            ))
        }
    };
    let target_flag = fs.get_str("sort-by");
    let target = match target_flag.to_uppercase().as_str() {
        "CREATE" => SortTarget::Create,
        "KEY" | "" => SortTarget::Key,
        "MODIFY" => SortTarget::Mod,
        "VALUE" => SortTarget::Value,
        "VERSION" => SortTarget::Version,
        _ => {
            return Err(Exit::error(
                EXIT_BAD_FEATURE,
                format!("bad sort target {target_flag}"),
            ))
        }
    };
    // clientv3.WithSort: the server already returns keys in ascending order.
    if target == SortTarget::Key && order == SortOrder::Ascend {
        order = SortOrder::None;
    }
    req.sort_order = order as i32;
    req.sort_target = target as i32;
    if prefix {
        if req.key.is_empty() {
            req.key = vec![0];
            req.range_end = vec![0];
        } else {
            req.range_end = prefix_end(&req.key);
        }
    }
    if from_key {
        if req.key.is_empty() {
            req.key = vec![0];
        }
        req.range_end = vec![0];
    }
    req.keys_only = fs.get_bool("keys-only");
    req.count_only = fs.get_bool("count-only");
    if req.keys_only && req.count_only {
        return Err(Exit::error(
            EXIT_BAD_ARGS,
            "`--keys-only` and `--count-only` cannot be set at the same time, choose one",
        ));
    }
    Ok(req)
}

/// `getPutOp`; `stdin` supplies the value when it is not an argument.
pub fn put_op(
    args: &[String],
    fs: &FlagSet,
    stdin: impl FnOnce() -> Vec<u8>,
) -> Result<PutRequest, Exit> {
    const NEEDS: &str = "put command needs 1 argument and input from stdin or 2 arguments";
    if args.is_empty() {
        return Err(Exit::error(EXIT_BAD_ARGS, NEEDS));
    }
    let ignore_value = fs.get_bool("ignore-value");
    if ignore_value && args.len() > 1 {
        return Err(Exit::error(
            EXIT_BAD_ARGS,
            "put command needs only 1 argument when 'ignore-value' is set",
        ));
    }
    let mut req = PutRequest {
        key: args[0].as_bytes().to_vec(),
        ..Default::default()
    };
    if !ignore_value {
        req.value = match args.get(1) {
            Some(v) => v.as_bytes().to_vec(),
            None => stdin(),
        };
        if args.len() < 2 && req.value.is_empty() {
            return Err(Exit::error(EXIT_BAD_ARGS, NEEDS));
        }
    }
    req.lease = strconv::parse_int(&fs.get_str("lease"), 16).map_err(|e| {
        Exit::error(
            EXIT_BAD_ARGS,
            format!("bad lease ID ({e}), expecting ID in Hex"),
        )
    })?;
    req.prev_kv = fs.get_bool("prev-kv");
    req.ignore_value = ignore_value;
    req.ignore_lease = fs.get_bool("ignore-lease");
    Ok(req)
}

/// `getDelOp`.
pub fn del_op(args: &[String], fs: &FlagSet) -> Result<DeleteRangeRequest, Exit> {
    if args.is_empty() || args.len() > 2 {
        return Err(Exit::error(
            EXIT_BAD_ARGS,
            "del command needs one argument as key and an optional argument as range_end",
        ));
    }
    let (prefix, from_key) = (fs.get_bool("prefix"), fs.get_bool("from-key"));
    if prefix && from_key {
        return Err(Exit::error(EXIT_BAD_ARGS, BOTH_PREFIX_AND_FROM_KEY));
    }
    let mut req = DeleteRangeRequest {
        key: args[0].as_bytes().to_vec(),
        ..Default::default()
    };
    if let Some(end) = args.get(1) {
        if prefix || from_key {
            return Err(Exit::error(EXIT_BAD_ARGS, TOO_MANY_WITH_PREFIX));
        }
        req.range_end = end.as_bytes().to_vec();
    }
    if prefix {
        if req.key.is_empty() {
            req.key = vec![0];
            req.range_end = vec![0];
        } else {
            req.range_end = prefix_end(&req.key);
        }
    }
    req.prev_kv = fs.get_bool("prev-kv");
    if from_key {
        if req.key.is_empty() {
            req.key = vec![0];
        }
        req.range_end = vec![0];
    }
    Ok(req)
}

/// All of stdin (Go's `ioutil.ReadAll(os.Stdin)`); empty on error.
pub fn read_stdin() -> Vec<u8> {
    let mut buf = Vec::new();
    if std::io::stdin().read_to_end(&mut buf).is_err() {
        buf.clear();
    }
    buf
}

/// `etcdctl get`.
pub fn get(ctx: &mut Ctx) -> CmdResult {
    let req = get_op(&ctx.args, &ctx.flags)?;
    let deadline = deadline_in(ctx.command_timeout());
    let settings = ctx.settings()?;
    let value_only = ctx.flags.get_bool("print-value-only");
    block_on(async {
        let conn = Conn::new(&settings.config).await?;
        let kv = conn.client.kv();
        let resp = conn
            .call(deadline, RetryPolicy::Repeatable, |left| {
                let (mut kv, req) = (kv.clone(), req.clone());
                async move { kv.range(request(req, left)).await }
            })
            .await
            .map_err(rpc_error)?
            .into_inner();
        let mut printer = settings.printer;
        // etcdctl 3.5's rule for its --count-only flag.
        if req.count_only && printer.format != crate::printer::Format::Fields {
            return Err(Exit::error(
                EXIT_BAD_ARGS,
                "--count-only is only for `--write-out=fields`",
            ));
        }
        if value_only {
            if printer.format != crate::printer::Format::Simple {
                return Err(Exit::error(
                    EXIT_BAD_ARGS,
                    "print-value-only is only for `--write-out=simple`",
                ));
            }
            printer.value_only = true;
        }
        printer.get(&resp)
    })
}

/// `etcdctl put`.
pub fn put(ctx: &mut Ctx) -> CmdResult {
    let req = put_op(&ctx.args, &ctx.flags, read_stdin)?;
    let deadline = deadline_in(ctx.command_timeout());
    let settings = ctx.settings()?;
    block_on(async {
        let conn = Conn::new(&settings.config).await?;
        let kv = conn.client.kv();
        let resp = conn
            .call(deadline, RetryPolicy::NonRepeatable, |left| {
                let (mut kv, req) = (kv.clone(), req.clone());
                async move { kv.put(request(req, left)).await }
            })
            .await
            .map_err(rpc_error)?
            .into_inner();
        settings.printer.put(&resp)
    })
}

/// `etcdctl del`.
pub fn del(ctx: &mut Ctx) -> CmdResult {
    let req = del_op(&ctx.args, &ctx.flags)?;
    let deadline = deadline_in(ctx.command_timeout());
    let settings = ctx.settings()?;
    block_on(async {
        let conn = Conn::new(&settings.config).await?;
        let kv = conn.client.kv();
        let resp = conn
            .call(deadline, RetryPolicy::NonRepeatable, |left| {
                let (mut kv, req) = (kv.clone(), req.clone());
                async move { kv.delete_range(request(req, left)).await }
            })
            .await
            .map_err(rpc_error)?
            .into_inner();
        settings.printer.del(&resp)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_end_like_clientv3() {
        assert_eq!(prefix_end(b"foo"), b"fop");
        assert_eq!(prefix_end(b"a\xff"), b"b");
        assert_eq!(prefix_end(b"\xff\xff"), vec![0]);
    }
}
