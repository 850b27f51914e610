//! A slog drain that forwards raft-rs's log records to `tracing` (target `raft`), so the
//! whole server logs through one subscriber and nothing is printed by slog itself.

use std::fmt::{self, Write as _};

use slog::{Drain, Level, OwnedKVList, Record, KV};

/// Forwards each slog record to the `tracing` event of the same level. Records are only
/// formatted when a subscriber is interested in that level.
pub(crate) struct TracingDrain;

/// Builds the root logger raft-rs is given, tagged with this member's id.
pub(crate) fn raft_logger(id: u64) -> slog::Logger {
    slog::Logger::root(TracingDrain, slog::o!("raft_id" => id))
}

macro_rules! forward {
    ($level:expr, $record:expr, $values:expr) => {
        if tracing::enabled!(target: "raft", $level) {
            let line = format_record($record, $values);
            tracing::event!(target: "raft", $level, "{line}");
        }
    };
}

impl Drain for TracingDrain {
    type Ok = ();
    type Err = slog::Never;

    fn log(&self, record: &Record<'_>, values: &OwnedKVList) -> Result<(), slog::Never> {
        match record.level() {
            Level::Critical | Level::Error => forward!(tracing::Level::ERROR, record, values),
            Level::Warning => forward!(tracing::Level::WARN, record, values),
            Level::Info => forward!(tracing::Level::INFO, record, values),
            Level::Debug => forward!(tracing::Level::DEBUG, record, values),
            Level::Trace => forward!(tracing::Level::TRACE, record, values),
        }
        Ok(())
    }
}

/// `message key=value key=value ...`: the record's own pairs, then the logger's.
fn format_record(record: &Record<'_>, values: &OwnedKVList) -> String {
    let mut out = KeyValues(record.msg().to_string());
    // Serializing into a String cannot fail; a failing KV impl only loses its pairs.
    let _ = record.kv().serialize(record, &mut out);
    let _ = values.serialize(record, &mut out);
    out.0
}

/// Appends ` key=value` for every pair it is given.
struct KeyValues(String);

impl slog::Serializer for KeyValues {
    fn emit_arguments(&mut self, key: slog::Key, val: &fmt::Arguments<'_>) -> slog::Result {
        // Writing to a String never fails.
        let _ = write!(self.0, " {key}={val}");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_message_and_pairs() {
        let logger = slog::Logger::root(slog::Fuse(CaptureDrain), slog::o!("raft_id" => 7u64));
        slog::info!(logger, "became leader"; "term" => 3u64);
        let got = LAST.with(|l| l.borrow().clone());
        assert_eq!(got, "became leader term=3 raft_id=7");
    }

    thread_local! {
        static LAST: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
    }

    struct CaptureDrain;

    impl Drain for CaptureDrain {
        type Ok = ();
        type Err = slog::Never;
        fn log(&self, record: &Record<'_>, values: &OwnedKVList) -> Result<(), slog::Never> {
            let line = format_record(record, values);
            LAST.with(|l| *l.borrow_mut() = line);
            Ok(())
        }
    }
}
