//! etcd's `pkg/flags.SetPflagsFromEnv("ETCDCTL", ...)`: global flags may come from
//! `ETCDCTL_<FLAG_NAME>` environment variables, with capnslog warnings for unknown ones
//! and a fatal error when both a flag and its variable are given.

use super::flags::FlagSet;
use crate::exit::Exit;
use crate::go::time::capnslog_now;
use crate::out;

/// `FlagToEnv`: `ETCDCTL_` + upper-cased name with `-` replaced by `_`.
pub fn flag_to_env(name: &str) -> String {
    format!("ETCDCTL_{}", name.replace('-', "_").to_uppercase())
}

fn capnslog(level: char, msg: &str) -> String {
    format!("{} {level} | pkg/flags: {msg}\n", capnslog_now())
}

/// Flags whose variables are consumed without effect (etcdctl's `discardValue`: `watch`
/// reads `ETCDCTL_WATCH_KEY` and `ETCDCTL_WATCH_RANGE_END` itself).
pub const DISCARDED: [&str; 2] = ["watch-key", "watch-range-end"];

/// Applies the environment to the inherited (global) flags of `fs`. Invalid values are
/// ignored, as etcdctl ignores the error. Returns the capnslog fatal exit on a conflict.
pub fn apply(fs: &mut FlagSet) -> Result<(), Exit> {
    let names: Vec<&'static str> = fs
        .sorted()
        .into_iter()
        .filter(|f| f.inherited)
        .map(|f| f.spec.name)
        .collect();
    let mut already_set = Vec::new();
    let mut used = Vec::new();
    for name in names {
        let key = flag_to_env(name);
        if fs.changed(name) {
            already_set.push(key.clone());
        }
        if already_set.contains(&key) {
            continue;
        }
        if let Ok(val) = std::env::var(&key) {
            if !val.is_empty() {
                used.push(key);
                if !DISCARDED.contains(&name) {
                    let _ = fs.set(name, &val);
                }
            }
        }
    }
    for (k, v) in std::env::vars_os() {
        let key = k.to_string_lossy().into_owned();
        if used.contains(&key) {
            continue;
        }
        if already_set.contains(&key) {
            let msg = format!(
                "conflicting environment variable {} is shadowed by corresponding command-line flag (either unset environment variable or disable flag)",
                crate::go::quote::quote(key.as_bytes())
            );
            return Err(Exit {
                code: 1,
                stderr: capnslog('C', &msg),
            });
        }
        if key.starts_with("ETCDCTL_") {
            let msg = format!(
                "unrecognized environment variable {key}={}",
                v.to_string_lossy()
            );
            out::stderr(capnslog('W', &msg));
        }
    }
    Ok(())
}

/// `--debug`: prints every global flag as `ETCDCTL_NAME=value` on stderr.
pub fn print_debug(fs: &FlagSet) {
    for f in fs.sorted().into_iter().filter(|f| f.inherited) {
        out::stderr(format!(
            "{}={}\n",
            flag_to_env(f.spec.name),
            f.value.to_go_string()
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_names() {
        assert_eq!(flag_to_env("dial-timeout"), "ETCDCTL_DIAL_TIMEOUT");
        assert_eq!(flag_to_env("write-out"), "ETCDCTL_WRITE_OUT");
    }
}
