//! The subset of Go's `fmt.Sscanf` that etcdctl's txn parser uses: `%q` and `%s` verbs,
//! literal characters and spaces, on byte strings.

use super::quote::{decode_rune, unquote};

/// Go `fmt`'s notion of a space.
fn is_space(c: char) -> bool {
    matches!(c as u32,
        0x09..=0x0d | 0x20 | 0x85 | 0xa0 | 0x1680 | 0x2000..=0x200a | 0x2028 | 0x2029 | 0x202f
        | 0x205f | 0x3000)
}

struct Scanner<'a> {
    input: &'a [u8],
    pos: usize,
}

/// Why scanning stopped early (only used to stop; callers look at the count).
struct Stop;

impl Scanner<'_> {
    /// The next rune (`None` at end), invalid bytes as U+FFFD, and its width.
    fn peek(&self) -> Option<(char, usize)> {
        if self.pos >= self.input.len() {
            return None;
        }
        let (r, w) = decode_rune(&self.input[self.pos..]);
        Some((r.unwrap_or('\u{fffd}'), w))
    }

    fn next(&mut self) -> Option<char> {
        let (c, w) = self.peek()?;
        self.pos += w;
        Some(c)
    }

    fn skip_space(&mut self) -> Result<(), Stop> {
        while let Some((c, w)) = self.peek() {
            if c == '\n' {
                return Err(Stop);
            }
            if !is_space(c) {
                break;
            }
            self.pos += w;
        }
        Ok(())
    }

    fn quoted(&mut self) -> Result<Vec<u8>, Stop> {
        let start = self.pos;
        match self.next().ok_or(Stop)? {
            '`' => loop {
                if self.next().ok_or(Stop)? == '`' {
                    break;
                }
            },
            '"' => loop {
                match self.next().ok_or(Stop)? {
                    '\\' => {
                        self.next().ok_or(Stop)?;
                    }
                    '"' => break,
                    _ => {}
                }
            },
            _ => return Err(Stop),
        }
        let literal = std::str::from_utf8(&self.input[start..self.pos]).map_err(|_| Stop)?;
        unquote(literal).ok_or(Stop)
    }

    fn word(&mut self) -> Vec<u8> {
        let start = self.pos;
        while let Some((c, w)) = self.peek() {
            if is_space(c) {
                break;
            }
            self.pos += w;
        }
        self.input[start..self.pos].to_vec()
    }

    /// Matches a run of format spaces: at least one input space (or end of input).
    fn format_space(&mut self) -> Result<(), Stop> {
        match self.peek() {
            None => Ok(()),
            Some(('\n', _)) => Err(Stop),
            Some((c, _)) if !is_space(c) => Err(Stop),
            Some(_) => {
                while let Some((c, w)) = self.peek() {
                    if !is_space(c) || c == '\n' {
                        break;
                    }
                    self.pos += w;
                }
                Ok(())
            }
        }
    }
}

/// Scans `input` with `format` (verbs `%q` and `%s` only) like `fmt.Sscanf`; returns the
/// values scanned before the first failure (their count is Go's `n`).
pub fn sscanf(input: &[u8], format: &str) -> Vec<Vec<u8>> {
    let mut s = Scanner { input, pos: 0 };
    let mut values = Vec::new();
    let mut fmt = format.chars().peekable();
    while let Some(f) = fmt.next() {
        let step = if is_space(f) {
            while fmt.peek().is_some_and(|&c| is_space(c)) {
                fmt.next();
            }
            s.format_space()
        } else if f == '%' {
            let verb = fmt.next();
            s.skip_space().and_then(|_| {
                if s.peek().is_none() {
                    return Err(Stop);
                }
                match verb {
                    Some('q') => s.quoted().map(|v| values.push(v)),
                    Some('s') => {
                        let w = s.word();
                        values.push(w);
                        Ok(())
                    }
                    _ => Err(Stop),
                }
            })
        } else {
            match s.next() {
                Some(c) if c == f => Ok(()),
                _ => Err(Stop),
            }
        };
        if step.is_err() {
            break;
        }
    }
    values
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan(input: &str) -> Vec<String> {
        sscanf(input.as_bytes(), "%q) %s %q")
            .into_iter()
            .map(|v| String::from_utf8(v).unwrap())
            .collect()
    }

    #[test]
    fn scans_compares() {
        assert_eq!(scan("\"foo\") = \"bar\""), vec!["foo", "=", "bar"]);
        assert_eq!(scan("\"foo\")   !=   \"1\" junk"), vec!["foo", "!=", "1"]);
        assert_eq!(scan("`raw`) > \"\\x41\""), vec!["raw", ">", "A"]);
    }

    #[test]
    fn stops_where_go_stops() {
        assert_eq!(scan("\"foo\" ) = \"bar\""), vec!["foo"]);
        assert_eq!(scan("\"foo\")= \"bar\""), vec!["foo"]);
        assert_eq!(scan("foo) = \"bar\""), Vec::<String>::new());
        assert_eq!(scan("\"foo\") = bar"), vec!["foo", "="]);
        assert_eq!(scan("\"foo\") ="), vec!["foo", "="]);
    }
}
