//! Latency statistics and the printed report, in the shape of etcd's `pkg/report`:
//!
//! ```text
//! Summary:
//!   Total:        0.9410 secs.
//!   Slowest:      0.0225 secs.
//!   ...
//!   Requests/sec: 21253.4518
//!
//! Response time histogram:
//!   0.0004 [1]    |
//!   ...
//!
//! Latency distribution:
//!   10% in 0.0021 secs.
//!   ...
//! ```
//!
//! followed by a line for scripts: `RESULT requests=… requests_per_sec=… avg_ms=… p50_ms=…
//! p90_ms=… p99_ms=… p999_ms=… max_ms=… errors=…`.
//! Latencies are kept in an hdrhistogram (microseconds, 3 significant digits); fastest,
//! slowest, average and standard deviation are exact.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::time::Duration;

use hdrhistogram::Histogram;

/// etcd's percentiles, in the order printed.
pub const PERCENTILES: [f64; 8] = [10.0, 25.0, 50.0, 75.0, 90.0, 95.0, 99.0, 99.9];
/// Number of histogram buckets between fastest and slowest (plus one for the slowest).
const BUCKETS: usize = 10;
/// Bar character and maximal bar length of the histogram.
const BAR_CHAR: &str = "∎";
const BAR_WIDTH: u64 = 40;

/// Results of one worker (or, after [`Recorder::merge`], of all of them).
#[derive(Debug, Clone)]
pub struct Recorder {
    micros: Histogram<u64>,
    count: u64,
    sum_secs: f64,
    sum_sq_secs: f64,
    fastest: f64,
    slowest: f64,
    errors: BTreeMap<String, u64>,
}

impl Default for Recorder {
    fn default() -> Self {
        Self::new()
    }
}

impl Recorder {
    /// An empty recorder; its histogram grows as needed.
    pub fn new() -> Self {
        Self {
            micros: Histogram::new(3).expect("3 significant digits is a valid precision"),
            count: 0,
            sum_secs: 0.0,
            sum_sq_secs: 0.0,
            fastest: f64::INFINITY,
            slowest: 0.0,
            errors: BTreeMap::new(),
        }
    }

    /// Records a successful request's latency.
    pub fn record(&mut self, latency: Duration) {
        let micros = u64::try_from(latency.as_micros())
            .unwrap_or(u64::MAX)
            .max(1);
        if self.micros.record(micros).is_err() {
            self.micros.saturating_record(micros);
        }
        let secs = latency.as_secs_f64();
        self.count += 1;
        self.sum_secs += secs;
        self.sum_sq_secs += secs * secs;
        self.fastest = self.fastest.min(secs);
        self.slowest = self.slowest.max(secs);
    }

    /// Records a failed request by its error message.
    pub fn record_error(&mut self, message: String) {
        self.record_errors(message, 1);
    }

    /// Records `n` failures with the same message (nothing when `n` is 0).
    pub fn record_errors(&mut self, message: String, n: u64) {
        if n > 0 {
            *self.errors.entry(message).or_insert(0) += n;
        }
    }

    /// Adds another recorder's results to this one.
    pub fn merge(&mut self, other: &Recorder) {
        if self.micros.add(&other.micros).is_err() {
            for v in other.micros.iter_recorded() {
                self.micros
                    .saturating_record_n(v.value_iterated_to(), v.count_at_value());
            }
        }
        self.count += other.count;
        self.sum_secs += other.sum_secs;
        self.sum_sq_secs += other.sum_sq_secs;
        self.fastest = self.fastest.min(other.fastest);
        self.slowest = self.slowest.max(other.slowest);
        for (message, n) in &other.errors {
            *self.errors.entry(message.clone()).or_insert(0) += n;
        }
    }

    /// Number of successful requests.
    pub fn successes(&self) -> u64 {
        self.count
    }

    /// Number of failed requests.
    pub fn error_count(&self) -> u64 {
        self.errors.values().sum()
    }

    /// Failed requests by error message.
    pub fn errors(&self) -> &BTreeMap<String, u64> {
        &self.errors
    }
}

/// The statistics of a finished run, ready to print.
#[derive(Debug, Clone)]
pub struct Report {
    rec: Recorder,
    total: Duration,
    precise: bool,
}

impl Report {
    /// A report over all results, for a run that took `total` wall-clock time.
    /// `precise` prints full float precision (etcd's `--precise`, `%g`) instead of `%4.4f`.
    pub fn new(rec: Recorder, total: Duration, precise: bool) -> Self {
        Self {
            rec,
            total,
            precise,
        }
    }

    /// The merged results.
    pub fn recorder(&self) -> &Recorder {
        &self.rec
    }

    /// Successful requests per second of wall-clock time.
    pub fn requests_per_sec(&self) -> f64 {
        let secs = self.total.as_secs_f64();
        if secs > 0.0 {
            self.rec.count as f64 / secs
        } else {
            0.0
        }
    }

    /// Mean latency in seconds (0 without successes).
    pub fn average(&self) -> f64 {
        if self.rec.count == 0 {
            0.0
        } else {
            self.rec.sum_secs / self.rec.count as f64
        }
    }

