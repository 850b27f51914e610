//! A JSON writer that produces exactly what Go's `encoding/json` produces for etcd's gogo
//! structs: fields in struct order, `omitempty` honoured by the caller, HTML-safe escaping.

use super::quote::decode_rune;

/// Appends `s` as a Go `encoding/json` string (with HTML escaping, invalid UTF-8 as U+FFFD).
pub fn write_str(out: &mut String, s: &[u8]) {
    write_escaped(out, s, true)
}

/// Appends `s` as zap's JSON encoder writes strings: as [`write_str`] but without
/// escaping `<`, `>`, `&`, U+2028 and U+2029.
pub fn write_zap_str(out: &mut String, s: &[u8]) {
    write_escaped(out, s, false)
}

fn write_escaped(out: &mut String, s: &[u8], html: bool) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push('"');
    let mut i = 0;
    while i < s.len() {
        let b = s[i];
        if b < 0x80 {
            match b {
                b'\\' | b'"' => {
                    out.push('\\');
                    out.push(b as char);
                }
                b'\n' => out.push_str("\\n"),
                b'\r' => out.push_str("\\r"),
                b'\t' => out.push_str("\\t"),
                b if b < 0x20 || (html && (b == b'<' || b == b'>' || b == b'&')) => {
                    out.push_str("\\u00");
                    out.push(HEX[usize::from(b >> 4)] as char);
                    out.push(HEX[usize::from(b & 0xf)] as char);
                }
                b => out.push(b as char),
            }
            i += 1;
            continue;
        }
        let (r, w) = decode_rune(&s[i..]);
        match r {
            None => out.push_str("\\ufffd"),
            Some('\u{2028}') if html => out.push_str("\\u2028"),
            Some('\u{2029}') if html => out.push_str("\\u2029"),
            Some(c) => out.push(c),
        }
        i += w;
    }
    out.push('"');
}

/// Standard base64 with padding, as `encoding/json` writes `[]byte`.
pub fn base64(b: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(b)
}

/// Builds one JSON object field by field.
pub struct Obj {
    buf: String,
    first: bool,
    /// Go `encoding/json`'s HTML-safe string escaping (zap's encoder has none).
    html: bool,
}

impl Default for Obj {
    fn default() -> Self {
        Self::new()
    }
}

impl Obj {
    /// Starts an object.
    pub fn new() -> Self {
        Obj {
            buf: String::from("{"),
            first: true,
            html: true,
        }
    }

    /// Starts an object whose strings are escaped as zap's JSON encoder does.
    pub fn zap() -> Self {
        Obj {
            html: false,
            ..Obj::new()
        }
    }

    fn key(&mut self, k: &str) {
        if !self.first {
            self.buf.push(',');
        }
        self.first = false;
        write_str(&mut self.buf, k.as_bytes());
        self.buf.push(':');
    }

    /// A field with an already-encoded JSON value.
    pub fn raw(&mut self, k: &str, v: &str) -> &mut Self {
        self.key(k);
        self.buf.push_str(v);
        self
    }

    /// A number field, omitted when zero if `omitempty`.
    pub fn num<N: std::fmt::Display + Default + PartialEq>(&mut self, k: &str, v: N) -> &mut Self {
        if v != N::default() {
            self.key(k);
            self.buf.push_str(&v.to_string());
        }
        self
    }

    /// A bool field, omitted when false (omitempty).
    pub fn bool_omit(&mut self, k: &str, v: bool) -> &mut Self {
        if v {
            self.raw(k, "true");
        }
        self
    }

    /// A bool field that is always present.
    pub fn bool(&mut self, k: &str, v: bool) -> &mut Self {
        self.raw(k, if v { "true" } else { "false" })
    }

    /// A string field, omitted when empty (omitempty).
    pub fn str_omit(&mut self, k: &str, v: &str) -> &mut Self {
        if !v.is_empty() {
            self.str(k, v);
        }
        self
    }

    /// A string field that is always present.
    pub fn str(&mut self, k: &str, v: &str) -> &mut Self {
        self.key(k);
        write_escaped(&mut self.buf, v.as_bytes(), self.html);
        self
    }

    /// A `[]byte` field (base64), omitted when empty.
    pub fn bytes_omit(&mut self, k: &str, v: &[u8]) -> &mut Self {
        if !v.is_empty() {
            self.key(k);
            self.buf.push('"');
            self.buf.push_str(&base64(v));
            self.buf.push('"');
        }
        self
    }

    /// A `[]string` field, omitted when empty.
    pub fn strs_omit(&mut self, k: &str, v: &[String]) -> &mut Self {
        if !v.is_empty() {
            let items: Vec<String> = v
                .iter()
                .map(|s| {
                    let mut o = String::new();
                    write_str(&mut o, s.as_bytes());
                    o
                })
                .collect();
            self.raw(k, &array(&items));
        }
        self
    }

    /// An optional nested object (already encoded), omitted when `None`.
    pub fn obj_omit(&mut self, k: &str, v: Option<String>) -> &mut Self {
        if let Some(v) = v {
            self.raw(k, &v);
        }
        self
    }

    /// A list of encoded values, omitted when empty.
    pub fn list_omit(&mut self, k: &str, items: &[String]) -> &mut Self {
        if !items.is_empty() {
            self.raw(k, &array(items));
        }
        self
    }

    /// Finishes the object.
    pub fn finish(&mut self) -> String {
        let mut out = std::mem::take(&mut self.buf);
        out.push('}');
        out
    }
}

/// `[a,b,...]` from encoded values.
pub fn array(items: &[String]) -> String {
    format!("[{}]", items.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_like_go() {
        let mut s = String::new();
        write_str(&mut s, b"a<b>&\"\\\n\x01\xff\xe2\x80\xa8");
        assert_eq!(
            s,
            "\"a\\u003cb\\u003e\\u0026\\\"\\\\\\n\\u0001\\ufffd\\u2028\""
        );
    }

    #[test]
    fn omits_empty_fields() {
        let json = Obj::new()
            .num("a", 0u64)
            .num("b", 5i64)
            .str_omit("c", "")
            .bytes_omit("d", b"foo")
            .bool_omit("e", false)
            .finish();
        assert_eq!(json, "{\"b\":5,\"d\":\"Zm9v\"}");
    }
}

#[cfg(test)]
mod zap_tests {
    use super::*;

    #[test]
    fn zap_strings_are_not_html_escaped() {
        let mut go = String::new();
        write_str(&mut go, "a&b<c>\u{2028}\n".as_bytes());
        assert_eq!(go, r#""a\u0026b\u003cc\u003e\u2028\n""#);
        let mut zap = String::new();
        write_zap_str(&mut zap, "a&b<c>\u{2028}\n".as_bytes());
        assert_eq!(zap, "\"a&b<c>\u{2028}\\n\"");
        assert_eq!(Obj::zap().str("p", "x&y").finish(), r#"{"p":"x&y"}"#);
    }
}
