//! Go's `net/url.Parse` (Go 1.19, which etcdctl 3.4.23 is built with) and
//! `net.SplitHostPort`, as far as etcd's URL checks need them: the parts of the URL and the
//! exact error texts.

use super::quote::quote;

/// The parts of a parsed URL that etcd looks at.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Url {
    /// Lower-cased scheme ("" if none).
    pub scheme: String,
    /// Opaque part of a rootless URL (`scheme:opaque`).
    pub opaque: String,
    /// `host[:port]`, unescaped.
    pub host: String,
    /// Path, unescaped.
    pub path: String,
}

/// The `url.Error` text: `parse "<url>": <err>`.
fn url_error(raw: &str, err: String) -> String {
    format!("parse {}: {err}", quote(raw.as_bytes()))
}

/// `url.Parse`.
pub fn parse(raw: &str) -> Result<Url, String> {
    let (u, frag) = raw.split_once('#').unwrap_or((raw, ""));
    let url = parse_inner(u).map_err(|e| url_error(u, e))?;
    if !frag.is_empty() {
        unescape(frag, Mode::Fragment).map_err(|e| url_error(raw, e))?;
    }
    Ok(url)
}

/// Go's `parse(rawURL, viaRequest=false)`.
fn parse_inner(raw: &str) -> Result<Url, String> {
    if raw.bytes().any(|b| b < b' ' || b == 0x7f) {
        return Err("net/url: invalid control character in URL".to_string());
    }
    let mut url = Url::default();
    if raw == "*" {
        url.path = "*".to_string();
        return Ok(url);
    }
    let (scheme, rest) = get_scheme(raw)?;
    url.scheme = scheme.to_ascii_lowercase();
    let mut rest = if rest.ends_with('?') && rest.matches('?').count() == 1 {
        &rest[..rest.len() - 1]
    } else {
        rest.split_once('?').map_or(rest, |(r, _)| r)
    };
    if !rest.starts_with('/') {
        if !url.scheme.is_empty() {
            url.opaque = rest.to_string();
            return Ok(url);
        }
        let segment = rest.split_once('/').map_or(rest, |(s, _)| s);
        if segment.contains(':') {
            return Err("first path segment in URL cannot contain colon".to_string());
        }
    }
    if (!url.scheme.is_empty() || !rest.starts_with("///")) && rest.starts_with("//") {
        let authority = &rest[2..];
        let (authority, path) = match authority.find('/') {
            Some(i) => (&authority[..i], &authority[i..]),
            None => (authority, ""),
        };
        url.host = parse_authority(authority)?;
        rest = path;
    }
    url.path = unescape(rest, Mode::Path)?;
    Ok(url)
}

/// `getScheme`: the scheme before the first `:`, if the text before it is one.
fn get_scheme(raw: &str) -> Result<(&str, &str), String> {
    for (i, c) in raw.bytes().enumerate() {
        match c {
            b'a'..=b'z' | b'A'..=b'Z' => {}
            b'0'..=b'9' | b'+' | b'-' | b'.' if i == 0 => return Ok(("", raw)),
            b'0'..=b'9' | b'+' | b'-' | b'.' => {}
            b':' if i == 0 => return Err("missing protocol scheme".to_string()),
            b':' => return Ok((&raw[..i], &raw[i + 1..])),
            _ => return Ok(("", raw)),
        }
    }
    Ok(("", raw))
}

/// `parseAuthority`: the host of `[userinfo@]host`, with the userinfo checked.
fn parse_authority(authority: &str) -> Result<String, String> {
    let at = authority.rfind('@');
    let host = parse_host(at.map_or(authority, |i| &authority[i + 1..]))?;
    if let Some(i) = at {
        let userinfo = &authority[..i];
        if !valid_userinfo(userinfo) {
            return Err("net/url: invalid userinfo".to_string());
        }
        for part in userinfo.splitn(2, ':') {
            unescape(part, Mode::UserPassword)?;
        }
    }
    Ok(host)
}