    /// Population standard deviation of the latencies, in seconds.
    pub fn stddev(&self) -> f64 {
        if self.rec.count == 0 {
            return 0.0;
        }
        let mean = self.average();
        (self.rec.sum_sq_secs / self.rec.count as f64 - mean * mean)
            .max(0.0)
            .sqrt()
    }

    /// Latency at percentile `p` (0..=100), in seconds, within [fastest, slowest].
    pub fn percentile(&self, p: f64) -> f64 {
        if self.rec.count == 0 {
            return 0.0;
        }
        let micros = self.rec.micros.value_at_quantile(p / 100.0);
        (micros as f64 / 1e6).clamp(self.rec.fastest, self.rec.slowest)
    }

    fn num(&self, x: f64) -> String {
        if self.precise {
            go_g(x)
        } else {
            format!("{x:4.4}")
        }
    }

    fn secs(&self, x: f64) -> String {
        format!("{} secs", self.num(x))
    }

    /// The report text, as etcd's `report.String()` prints it.
    pub fn render(&self) -> String {
        let mut s = String::new();
        if self.rec.count > 0 {
            let r = &self.rec;
            s.push_str("\nSummary:\n");
            let _ = writeln!(s, "  Total:\t{}.", self.secs(self.total.as_secs_f64()));
            let _ = writeln!(s, "  Slowest:\t{}.", self.secs(r.slowest));
            let _ = writeln!(s, "  Fastest:\t{}.", self.secs(r.fastest));
            let _ = writeln!(s, "  Average:\t{}.", self.secs(self.average()));
            let _ = writeln!(s, "  Stddev:\t{}.", self.secs(self.stddev()));
            let _ = writeln!(s, "  Requests/sec:\t{}", self.num(self.requests_per_sec()));
            s.push_str(&self.histogram());
            s.push_str(&self.latency_distribution());
        }
        if !self.rec.errors.is_empty() {
            s.push_str("\nError distribution:\n");
            for (message, n) in &self.rec.errors {
                let _ = writeln!(s, "  [{n}]\t{message}");
            }
        }
        s
    }

    /// The machine-readable last line (latencies in milliseconds).
    pub fn result_line(&self) -> String {
        self.result_line_with("")
    }

    /// [`Report::result_line`] with `extra` fields (`key=value ...`) before `errors=`.
    pub fn result_line_with(&self, extra: &str) -> String {
        let extra = if extra.is_empty() {
            String::new()
        } else {
            format!("{extra} ")
        };
        format!(
            "RESULT requests={} requests_per_sec={:.1} {} {extra}errors={}",
            self.rec.count,
            self.requests_per_sec(),
            self.latency_fields(""),
            self.rec.error_count(),
        )
    }

    /// `{prefix}avg_ms=… {prefix}p50_ms=… {prefix}p90_ms=… {prefix}p99_ms=… {prefix}p999_ms=…
    /// {prefix}max_ms=…`, for a RESULT line.
    pub fn latency_fields(&self, prefix: &str) -> String {
        let ms = |secs: f64| secs * 1e3;
        let max = if self.rec.count > 0 {
            self.rec.slowest
        } else {
            0.0
        };
        format!(
            "{prefix}avg_ms={:.3} {prefix}p50_ms={:.3} {prefix}p90_ms={:.3} {prefix}p99_ms={:.3} \
             {prefix}p999_ms={:.3} {prefix}max_ms={:.3}",
            ms(self.average()),
            ms(self.percentile(50.0)),
            ms(self.percentile(90.0)),
            ms(self.percentile(99.0)),
            ms(self.percentile(99.9)),
            ms(max),
        )
    }

    /// Ten equal-width buckets from fastest to slowest, plus the slowest (etcd's layout);
    /// each latency counts in the first bucket whose bound is not below it.
    fn histogram(&self) -> String {
        let r = &self.rec;
        let width = (r.slowest - r.fastest) / BUCKETS as f64;
        let mut bounds: Vec<f64> = (0..BUCKETS).map(|i| r.fastest + width * i as f64).collect();
        bounds.push(r.slowest);
        let mut counts = vec![0u64; bounds.len()];
        for v in r.micros.iter_recorded() {
            let secs = (r.micros.median_equivalent(v.value_iterated_to()) as f64 / 1e6)
                .clamp(r.fastest, r.slowest);
            let bucket = bounds.iter().position(|&b| secs <= b).unwrap_or(BUCKETS);
            counts[bucket] += v.count_at_value();
        }
        let max = counts.iter().copied().max().unwrap_or(0);
        let mut s = String::from("\nResponse time histogram:\n");
        for (bound, count) in bounds.iter().zip(&counts) {
            let bar_len = (count * BAR_WIDTH).checked_div(max).unwrap_or(0);
            let _ = writeln!(
                s,
                "  {} [{count}]\t|{}",
                self.num(*bound),
                BAR_CHAR.repeat(bar_len as usize)
            );
        }
        s
    }

