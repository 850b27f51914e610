//! The statistics `check perf` and `check datascale` judge by (the parts of etcd's
//! `pkg/report` they use): request latencies, their mean, spread and maximum, the rate of
//! successful requests, and the failures counted by error text.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Collects request outcomes; [`Report::stats`] sums them up.
pub struct Report {
    started: Mutex<Instant>,
    results: Mutex<Results>,
}

#[derive(Default)]
struct Results {
    /// Latencies of successful requests, in seconds.
    lats: Vec<f64>,
    /// Failures by error text, in the order first seen.
    errors: Vec<(String, usize)>,
}

/// `report.Stats` (the fields the checks print).
#[derive(Debug, Clone, PartialEq)]
pub struct Stats {
    /// Successful requests per second over the whole run.
    pub rps: f64,
    /// Slowest request, in seconds (0 without any success).
    pub slowest: f64,
    /// Standard deviation of the latencies, in seconds.
    pub stddev: f64,
    /// Failures by error text.
    pub errors: Vec<(String, usize)>,
}

impl Report {
    /// An empty report; its clock starts now, or at [`Report::start_clock`].
    pub fn new() -> Report {
        Report {
            started: Mutex::new(Instant::now()),
            results: Mutex::new(Results::default()),
        }
    }

    /// (Re)starts the clock: etcd's report measures from its `Stats()` call, made once
    /// the workers and the request generator run.
    pub fn start_clock(&self) {
        *self
            .started
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Instant::now();
    }

    /// Records one request that took `took`, or failed with `err`.
    pub fn record(&self, took: Duration, err: Option<String>) {
        let mut r = self
            .results
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match err {
            None => r.lats.push(took.as_secs_f64()),
            Some(e) => match r.errors.iter_mut().find(|(text, _)| *text == e) {
                Some((_, n)) => *n += 1,
                None => r.errors.push((e, 1)),
            },
        }
    }

    /// `processResults`: the statistics once every request is done.
    pub fn stats(&self) -> Stats {
        let total = self
            .started
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .elapsed()
            .as_secs_f64();
        let r = self
            .results
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        summarize(&r.lats, total, r.errors.clone())
    }
}

/// The statistics of `lats` (seconds) gathered over `total` seconds.
fn summarize(lats: &[f64], total: f64, errors: Vec<(String, usize)>) -> Stats {
    let n = lats.len() as f64;
    let average = lats.iter().sum::<f64>() / n;
    let variance = lats
        .iter()
        .map(|l| (l - average) * (l - average))
        .sum::<f64>()
        / n;
    Stats {
        rps: n / total,
        slowest: lats.iter().copied().fold(0.0, f64::max),
        stddev: variance.sqrt(),
        errors,
    }
}

#[cfg(test)]
mod tests {
    use super::summarize;

    #[test]
    fn sums_up_like_etcd_report() {
        let s = summarize(&[0.1, 0.3], 2.0, Vec::new());
        assert!((s.rps - 1.0).abs() < 1e-12);
        assert!((s.slowest - 0.3).abs() < 1e-12);
        assert!((s.stddev - 0.1).abs() < 1e-12);
        // No success at all: Go divides by zero too (NaN average and spread).
        let s = summarize(&[], 1.0, Vec::new());
        assert_eq!(s.slowest, 0.0);
        assert!(s.stddev.is_nan());
    }
}