fn valid_userinfo(s: &str) -> bool {
    s.chars().all(|c| {
        c.is_ascii_alphanumeric()
            || matches!(
                c,
                '-' | '.'
                    | '_'
                    | ':'
                    | '~'
                    | '!'
                    | '$'
                    | '&'
                    | '\''
                    | '('
                    | ')'
                    | '*'
                    | '+'
                    | ','
                    | ';'
                    | '='
                    | '%'
                    | '@'
            )
    })
}

fn invalid_port(colon_port: &str) -> String {
    format!("invalid port {} after host", quote(colon_port.as_bytes()))
}

/// `validOptionalPort`: "" or `:` followed by digits.
fn valid_optional_port(port: &str) -> bool {
    port.is_empty()
        || port
            .strip_prefix(':')
            .is_some_and(|p| p.bytes().all(|b| b.is_ascii_digit()))
}

/// `parseHost`: `host[:port]`, or an IP literal `[...]` with an optional zone.
fn parse_host(host: &str) -> Result<String, String> {
    if host.starts_with('[') {
        let i = host
            .rfind(']')
            .ok_or_else(|| "missing ']' in host".to_string())?;
        let colon_port = &host[i + 1..];
        if !valid_optional_port(colon_port) {
            return Err(invalid_port(colon_port));
        }
        if let Some(zone) = host[..i].find("%25") {
            let h1 = unescape(&host[..zone], Mode::Host)?;
            let h2 = unescape(&host[zone..i], Mode::Zone)?;
            let h3 = unescape(&host[i..], Mode::Host)?;
            return Ok(h1 + &h2 + &h3);
        }
    } else if let Some(i) = host.rfind(':') {
        let colon_port = &host[i..];
        if !valid_optional_port(colon_port) {
            return Err(invalid_port(colon_port));
        }
    }
    unescape(host, Mode::Host)
}

/// Go's `encoding` modes that parsing uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Path,
    Host,
    Zone,
    UserPassword,
    Fragment,
}

/// `shouldEscape` for the characters a host or zone may not contain unescaped.
fn should_escape_host(c: u8) -> bool {
    !(c.is_ascii_alphanumeric()
        || matches!(
            c,
            b'!' | b'$'
                | b'&'
                | b'\''
                | b'('
                | b')'
                | b'*'
                | b'+'
                | b','
                | b';'
                | b'='
                | b':'
                | b'['
                | b']'
                | b'<'
                | b'>'
                | b'"'
                | b'-'
                | b'_'
                | b'.'
                | b'~'
        ))
}

fn unhex(c: u8) -> u8 {
    match c {
        b'0'..=b'9' => c - b'0',
        b'a'..=b'f' => c - b'a' + 10,
        b'A'..=b'F' => c - b'A' + 10,
        _ => 0,
    }
}

fn escape_error(s: &[u8]) -> String {
    format!("invalid URL escape {}", quote(s))
}

/// `unescape`: checks `%` escapes (and host characters) and decodes them.
fn unescape(s: &str, mode: Mode) -> Result<String, String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' => {
                if i + 2 >= b.len()
                    || !b[i + 1].is_ascii_hexdigit()
                    || !b[i + 2].is_ascii_hexdigit()
                {
                    return Err(escape_error(&b[i..b.len().min(i + 3)]));
                }
                let esc = &b[i..i + 3];
                let v = unhex(b[i + 1]) << 4 | unhex(b[i + 2]);
                if mode == Mode::Host && unhex(b[i + 1]) < 8 && esc != b"%25" {
                    return Err(escape_error(esc));
                }
                if mode == Mode::Zone && esc != b"%25" && v != b' ' && should_escape_host(v) {
                    return Err(escape_error(esc));
                }
                out.push(v);
                i += 3;
            }
            c => {
                if matches!(mode, Mode::Host | Mode::Zone) && c < 0x80 && should_escape_host(c) {
                    return Err(format!(
                        "invalid character {} in host name",
                        quote(&b[i..i + 1])
                    ));
                }
                out.push(c);
                i += 1;
            }
        }
    }
    Ok(String::from_utf8_lossy(&out).into_owned())
}

