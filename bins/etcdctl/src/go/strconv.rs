//! Go's `strconv.ParseInt`, `ParseUint` and `ParseBool`, with their error texts.

use super::quote::quote;

fn num_error(func: &str, num: &str, range: bool) -> String {
    format!(
        "strconv.{func}: parsing {}: {}",
        quote(num.as_bytes()),
        if range {
            "value out of range"
        } else {
            "invalid syntax"
        }
    )
}

/// Go's `underscoreOK`: underscores only between digits (base prefixes count as digits).
fn underscore_ok(s: &str) -> bool {
    let b = s.as_bytes();
    let b = match b.first() {
        Some(b'-') | Some(b'+') => &b[1..],
        _ => b,
    };
    let mut saw = b'^';
    let mut i = 0;
    let mut hex = false;
    if b.len() >= 2 && b[0] == b'0' && matches!(b[1].to_ascii_lowercase(), b'b' | b'o' | b'x') {
        i = 2;
        saw = b'0';
        hex = b[1].eq_ignore_ascii_case(&b'x');
    }
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_digit() || (hex && c.is_ascii_hexdigit()) {
            saw = b'0';
        } else if c == b'_' {
            if saw != b'0' {
                return false;
            }
            saw = b'_';
        } else {
            if saw == b'_' {
                return false;
            }
            saw = b'!';
        }
        i += 1;
    }
    saw != b'_'
}

enum UintErr {
    Syntax,
    Range,
}

fn parse_uint_inner(s0: &str, base: u32) -> Result<u64, UintErr> {
    if s0.is_empty() {
        return Err(UintErr::Syntax);
    }
    let base0 = base == 0;
    let mut s = s0.as_bytes();
    let mut base = base;
    if base0 {
        base = 10;
        if s[0] == b'0' {
            if s.len() >= 3 && s[1].eq_ignore_ascii_case(&b'b') {
                base = 2;
                s = &s[2..];
            } else if s.len() >= 3 && s[1].eq_ignore_ascii_case(&b'o') {
                base = 8;
                s = &s[2..];
            } else if s.len() >= 3 && s[1].eq_ignore_ascii_case(&b'x') {
                base = 16;
                s = &s[2..];
            } else {
                base = 8;
                s = &s[1..];
            }
        }
    }
    let mut underscores = false;
    let mut n: u64 = 0;
    let cutoff = u64::MAX / u64::from(base) + 1;
    for &c in s {
        let d = match c {
            b'_' if base0 => {
                underscores = true;
                continue;
            }
            b'0'..=b'9' => c - b'0',
            c if c.to_ascii_lowercase().is_ascii_lowercase() => c.to_ascii_lowercase() - b'a' + 10,
            _ => return Err(UintErr::Syntax),
        };
        if u32::from(d) >= base {
            return Err(UintErr::Syntax);
        }
        if n >= cutoff {
            return Err(UintErr::Range);
        }
        n *= u64::from(base);
        n = n.checked_add(u64::from(d)).ok_or(UintErr::Range)?;
    }
    if underscores && !underscore_ok(s0) {
        return Err(UintErr::Syntax);
    }
    Ok(n)
}

/// `strconv.ParseInt(s, base, 64)`; `base` 0 means Go literal syntax (`0x`, `0o`, `0b`, `0`).
pub fn parse_int(s0: &str, base: u32) -> Result<i64, String> {
    if s0.is_empty() {
        return Err(num_error("ParseInt", s0, false));
    }
    let (neg, s) = match s0.as_bytes()[0] {
        b'+' => (false, &s0[1..]),
        b'-' => (true, &s0[1..]),
        _ => (false, s0),
    };
    let un = match parse_uint_inner(s, base) {
        Ok(v) => v,
        Err(UintErr::Syntax) => return Err(num_error("ParseInt", s0, false)),
        Err(UintErr::Range) => u64::MAX,
    };
    let cutoff = 1u64 << 63;
    if !neg && un >= cutoff {
        return Err(num_error("ParseInt", s0, true));
    }
    if neg && un > cutoff {
        return Err(num_error("ParseInt", s0, true));
    }
    Ok(if neg {
        (un as i64).wrapping_neg()
    } else {
        un as i64
    })
}

/// `strconv.ParseUint(s, base, 64)`.
pub fn parse_uint(s: &str, base: u32) -> Result<u64, String> {
    parse_uint_inner(s, base).map_err(|e| num_error("ParseUint", s, matches!(e, UintErr::Range)))
}

/// `strconv.ParseBool`.
pub fn parse_bool(s: &str) -> Result<bool, String> {
    match s {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Ok(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Ok(false),
        _ => Err(num_error("ParseBool", s, false)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_int_base0() {
        assert_eq!(parse_int("10", 0), Ok(10));
        assert_eq!(parse_int("0x10", 0), Ok(16));
        assert_eq!(parse_int("010", 0), Ok(8));
        assert_eq!(parse_int("-0b11", 0), Ok(-3));
        assert_eq!(parse_int("1_000", 0), Ok(1000));
        assert_eq!(parse_int("0", 0), Ok(0));
        assert_eq!(
            parse_int("x", 0),
            Err("strconv.ParseInt: parsing \"x\": invalid syntax".into())
        );
        assert_eq!(
            parse_int("9223372036854775808", 0),
            Err("strconv.ParseInt: parsing \"9223372036854775808\": value out of range".into())
        );
        assert_eq!(parse_int("-9223372036854775808", 10), Ok(i64::MIN));
        assert!(parse_int("1__0", 0).is_err());
        assert!(parse_int("08", 0).is_err());
    }

    #[test]
    fn parse_hex() {
        assert_eq!(parse_int("ff", 16), Ok(255));
        assert!(parse_int("0x1", 16).is_err());
        assert!(parse_int("bdae9bbc11dd390d", 16).is_err());
        assert_eq!(parse_int("7dae9bbc11dd390d", 16), Ok(0x7dae9bbc11dd390d));
    }

    #[test]
    fn parse_uint_hex() {
        assert_eq!(parse_uint("bdae9bbc11dd390d", 16), Ok(0xbdae9bbc11dd390d));
        assert_eq!(
            parse_uint("", 16),
            Err("strconv.ParseUint: parsing \"\": invalid syntax".into())
        );
        assert_eq!(
            parse_uint("0x1", 16),
            Err("strconv.ParseUint: parsing \"0x1\": invalid syntax".into())
        );
        assert_eq!(
            parse_uint("-1", 16),
            Err("strconv.ParseUint: parsing \"-1\": invalid syntax".into())
        );
        assert_eq!(
            parse_uint("10000000000000000", 16),
            Err("strconv.ParseUint: parsing \"10000000000000000\": value out of range".into())
        );
    }

    #[test]
    fn parse_bools() {
        assert_eq!(parse_bool("T"), Ok(true));
        assert_eq!(
            parse_bool("yes"),
            Err("strconv.ParseBool: parsing \"yes\": invalid syntax".into())
        );
    }
}