    /// The "Latency distribution" section alone.
    pub fn latency_distribution(&self) -> String {
        let mut s = String::from("\nLatency distribution:\n");
        for p in PERCENTILES {
            let v = self.percentile(p);
            if v > 0.0 {
                let _ = writeln!(s, "  {p}% in {}.", self.secs(v));
            }
        }
        s
    }
}

/// Go's `%g`: shortest representation, exponent form (two-digit exponent at least) below
/// 1e-4 or from 1e21.
fn go_g(x: f64) -> String {
    let abs = x.abs();
    if x == 0.0 || (1e-4..1e21).contains(&abs) {
        return format!("{x}");
    }
    let e = format!("{x:e}");
    match e.split_once('e') {
        Some((mantissa, exp)) => {
            let (sign, digits) = match exp.strip_prefix('-') {
                Some(d) => ('-', d),
                None => ('+', exp),
            };
            format!("{mantissa}e{sign}{digits:0>2}")
        }
        None => e,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report_of(millis: &[u64], errors: &[&str]) -> Report {
        let mut a = Recorder::new();
        let mut b = Recorder::new();
        for (i, ms) in millis.iter().enumerate() {
            let rec = if i % 2 == 0 { &mut a } else { &mut b };
            rec.record(Duration::from_millis(*ms));
        }
        for e in errors {
            b.record_error(e.to_string());
        }
        a.merge(&b);
        Report::new(a, Duration::from_secs(2), false)
    }

    #[test]
    fn summary_statistics() {
        let millis: Vec<u64> = (1..=100).collect();
        let r = report_of(&millis, &[]);
        assert_eq!(r.recorder().successes(), 100);
        assert!((r.requests_per_sec() - 50.0).abs() < 1e-9);
        assert!((r.average() - 0.0505).abs() < 1e-9);
        // Population stddev of 1..=100 ms is 28.866 ms.
        assert!((r.stddev() - 0.028866).abs() < 1e-5, "{}", r.stddev());
        assert!((r.percentile(50.0) - 0.050).abs() < 0.0002);
        assert!((r.percentile(99.0) - 0.099).abs() < 0.0002);
        assert_eq!(r.percentile(100.0), 0.100);
    }

    #[test]
    fn render_has_etcd_shape() {
        let millis: Vec<u64> = (1..=100).collect();
        let text = report_of(&millis, &["boom", "boom", "bang"]).render();
        for needle in [
            "\nSummary:\n  Total:\t2.0000 secs.\n",
            "  Slowest:\t0.1000 secs.\n",
            "  Fastest:\t0.0010 secs.\n",
            "  Requests/sec:\t50.0000\n",
            "\nResponse time histogram:\n  0.0010 [1]\t|∎∎∎∎\n",
            "  0.1000 [10]\t|",
            "\nLatency distribution:\n  10% in 0.0100 secs.\n",
            "  99.9% in 0.1000 secs.\n",
            "\nError distribution:\n  [1]\tbang\n  [2]\tboom\n",
        ] {
            assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
        }
        let hist_total: u64 = text
            .lines()
            .skip_while(|l| !l.starts_with("Response time histogram"))
            .skip(1)
            .take(BUCKETS + 1)
            .map(|l| {
                let count = l.split('[').nth(1).and_then(|x| x.split(']').next());
                count
                    .and_then(|c| c.parse::<u64>().ok())
                    .expect("bucket count")
            })
            .sum();
        assert_eq!(hist_total, 100);
    }

    #[test]
    fn result_line_is_parseable() {
        let line = report_of(&[1, 2, 3, 4], &["x"]).result_line();
        let fields: BTreeMap<&str, &str> = line
            .strip_prefix("RESULT ")
            .expect("prefix")
            .split(' ')
            .filter_map(|kv| kv.split_once('='))
            .collect();
        assert_eq!(fields["requests"], "4");
        assert_eq!(fields["errors"], "1");
        assert_eq!(fields["requests_per_sec"], "2.0");
        assert_eq!(fields["max_ms"], "4.000");
        assert!(fields["p50_ms"].parse::<f64>().expect("number") > 1.9);
    }

    #[test]
    fn extra_fields_go_before_errors() {
        let r = report_of(&[1, 2, 3], &["x"]);
        let line = r.result_line_with(&format!("watchers=3 {}", r.latency_fields("create_")));
        assert!(line.starts_with("RESULT requests=3 requests_per_sec=1.5 avg_ms=2.000 "));
        assert!(line.contains(" max_ms=3.000 watchers=3 create_avg_ms=2.000 create_p50_ms="));
        assert!(line.ends_with(" create_max_ms=3.000 errors=1"), "{line}");
    }

    #[test]
    fn empty_report_prints_only_errors() {
        let r = report_of(&[], &["down"]);
        assert_eq!(r.render(), "\nError distribution:\n  [1]\tdown\n");
        assert!(r.result_line().contains("requests_per_sec=0.0"));
        assert!(r.result_line().ends_with("errors=1"));
    }

    #[test]
    fn go_g_format() {
        assert_eq!(go_g(0.5), "0.5");
        assert_eq!(go_g(2.5e-5), "2.5e-05");
        assert_eq!(go_g(0.0), "0");
    }
}
