//! Re-implementations of the Go standard-library behaviour etcdctl's output depends on
//! (quoting, durations, number parsing, CSV, `fmt.Sscanf`, JSON string escaping,
//! go-humanize, timestamps, URL parsing), so our bytes match the Go binary's.

pub mod csv;
pub mod exec;
pub use goduration as duration;
pub mod humanize;
pub mod json;
pub mod quote;
pub mod scanf;
pub mod strconv;
pub mod time;
pub mod url;
pub mod zap;
