//! `etcdctl version`.

use crate::cli::usage::{API_VERSION, VERSION};
use crate::exit::CmdResult;
use crate::out;

pub fn run() -> CmdResult {
    out::line(format!("etcdctl version: {VERSION}"));
    out::line(format!("API version: {API_VERSION}"));
    Ok(())
}
