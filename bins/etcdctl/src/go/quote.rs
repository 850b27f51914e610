//! Go's `strconv.Quote` (the `%q` verb) over arbitrary bytes.

/// Decodes one UTF-8 sequence at the start of `b` like Go's `utf8.DecodeRune`:
/// returns `(rune, width)`, with `(None, 1)` for an invalid or truncated sequence.
pub fn decode_rune(b: &[u8]) -> (Option<char>, usize) {
    let len = match b.first() {
        None => return (None, 0),
        Some(&c) if c < 0x80 => return (Some(c as char), 1),
        Some(&c) if (0xC2..=0xDF).contains(&c) => 2,
        Some(&c) if (0xE0..=0xEF).contains(&c) => 3,
        Some(&c) if (0xF0..=0xF4).contains(&c) => 4,
        Some(_) => return (None, 1),
    };
    match b.get(..len).map(std::str::from_utf8) {
        Some(Ok(s)) => (s.chars().next(), len),
        _ => (None, 1),
    }
}

/// Go's `unicode.IsPrint`, approximated without Unicode tables: ASCII graphic characters
/// and space, and every other character except controls, non-ASCII spaces, format
/// characters, private-use characters and noncharacters.
pub fn is_print(c: char) -> bool {
    let u = c as u32;
    if u < 0x80 {
        return (0x20..0x7f).contains(&u);
    }
    !matches!(u,
        0x80..=0xa0 | 0xad | 0x600..=0x605 | 0x61c | 0x6dd | 0x70f | 0x1680 | 0x180e
        | 0x2000..=0x200f | 0x2028..=0x202f | 0x205f..=0x2064 | 0x2066..=0x206f | 0x3000
        | 0xd800..=0xf8ff | 0xfeff | 0xfff9..=0xfffb | 0xfdd0..=0xfdef | 0xe0001 | 0xe0020..=0xe007f
        | 0xf0000..=0x10ffff)
        && (u & 0xfffe) != 0xfffe
}

/// `strconv.Quote(string(b))`: a double-quoted Go string literal.
pub fn quote(b: &[u8]) -> String {
    quote_with(b, '"')
}

/// Quoting with the given quote character (`"` or `` ` `` is not supported by Go here, only
/// `"` and `'` are used).
pub fn quote_with(b: &[u8], q: char) -> String {
    let mut out = String::with_capacity(b.len() + 2);
    out.push(q);
    let mut i = 0;
    while i < b.len() {
        let (r, w) = decode_rune(&b[i..]);
        match r {
            None => out.push_str(&format!("\\x{:02x}", b[i])),
            Some(c) => escape_rune(&mut out, c, q),
        }
        i += w;
    }
    out.push(q);
    out
}

fn escape_rune(out: &mut String, c: char, q: char) {
    if c == q || c == '\\' {
        out.push('\\');
        out.push(c);
        return;
    }
    if is_print(c) {
        out.push(c);
        return;
    }
    match c {
        '\x07' => out.push_str("\\a"),
        '\x08' => out.push_str("\\b"),
        '\x0c' => out.push_str("\\f"),
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        '\x0b' => out.push_str("\\v"),
        c if (c as u32) < 0x20 || c as u32 == 0x7f => out.push_str(&format!("\\x{:02x}", c as u32)),
        c if (c as u32) < 0x10000 => out.push_str(&format!("\\u{:04x}", c as u32)),
        c => out.push_str(&format!("\\U{:08x}", c as u32)),
    }
}

/// Go's `%#q` of a string slice (`[` `` `a` `` ` ` ... `]`), used by cobra's help command.
pub fn backquote_list(items: &[String]) -> String {
    let parts: Vec<String> = items
        .iter()
        .map(|s| {
            if !s.contains('`')
                && s.chars()
                    .all(|c| c == '\t' || (is_print(c) && c != '\u{feff}'))
            {
                format!("`{s}`")
            } else {
                quote(s.as_bytes())
            }
        })
        .collect();
    format!("[{}]", parts.join(" "))
}

