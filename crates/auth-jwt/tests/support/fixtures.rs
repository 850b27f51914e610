//! The test keys of `tests/fixtures` (see its README) and `--auth-token` options naming them.

/// The path of fixture `name`.
pub fn fixture(name: &str) -> String {
    format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// `sign-method=METHOD[,priv-key=PATH][,pub-key=PATH]` for fixture names (empty: left out).
pub fn options(method: &str, priv_key: &str, pub_key: &str) -> String {
    let mut opts = format!("sign-method={method}");
    for (option, name) in [("priv-key", priv_key), ("pub-key", pub_key)] {
        if !name.is_empty() {
            opts.push_str(&format!(",{option}={}", fixture(name)));
        }
    }
    opts
}
