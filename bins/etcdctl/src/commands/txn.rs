//! `etcdctl txn`: compares, success and failure requests read from stdin (each section
//! ends with an empty line), optionally with interactive prompts.

use std::io::{BufRead, BufReader, Read, Stdin};

use client::RetryPolicy;
use etcd_proto::etcdserverpb::{Compare, RequestOp, TxnRequest};

use super::txn_parse::{parse_compare, parse_request, trim_space};
use super::{block_on, request, rpc_error, Conn, Ctx};
use crate::exit::{CmdResult, Exit, EXIT_BAD_ARGS, EXIT_INVALID_INPUT};
use crate::out;

/// Go's `bufio.NewReader(os.Stdin)` (4096-byte buffer).
type Input = BufReader<Stdin>;

/// `ReadString('\n')`: a full line, or Go's error (`EOF` for a last line without newline).
fn read_line(r: &mut Input) -> Result<Vec<u8>, Exit> {
    let mut line = Vec::new();
    match r.read_until(b'\n', &mut line) {
        Ok(_) if line.last() == Some(&b'\n') => Ok(line),
        Ok(_) => Err(Exit::error(EXIT_INVALID_INPUT, "EOF")),
        Err(e) => Err(Exit::error(EXIT_INVALID_INPUT, e)),
    }
}

/// What is left of stdin past the buffered reader (`ioutil.ReadAll(os.Stdin)`).
fn rest_of_stdin(r: &mut Input) -> Vec<u8> {
    let mut rest = Vec::new();
    if r.get_mut().read_to_end(&mut rest).is_err() {
        rest.clear();
    }
    rest
}

fn read_compares(r: &mut Input) -> Result<Vec<Compare>, Exit> {
    let mut cmps = Vec::new();
    loop {
        let line = read_line(r)?;
        let line = trim_space(&line);
        if line.is_empty() {
            return Ok(cmps);
        }
        cmps.push(parse_compare(line)?);
    }
}

fn read_ops(r: &mut Input) -> Result<Vec<RequestOp>, Exit> {
    let mut ops = Vec::new();
    loop {
        let raw = read_line(r)?;
        let line = trim_space(&raw);
        if line.is_empty() {
            return Ok(ops);
        }
        ops.push(parse_request(line, || rest_of_stdin(r))?);
    }
}

/// `etcdctl txn [-i]`.
pub fn run(ctx: &mut Ctx) -> CmdResult {
    if !ctx.args.is_empty() {
        return Err(Exit::error(
            EXIT_BAD_ARGS,
            "txn command does not accept argument",
        ));
    }
    let interactive = ctx.flags.get_bool("interactive");
    let prompt = |s: &str| {
        if interactive {
            out::line(s);
        }
    };
    let settings = ctx.settings()?;
    block_on(async {
        let conn = Conn::new(&settings.config).await?;
        let mut input = BufReader::with_capacity(4096, std::io::stdin());
        prompt("compares:");
        let compare = read_compares(&mut input)?;
        prompt("success requests (get, put, del):");
        let success = read_ops(&mut input)?;
        prompt("failure requests (get, put, del):");
        let failure = read_ops(&mut input)?;
        let req = TxnRequest {
            compare,
            success,
            failure,
        };
        let kv = conn.client.kv();
        // etcdctl commits with context.Background(): no deadline.
        let resp = conn
            .call(None, RetryPolicy::NonRepeatable, |left| {
                let (mut kv, req) = (kv.clone(), req.clone());
                async move { kv.txn(request(req, left)).await }
            })
            .await
            .map_err(rpc_error)?
            .into_inner();
        settings.printer.txn(&resp)
    })
}
