//! `etcdctl snapshot save|status|verify`. `save` downloads a member's backend over
//! Maintenance.Snapshot; `status` reads a snapshot file offline, exactly as etcdctl 3.4
//! does; `verify` (our addition, not in etcd) checks a file's SHA-256 trailer and the
//! database's consistency. The file format is the `snapshot` crate's.

mod file;
mod log;
mod progress;
mod save;

pub use save::save;

use crate::exit::{CmdResult, Exit, EXIT_BAD_ARGS, EXIT_ERROR};
use crate::out;

use super::Ctx;

/// etcdctl's `ExitInterrupted`: every failure of `snapshot save`.
const EXIT_INTERRUPTED: i32 = 5;

/// `etcdctl snapshot status <filename>`: no server involved, no environment read.
pub fn status(ctx: &mut Ctx) -> CmdResult {
    if ctx.args.len() != 1 {
        return Err(Exit::error(
            EXIT_BAD_ARGS,
            "snapshot status requires exactly one argument",
        ));
    }
    let printer = ctx.printer()?;
    let status = file::status(&ctx.args[0]).map_err(|e| Exit::error(EXIT_ERROR, e))?;
    printer.db_status(&status)
}

/// `etcdctl snapshot verify <filename> [--skip-hash-check]`: the trailer must be there and
/// match (with `--skip-hash-check` it may be missing, but is still checked when present),
/// then bbolt's consistency check and a read of every bucket.
pub fn verify(ctx: &mut Ctx) -> CmdResult {
    if ctx.args.len() != 1 {
        return Err(Exit::error(
            EXIT_BAD_ARGS,
            "snapshot verify requires exactly one argument",
        ));
    }
    let path = ctx.args[0].as_str();
    let skip = ctx.flags.get_bool("skip-hash-check");
    let invalid =
        |why: String| Exit::error(EXIT_ERROR, format!("snapshot {path} is not valid: {why}"));
    let size = std::fs::metadata(path)
        .ok()
        .filter(|m| m.is_file())
        .map(|m| m.len());
    let verify_hash = !skip || size.is_some_and(::snapshot::has_checksum);
    let st = file::open(path, verify_hash)
        .and_then(|r| r.status().map_err(file::OpenError::from))
        .map_err(|e| invalid(explain(e, size)))?;
    out::line(format!(
        "Snapshot {path} is valid: hash {:x}, revision {}, {} keys, {} bytes",
        st.hash, st.revision, st.total_key, st.total_size
    ));
    Ok(())
}

/// What went wrong, in words for `verify` (the trailer errors say what they mean).
fn explain(e: file::OpenError, size: Option<u64>) -> String {
    use ::snapshot::Error;
    let hex = |d: &[u8]| d.iter().map(|b| format!("{b:02x}")).collect::<String>();
    let n = size.unwrap_or(0);
    match e {
        file::OpenError::Os(_) if size == Some(0) => "the file is empty".to_string(),
        file::OpenError::Snapshot(Error::Invalid) if size.is_some_and(|n| n < 4096) => {
            format!("{n} bytes is too small for a bbolt database (a page is 4096 bytes)")
        }
        file::OpenError::Snapshot(Error::MissingHash) => format!(
            "no SHA-256 trailer ({n} bytes is not 32 more than a multiple of 512: the file \
             is truncated, or is a bare database copied from a data directory, which \
             --skip-hash-check accepts)"
        ),
        file::OpenError::Snapshot(Error::HashMismatch { expected, got }) => format!(
            "the database does not match its SHA-256 trailer (trailer {}, database {}): the \
             file is damaged",
            hex(&expected),
            hex(&got)
        ),
        e => e.to_string(),
    }
}