/// Go's `strconv.Unquote` for double-quoted and back-quoted literals (what `fmt`'s `%q`
/// scanning accepts). Returns `None` for invalid syntax.
pub fn unquote(s: &str) -> Option<Vec<u8>> {
    let bytes = s.as_bytes();
    if bytes.len() < 2 {
        return None;
    }
    let (first, last) = (bytes[0], bytes[bytes.len() - 1]);
    let body = &s[1..s.len() - 1];
    if first == b'`' && last == b'`' {
        if body.contains('`') {
            return None;
        }
        return Some(body.replace('\r', "").into_bytes());
    }
    if first != b'"' || last != b'"' || body.contains('\n') {
        return None;
    }
    let mut out = Vec::with_capacity(body.len());
    let mut chars = body.char_indices().peekable();
    let b = body.as_bytes();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return None,
            '\\' => {
                let (_, e) = chars.next()?;
                match e {
                    'a' => out.push(7),
                    'b' => out.push(8),
                    'f' => out.push(12),
                    'n' => out.push(b'\n'),
                    'r' => out.push(b'\r'),
                    't' => out.push(b'\t'),
                    'v' => out.push(11),
                    '\\' => out.push(b'\\'),
                    '"' => out.push(b'"'),
                    '0'..='7' => {
                        let digits = b.get(i + 1..i + 4)?;
                        let v = std::str::from_utf8(digits).ok()?;
                        let n = u32::from_str_radix(v, 8).ok()?;
                        if n > 255 || !v.bytes().all(|d| (b'0'..=b'7').contains(&d)) {
                            return None;
                        }
                        out.push(n as u8);
                        chars.next();
                        chars.next();
                    }
                    'x' | 'u' | 'U' => {
                        let n = match e {
                            'x' => 2,
                            'u' => 4,
                            _ => 8,
                        };
                        let digits = std::str::from_utf8(b.get(i + 2..i + 2 + n)?).ok()?;
                        if !digits.bytes().all(|d| d.is_ascii_hexdigit()) {
                            return None;
                        }
                        let v = u32::from_str_radix(digits, 16).ok()?;
                        for _ in 0..n {
                            chars.next();
                        }
                        if e == 'x' {
                            out.push(v as u8);
                        } else {
                            let ch = char::from_u32(v)?;
                            out.extend_from_slice(ch.encode_utf8(&mut [0; 4]).as_bytes());
                        }
                    }
                    _ => return None,
                }
            }
            c => out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes()),
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_like_go() {
        assert_eq!(quote(b"foo"), "\"foo\"");
        assert_eq!(quote(b"a\"b\\c"), "\"a\\\"b\\\\c\"");
        assert_eq!(quote(b"\n\t\x00\x7f"), "\"\\n\\t\\x00\\x7f\"");
        assert_eq!(quote(b"\xff\xfe"), "\"\\xff\\xfe\"");
        assert_eq!(quote("héllo ✓".as_bytes()), "\"héllo ✓\"");
        assert_eq!(quote("\u{a0}\u{feff}".as_bytes()), "\"\\u00a0\\ufeff\"");
    }

    #[test]
    fn unquotes_like_go() {
        assert_eq!(unquote("\"a\\nb\"").unwrap(), b"a\nb");
        assert_eq!(unquote("\"\\x41\\101\\u00e9\"").unwrap(), "AAé".as_bytes());
        assert_eq!(unquote("`raw\\n`").unwrap(), b"raw\\n");
        assert!(unquote("\"bad\\q\"").is_none());
        assert!(unquote("\"open").is_none());
    }

    #[test]
    fn backquotes_lists() {
        assert_eq!(
            backquote_list(&["foo".into(), "a`b".into()]),
            "[`foo` \"a`b\"]"
        );
    }
}
