//! zap's production JSON logger (`zap.NewProduction()`), which etcdctl's snapshot
//! commands log with: one JSON object per line on stderr, `ts` as float seconds since the
//! epoch, then `caller` (Go source file:line), `msg` and the fields in order.

use crate::go::json::Obj;
use crate::out;

/// Starts an info line from `caller` saying `msg`; add fields, then [`emit`].
pub fn info(caller: &str, msg: &str) -> Obj {
    let ts = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs_f64();
    let mut o = Obj::zap();
    o.str("level", "info")
        .raw("ts", &format!("{ts}"))
        .str("caller", caller)
        .str("msg", msg);
    o
}

/// Writes the line to stderr.
pub fn emit(o: &mut Obj) {
    out::stderr(format!("{}\n", o.finish()));
}
