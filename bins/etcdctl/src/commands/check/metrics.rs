//! etcdctl's `endpointMemoryMetrics`: the server's `process_resident_memory_bytes`, read
//! from `<endpoint>/metrics` with a plain HTTP/1.1 GET. Failures are printed on stdout (as
//! etcdctl does) and read as 0. For an `https://` endpoint etcdctl first loads the
//! `--cert`/`--key` pair (and fails as it does when that is impossible); the TLS request
//! itself is not implemented here and reported as a fetch error.

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::super::{errno_text, path_error};
use crate::go::quote::quote;
use crate::out;

const RESIDENT_MEMORY: &str = "process_resident_memory_bytes";

/// The resident memory the server at `host` reports, 0 (after printing why) if unknown.
/// `key_pair`: the `--cert` and `--key` files.
pub async fn resident_memory(host: &str, key_pair: (&str, &str)) -> f64 {
    let host = if host.starts_with("http://") || host.starts_with("https://") {
        host.to_string()
    } else {
        format!("http://{host}")
    };
    let url = format!("{host}/metrics");
    if host.starts_with("https://") {
        // Go's tls.LoadX509KeyPair reads the certificate, then the key.
        for path in [key_pair.0, key_pair.1] {
            if let Err(e) = std::fs::read(path) {
                out::line(format!(
                    "client certificate error: {}",
                    path_error(path, &e)
                ));
                return 0.0;
            }
        }
    }
    let body = match get(&url).await {
        Ok(body) => body,
        Err(e) => {
            out::line(format!("fetch error: {e}"));
            return 0.0;
        }
    };
    let text = String::from_utf8_lossy(&body);
    let value = text
        .split('\n')
        .find_map(|line| line.strip_prefix(RESIDENT_MEMORY))
        .map(str::trim)
        .unwrap_or_default();
    if value.is_empty() {
        out::line(format!("could not find: {RESIDENT_MEMORY}"));
        return 0.0;
    }
    match value.parse::<f64>() {
        Ok(v) => v,
        Err(_) => {
            out::line(format!(
                "parse error: strconv.ParseFloat: parsing {}: invalid syntax",
                quote(value.as_bytes())
            ));
            0.0
        }
    }
}

/// GETs `url` and returns the body; the error reads like Go's `*url.Error`.
async fn get(url: &str) -> Result<Vec<u8>, String> {
    let Some(rest) = url.strip_prefix("http://") else {
        return Err(format!(
            "Get {}: https is not supported by this etcdctl's datascale check",
            quote(url.as_bytes())
        ));
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let addr = if authority
        .rsplit_once(':')
        .is_some_and(|(_, p)| !p.contains(']'))
    {
        authority.to_string()
    } else {
        format!("{authority}:80")
    };
    let fail = |what: String| format!("Get {}: {what}", quote(url.as_bytes()));
    let mut conn = TcpStream::connect(&addr)
        .await
        .map_err(|e| fail(format!("dial tcp {addr}: connect: {}", errno_text(&e))))?;
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {authority}\r\nUser-Agent: Go-http-client/1.1\r\nConnection: close\r\n\r\n"
    );
    conn.write_all(request.as_bytes())
        .await
        .map_err(|e| fail(errno_text(&e)))?;
    let mut raw = Vec::new();
    conn.read_to_end(&mut raw)
        .await
        .map_err(|e| format!("reading {url}: {}", errno_text(&e)))?;
    let Some(split) = raw.windows(4).position(|w| w == b"\r\n\r\n") else {
        return Err(fail("malformed HTTP response".to_string()));
    };
    let head = String::from_utf8_lossy(&raw[..split]).to_ascii_lowercase();
    let body = raw[split + 4..].to_vec();
    if head.contains("\r\ntransfer-encoding: chunked") {
        return Ok(dechunk(&body));
    }
    Ok(body)
}

/// Decodes a chunked HTTP body (as far as it is well-formed).
fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(eol) = b.windows(2).position(|w| w == b"\r\n") {
        let size_text = String::from_utf8_lossy(&b[..eol]);
        let size_text = size_text.split(';').next().unwrap_or("").trim();
        let Ok(size) = usize::from_str_radix(size_text, 16) else {
            break;
        };
        let start = eol + 2;
        if size == 0 || start + size > b.len() {
            break;
        }
        out.extend_from_slice(&b[start..start + size]);
        b = b.get(start + size + 2..).unwrap_or_default();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::dechunk;

    #[test]
    fn decodes_chunks() {
        assert_eq!(dechunk(b"3\r\nabc\r\n2;x=1\r\nde\r\n0\r\n\r\n"), b"abcde");
    }
}