/// `net.SplitHostPort`: `host:port` or `[host]:port`; the error is Go's reason.
pub fn split_host_port(hostport: &str) -> Result<(&str, &str), &'static str> {
    const MISSING_PORT: &str = "missing port in address";
    const TOO_MANY_COLONS: &str = "too many colons in address";
    let i = hostport.rfind(':').ok_or(MISSING_PORT)?;
    let (host, j, k) = if hostport.starts_with('[') {
        let end = hostport.find(']').ok_or("missing ']' in address")?;
        if end + 1 == hostport.len() {
            return Err(MISSING_PORT);
        }
        if end + 1 != i {
            return Err(if hostport.as_bytes()[end + 1] == b':' {
                TOO_MANY_COLONS
            } else {
                MISSING_PORT
            });
        }
        (&hostport[1..end], 1, end + 1)
    } else {
        let host = &hostport[..i];
        if host.contains(':') {
            return Err(TOO_MANY_COLONS);
        }
        (host, 0, 0)
    };
    if hostport[j..].contains('[') {
        return Err("unexpected '[' in address");
    }
    if hostport[k..].contains(']') {
        return Err("unexpected ']' in address");
    }
    Ok((host, &hostport[i + 1..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_urls() {
        let u = parse("HTTP://127.0.0.1:2380").unwrap();
        assert_eq!(
            (u.scheme.as_str(), u.host.as_str(), u.path.as_str()),
            ("http", "127.0.0.1:2380", "")
        );
        let u = parse("http://u:p@[::1]:1/a%20b?q#f").unwrap();
        assert_eq!((u.host.as_str(), u.path.as_str()), ("[::1]:1", "/a b"));
        assert_eq!(parse("http:foo").unwrap().opaque, "foo");
        assert_eq!(parse("foo").unwrap().path, "foo");
    }

    #[test]
    fn parse_errors_like_go() {
        let err = |s: &str| parse(s).unwrap_err();
        assert_eq!(err(":foo"), "parse \":foo\": missing protocol scheme");
        assert_eq!(
            err("http://a b:1"),
            "parse \"http://a b:1\": invalid character \" \" in host name"
        );
        assert_eq!(
            err("http://a:x"),
            "parse \"http://a:x\": invalid port \":x\" after host"
        );
        assert_eq!(
            err("http://[::1"),
            "parse \"http://[::1\": missing ']' in host"
        );
        assert_eq!(
            err("http://a/%zz"),
            "parse \"http://a/%zz\": invalid URL escape \"%zz\""
        );
        assert_eq!(
            err("a\tb"),
            "parse \"a\\tb\": net/url: invalid control character in URL"
        );
        assert_eq!(
            err("1a:b/c"),
            "parse \"1a:b/c\": first path segment in URL cannot contain colon"
        );
        assert_eq!(
            err("http://a/#%"),
            "parse \"http://a/#%\": invalid URL escape \"%\""
        );
        assert_eq!(
            err("http://a b@c:1"),
            "parse \"http://a b@c:1\": net/url: invalid userinfo"
        );
    }

    #[test]
    fn splits_host_and_port() {
        assert_eq!(split_host_port("a:1"), Ok(("a", "1")));
        assert_eq!(split_host_port("[::1]:1"), Ok(("::1", "1")));
        assert_eq!(split_host_port("a:"), Ok(("a", "")));
        assert_eq!(split_host_port("a"), Err("missing port in address"));
        assert_eq!(split_host_port("::1"), Err("too many colons in address"));
        assert_eq!(split_host_port("[::1]"), Err("missing port in address"));
    }
}
