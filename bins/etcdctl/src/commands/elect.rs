//! `etcdctl elect <election-name> [proposal]` (etcdctl's `elect_command.go`): campaigns with
//! the proposal on a session of 60 s and prints the leader key and value once elected, then
//! resigns on SIGINT/SIGTERM; with `-l` it prints each leader's key and value as the
//! leadership or the proclaimed value changes.

use std::sync::Arc;

use concurrency::{CancellationToken, Election, Session, Store as _, DEFAULT_SESSION_TTL};
use etcd_proto::etcdserverpb::RangeRequest;

use super::recipe::{fail, store, Interrupt, Store};
use super::{block_on, Conn, Ctx};
use crate::exit::{CmdResult, Exit, EXIT_BAD_ARGS};
use crate::printer::Printer;

/// `etcdctl elect`.
pub fn run(ctx: &mut Ctx) -> CmdResult {
    if ctx.args.len() != 1 && ctx.args.len() != 2 {
        return Err(Exit::error(
            EXIT_BAD_ARGS,
            "elect takes one election name argument and an optional proposal argument",
        ));
    }
    let listen = ctx.flags.get_bool("listen");
    let settings = ctx.settings()?;
    let args = ctx.args.clone();
    block_on(async move {
        let conn = Conn::new(&settings.config).await?;
        let store = store(conn);
        let name = &args[0];
        match (args.get(1), listen) {
            (None, false) => Err(Exit::error(
                EXIT_BAD_ARGS,
                "no proposal argument but -l not set",
            )),
            (None, true) => observe(store, settings.printer, name).await,
            (Some(_), true) => Err(Exit::error(EXIT_BAD_ARGS, "proposal given but -l is set")),
            (Some(proposal), false) => campaign(store, settings.printer, name, proposal).await,
        }
    })
}

/// Prints the leader and every change of it until interrupted.
async fn observe(store: Arc<Store>, printer: Printer, name: &str) -> CmdResult {
    // As etcdctl: the observer has a session (a lease) too, though it puts no key.
    let session = Session::new(store, DEFAULT_SESSION_TTL)
        .await
        .map_err(fail)?;
    let election = Election::new(&session, name.as_bytes());
    let interrupt = Interrupt::install()?;
    let mut changes = election.observe(interrupt.ctx.clone());
    while let Some(resp) = changes.recv().await {
        printer.get(&resp)?;
    }
    if interrupt.ctx.is_cancelled() {
        Ok(())
    } else {
        Err(fail("elect: observer lost"))
    }
}

/// Campaigns, prints the leader key once elected, resigns when interrupted.
async fn campaign(store: Arc<Store>, printer: Printer, name: &str, proposal: &str) -> CmdResult {
    let session = Session::new(store.clone(), DEFAULT_SESSION_TTL)
        .await
        .map_err(fail)?;
    let mut election = Election::new(&session, name.as_bytes());
    let interrupt = Interrupt::install()?;
    election
        .campaign(&interrupt.ctx, proposal.as_bytes())
        .await
        .map_err(fail)?;
    let get = RangeRequest {
        key: election.key().to_vec(),
        ..Default::default()
    };
    let resp = tokio::select! {
        biased;
        _ = interrupt.ctx.cancelled() => return Err(fail("context canceled")),
        resp = store.range(get) => resp.map_err(fail)?,
    };
    printer.get(&resp)?;
    tokio::select! {
        _ = interrupt.fired() => {}
        _ = session.done() => return Err(fail("elect: session expired")),
    }
    election
        .resign(&CancellationToken::new())
        .await
        .map_err(fail)
}
