//! Go's `time.Duration`: `String()` and `time.ParseDuration` (Go 1.19), on nanoseconds,
//! with Go's error messages. etcd's flags (`--election-timeout` aside, which are integers)
//! and etcdctl's (`--dial-timeout`), and etcd's benchmark tool, take durations this way;
//! shared by `etcd-server`, `etcdctl` and `benchmark`.

use std::time::Duration;

/// Parses a non-negative Go duration (`"200ms"`, `"10m"`, `"1m30s"`) into a [`Duration`].
pub fn parse_std(s: &str) -> Result<Duration, String> {
    let nanos = parse(s)?;
    u64::try_from(nanos)
        .map(Duration::from_nanos)
        .map_err(|_| format!("negative duration {s:?}"))
}

/// Go's `time.quote`, used in `ParseDuration` errors.
fn time_quote(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        if (c as u32) >= 0x80 || c < ' ' {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("\\x{b:02x}"));
            }
        } else {
            if c == '"' || c == '\\' {
                out.push('\\');
            }
            out.push(c);
        }
    }
    out.push('"');
    out
}

fn invalid(orig: &str) -> String {
    format!("time: invalid duration {}", time_quote(orig))
}

const UNITS: &[(&str, u64)] = &[
    ("ns", 1),
    ("us", 1_000),
    ("µs", 1_000),
    ("μs", 1_000),
    ("ms", 1_000_000),
    ("s", 1_000_000_000),
    ("m", 60_000_000_000),
    ("h", 3_600_000_000_000),
];

const LIMIT: u64 = 1 << 63;

/// Parses a Go duration string (`"2s"`, `"1m30s"`, `"-1.5h"`) into nanoseconds, with Go's
/// error messages.
pub fn parse(orig: &str) -> Result<i64, String> {
    let mut s = orig.as_bytes();
    let mut neg = false;
    if let Some(&c) = s.first() {
        if c == b'-' || c == b'+' {
            neg = c == b'-';
            s = &s[1..];
        }
    }
    if s == b"0" {
        return Ok(0);
    }
    if s.is_empty() {
        return Err(invalid(orig));
    }
    let mut d: u64 = 0;
    while !s.is_empty() {
        if !(s[0] == b'.' || s[0].is_ascii_digit()) {
            return Err(invalid(orig));
        }
        // Leading integer.
        let mut v: u64 = 0;
        let mut i = 0;
        while i < s.len() && s[i].is_ascii_digit() {
            if v > LIMIT / 10 {
                return Err(invalid(orig));
            }
            v = v * 10 + u64::from(s[i] - b'0');
            if v > LIMIT {
                return Err(invalid(orig));
            }
            i += 1;
        }
        let pre = i > 0;
        s = &s[i..];
        // Fraction.
        let (mut f, mut scale, mut post) = (0u64, 1f64, false);
        if s.first() == Some(&b'.') {
            s = &s[1..];
            let mut j = 0;
            let mut overflow = false;
            while j < s.len() && s[j].is_ascii_digit() {
                let digit = u64::from(s[j] - b'0');
                j += 1;
                if overflow {
                    continue;
                }
                if f > (LIMIT - 1) / 10 {
                    overflow = true;
                    continue;
                }
                let y = f * 10 + digit;
                if y > LIMIT {
                    overflow = true;
                    continue;
                }
                f = y;
                scale *= 10.0;
            }
            post = j > 0;
            s = &s[j..];
        }
        if !pre && !post {
            return Err(invalid(orig));
        }
        // Unit.
        let end = s
            .iter()
            .position(|&c| c == b'.' || c.is_ascii_digit())
            .unwrap_or(s.len());
        if end == 0 {
            return Err(format!(
                "time: missing unit in duration {}",
                time_quote(orig)
            ));
        }
        let unit_str = String::from_utf8_lossy(&s[..end]).into_owned();
        s = &s[end..];
        let Some(&(_, unit)) = UNITS.iter().find(|(name, _)| *name == unit_str) else {
            return Err(format!(
                "time: unknown unit {} in duration {}",
                time_quote(&unit_str),
                time_quote(orig)
            ));
        };
        if v > LIMIT / unit {
            return Err(invalid(orig));
        }
        v *= unit;
        if f > 0 {
            v += (f as f64 * (unit as f64 / scale)) as u64;
            if v > LIMIT {
                return Err(invalid(orig));
            }
        }
        d += v;
        if d > LIMIT {
            return Err(invalid(orig));
        }
    }
    if neg {
        return Ok((d as i64).wrapping_neg());
    }
    if d > LIMIT - 1 {
        return Err(invalid(orig));
    }
    Ok(d as i64)
}

