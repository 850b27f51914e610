//! Our addition to `snapshot save`: a progress line on stderr (bytes received, and the
//! share of the database when the server tells how much remains), redrawn in place at
//! most ten times a second. Only when stderr is a terminal: in scripts and pipes the
//! output stays byte-identical to etcdctl 3.4's, which shows no progress.

use std::time::{Duration, Instant};

use crate::go::humanize;
use crate::out;

/// Least time between two redraws.
const REDRAW: Duration = Duration::from_millis(100);

/// Erases the current terminal line.
const CLEAR_LINE: &str = "\r\x1b[2K";

/// The progress line of one download.
pub struct Progress {
    enabled: bool,
    shown: bool,
    last: Option<Instant>,
}

impl Progress {
    /// A progress line, drawn only if stderr is a terminal.
    pub fn new() -> Progress {
        // SAFETY: isatty only inspects the descriptor.
        let tty = unsafe { libc::isatty(libc::STDERR_FILENO) } == 1;
        Progress {
            enabled: tty,
            shown: false,
            last: None,
        }
    }

    /// `received` bytes so far; `remaining` database bytes still to come, as the server's
    /// last message said.
    pub fn update(&mut self, received: u64, remaining: u64) {
        if !self.enabled || self.last.is_some_and(|t| t.elapsed() < REDRAW) {
            return;
        }
        self.last = Some(Instant::now());
        self.shown = true;
        out::stderr(format!("{CLEAR_LINE}{}", line(received, remaining)));
    }

    /// Erases the line (before anything else is written to stderr).
    pub fn clear(&mut self) {
        if self.shown {
            out::stderr(CLEAR_LINE);
            self.shown = false;
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.clear();
    }
}

/// The text of the progress line.
fn line(received: u64, remaining: u64) -> String {
    let got = humanize::bytes(received);
    let total = received.saturating_add(remaining);
    if remaining == 0 || total == 0 {
        return format!("Fetching snapshot: {got} received");
    }
    let pct = received.saturating_mul(100) / total;
    format!(
        "Fetching snapshot: {got} of {} received ({pct}%)",
        humanize::bytes(total)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_shows_share_when_known() {
        assert_eq!(line(0, 0), "Fetching snapshot: 0 B received");
        assert_eq!(
            line(25_000_000, 75_000_000),
            "Fetching snapshot: 25 MB of 100 MB received (25%)"
        );
        assert_eq!(line(2048, 0), "Fetching snapshot: 2.0 kB received");
    }
}
