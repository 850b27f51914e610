//! etcd's `--logger zap` output: one JSON object per line, as zap's JSON encoder with
//! etcd's `DefaultZapLoggerConfig` writes it:
//!
//! ```text
//! {"level":"info","ts":"2026-11-25T23:04:02.344Z","caller":"server/member.rs:181","msg":"starting member","name":"infra1"}
//! ```
//!
//! `level` is lowercase, `ts` is RFC 3339 in UTC with milliseconds, `caller` is the
//! source file's last two path components (zap's short caller, `src` left out) and line,
//! `msg` is the event's message; the event's other fields follow, flattened, in the order
//! they were recorded. Numbers and booleans stay JSON numbers and booleans; anything else
//! becomes a string.

use std::fmt;

use serde_json::Value;
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

/// The JSON-lines event format of etcd's zap logger.
#[derive(Clone, Copy, Debug, Default)]
pub struct ZapFormat;

/// zap's name of a level (zap has no trace level: it logs at debug).
fn level_name(level: &Level) -> &'static str {
    match *level {
        Level::ERROR => "error",
        Level::WARN => "warn",
        Level::INFO => "info",
        Level::DEBUG | Level::TRACE => "debug",
    }
}

/// zap's `ISO8601TimeEncoder` in UTC: `2006-01-02T15:04:05.000Z`.
fn timestamp(t: time::OffsetDateTime) -> String {
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.millisecond()
    )
}

/// zap's short caller, `dir/file:line`, without Rust's `src` directory.
fn caller(file: &str, line: Option<u32>) -> String {
    let parts: Vec<&str> = file
        .split(['/', '\\'])
        .filter(|p| !p.is_empty() && *p != "src")
        .collect();
    let short = parts[parts.len().saturating_sub(2)..].join("/");
    match line {
        Some(line) => format!("{short}:{line}"),
        None => short,
    }
}

/// An event's message and other fields, in recording order.
#[derive(Default)]
struct Fields {
    msg: String,
    others: Vec<(&'static str, Value)>,
}

impl Fields {
    fn put(&mut self, field: &Field, value: Value) {
        if field.name() == "message" {
            self.msg = match value {
                Value::String(s) => s,
                other => other.to_string(),
            };
        } else {
            self.others.push((field.name(), value));
        }
    }
}

impl Visit for Fields {
    fn record_f64(&mut self, field: &Field, value: f64) {
        let v = serde_json::Number::from_f64(value)
            .map_or_else(|| Value::String(value.to_string()), Value::Number);
        self.put(field, v);
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.put(field, value.into());
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.put(field, value.into());
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.put(field, value.into());
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.put(field, value.into());
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.put(field, value.to_string().into());
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.put(field, format!("{value:?}").into());
    }
}

/// One JSON line for an event at `level` from `file:line`, logged at `now`.
fn line(
    level: &Level,
    now: time::OffsetDateTime,
    file: Option<&str>,
    line: Option<u32>,
    fields: Fields,
) -> String {
    let mut out = String::with_capacity(128);
    out.push('{');
    let mut entry = |key: &str, value: &Value| {
        if out.len() > 1 {
            out.push(',');
        }
        out.push_str(&Value::from(key).to_string());
        out.push(':');
        out.push_str(&value.to_string());
    };
    entry("level", &level_name(level).into());
    entry("ts", &timestamp(now).into());
    if let Some(file) = file {
        entry("caller", &caller(file, line).into());
    }
    entry("msg", &fields.msg.into());
    for (key, value) in &fields.others {
        entry(key, value);
    }
    out.push('}');
    out
}

impl<S, N> FormatEvent<S, N> for ZapFormat
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        _ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let meta = event.metadata();
        let mut fields = Fields::default();
        event.record(&mut fields);
        let text = line(
            meta.level(),
            time::OffsetDateTime::now_utc(),
            meta.file(),
            meta.line(),
            fields,
        );
        writeln!(writer, "{text}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_looks_like_zaps() {
        let now =
            time::OffsetDateTime::from_unix_timestamp_nanos(1_795_734_242_344_999_999).unwrap();
        let fields = Fields {
            msg: "published local member to cluster through raft".into(),
            others: vec![
                ("local-member-id", "bdae9bbc11dd390d".into()),
                ("term", 2u64.into()),
                ("ok", true.into()),
                ("quote", "a \"b\"\n".into()),
            ],
        };
        assert_eq!(
            line(
                &Level::INFO,
                now,
                Some("crates/server/src/member.rs"),
                Some(181),
                fields
            ),
            r#"{"level":"info","ts":"2026-11-26T23:04:02.344Z","caller":"server/member.rs:181","msg":"published local member to cluster through raft","local-member-id":"bdae9bbc11dd390d","term":2,"ok":true,"quote":"a \"b\"\n"}"#
        );
    }

    #[test]
    fn callers_are_short() {
        assert_eq!(caller("crates/wal/src/wal.rs", Some(3)), "wal/wal.rs:3");
        assert_eq!(
            caller(
                "/root/.cargo/registry/src/x/raft-0.7.0/src/raft.rs",
                Some(9)
            ),
            "raft-0.7.0/raft.rs:9"
        );
        assert_eq!(caller("main.rs", None), "main.rs");
    }

    #[test]
    fn levels_are_zaps() {
        assert_eq!(level_name(&Level::WARN), "warn");
        assert_eq!(level_name(&Level::TRACE), "debug");
    }
}