/// Writes the fraction `v / 10^prec` without trailing zeros (Go's `fmtFrac`); returns the
/// integer part.
fn frac(out: &mut Vec<u8>, mut v: u64, prec: u32) -> u64 {
    let mut printing = false;
    for _ in 0..prec {
        let digit = (v % 10) as u8;
        printing = printing || digit != 0;
        if printing {
            out.push(b'0' + digit);
        }
        v /= 10;
    }
    if printing {
        out.push(b'.');
    }
    v
}

fn int(out: &mut Vec<u8>, v: u64) {
    out.extend(v.to_string().bytes().rev());
}

/// Go's `time.Duration.String()`: `"1.5s"`, `"3.607518ms"`, `"850µs"`, `"1h0m0s"`.
pub fn format(d: i64) -> String {
    let neg = d < 0;
    let mut u = d.unsigned_abs();
    // Built reversed, like Go's buffer filled from the end.
    let mut out: Vec<u8> = Vec::with_capacity(32);
    if u < 1_000_000_000 {
        if u == 0 {
            return "0s".to_string();
        }
        out.push(b's');
        let prec = if u < 1_000 {
            out.push(b'n');
            0
        } else if u < 1_000_000 {
            out.extend("µ".bytes().rev());
            3
        } else {
            out.push(b'm');
            6
        };
        u = frac(&mut out, u, prec);
        int(&mut out, u);
    } else {
        out.push(b's');
        u = frac(&mut out, u, 9);
        int(&mut out, u % 60);
        u /= 60;
        if u > 0 {
            out.push(b'm');
            int(&mut out, u % 60);
            u /= 60;
            if u > 0 {
                out.push(b'h');
                int(&mut out, u);
            }
        }
    }
    if neg {
        out.push(b'-');
    }
    out.reverse();
    String::from_utf8(out).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    #[test]
    fn std_durations_as_etcd_flags_take_them() {
        use std::time::Duration;
        assert_eq!(super::parse_std("10m"), Ok(Duration::from_secs(600)));
        assert_eq!(super::parse_std("200ms"), Ok(Duration::from_millis(200)));
        assert_eq!(super::parse_std("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(super::parse_std("0"), Ok(Duration::ZERO));
        for bad in ["", "5", "s", "-1s", "1x", "1.2.3s"] {
            assert!(super::parse_std(bad).is_err(), "{bad:?}");
        }
    }

    use super::*;

    #[test]
    fn formats_like_go() {
        assert_eq!(format(0), "0s");
        assert_eq!(format(2_000_000_000), "2s");
        assert_eq!(format(3_607_518), "3.607518ms");
        assert_eq!(format(850_000), "850µs");
        assert_eq!(format(12), "12ns");
        assert_eq!(format(90_000_000_000), "1m30s");
        assert_eq!(format(3_600_000_000_000), "1h0m0s");
        assert_eq!(format(-1_500_000_000), "-1.5s");
    }

    #[test]
    fn parses_like_go() {
        assert_eq!(parse("2s"), Ok(2_000_000_000));
        assert_eq!(parse("1m30s"), Ok(90_000_000_000));
        assert_eq!(parse("1.5h"), Ok(5_400_000_000_000));
        assert_eq!(parse("-0"), Ok(0));
        assert_eq!(parse("500ms"), Ok(500_000_000));
        assert_eq!(parse(".5s"), Ok(500_000_000));
        assert_eq!(parse("x"), Err("time: invalid duration \"x\"".into()));
        assert_eq!(parse(""), Err("time: invalid duration \"\"".into()));
        assert_eq!(
            parse("1"),
            Err("time: missing unit in duration \"1\"".into())
        );
        assert_eq!(
            parse("1x"),
            Err("time: unknown unit \"x\" in duration \"1x\"".into())
        );
        assert_eq!(
            parse("99999999999h"),
            Err("time: invalid duration \"99999999999h\"".into())
        );
    }
}
