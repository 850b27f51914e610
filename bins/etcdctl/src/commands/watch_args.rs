//! etcdctl's `parseWatchArgs`: splitting a watch command line into the watched key (and
//! range end) and the command to run per event (after `--`), with the key possibly coming
//! from `ETCDCTL_WATCH_KEY` / `ETCDCTL_WATCH_RANGE_END`.

use crate::cli::flags::FlagSet;

pub const ERR_BAD_ARGS_NUM: &str = "bad number of arguments";
const ERR_CONFLICT_ENV: &str = "bad number of arguments (found conflicting environment key)";
const ERR_SEPARATOR: &str = "bad number of arguments (found separator --, but no commands)";
const ERR_INTERACTIVE: &str = "args[0] must be 'watch' for interactive calls";

/// What to watch and how.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WatchArgs {
    /// Key and optional range end (more words are ignored, as etcdctl does).
    pub watch: Vec<String>,
    /// The command to run per event, empty for none.
    pub exec: Vec<String>,
    /// Options of an interactive `watch` line (`None` outside interactive mode, where the
    /// command line's flags apply).
    pub opts: Option<WatchOpts>,
}

/// The flags of an interactive `watch` line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WatchOpts {
    /// `--prefix`.
    pub prefix: bool,
    /// `--rev`.
    pub rev: i64,
    /// `--prev-kv`.
    pub prev_kv: bool,
}

/// The `ETCDCTL_WATCH_KEY` / `ETCDCTL_WATCH_RANGE_END` pair.
#[derive(Debug, Clone, Copy)]
pub struct EnvKey<'a> {
    pub key: &'a str,
    pub range: &'a str,
}

/// `parseWatchArgs(osArgs, commandArgs, envKey, envRange, interactive)`. `flags` builds a
/// fresh flag set of the watch command (interactive lines are parsed with it).
pub fn parse(
    os_args: &[String],
    command_args: &[String],
    env: EnvKey,
    interactive: bool,
    flags: impl Fn() -> FlagSet,
) -> Result<WatchArgs, String> {
    let mut raw: &[String] = os_args;
    let mut watch_args: Vec<String> = command_args.to_vec();
    if let Some(i) = raw.iter().position(|a| a == "watch") {
        raw = &raw[i + 1..];
    }
    if interactive {
        if watch_args.first().map(String::as_str) != Some("watch") {
            return Err(ERR_INTERACTIVE.to_string());
        }
        watch_args.remove(0);
    }
    let mut opts = None;
    let args_with_sep: Vec<String>;
    if !interactive {
        let exec_idx = raw.iter().position(|a| a == "--");
        if exec_idx.is_some_and(|i| i + 1 == raw.len()) {
            return Err(ERR_SEPARATOR.to_string());
        }
        if exec_idx.is_none() && raw.is_empty() && env.key.is_empty() {
            return Err(ERR_BAD_ARGS_NUM.to_string());
        }
        if let (Some(exec_idx), false) = (exec_idx, env.key.is_empty()) {
            check_env_conflict(&watch_args, raw, exec_idx)?;
        }
        if exec_idx.is_none() && !watch_args.is_empty() && !env.key.is_empty() {
            return Err(ERR_CONFLICT_ENV.to_string());
        }
        args_with_sep = raw.to_vec();
    } else {
        let exec_idx = watch_args.iter().position(|a| a == "--");
        if exec_idx.is_some_and(|i| i + 1 == watch_args.len()) {
            return Err(ERR_SEPARATOR.to_string());
        }
        let positional = flags().parse(&watch_args)?;
        if exec_idx.is_none() && env.key.is_empty() && positional.is_empty() {
            return Err(ERR_BAD_ARGS_NUM.to_string());
        }
        if exec_idx.is_none() && !positional.is_empty() && !env.key.is_empty() {
            return Err(ERR_CONFLICT_ENV.to_string());
        }
        args_with_sep = watch_args.clone();
        let mut fs = flags();
        watch_args = fs.parse(&args_with_sep)?;
        opts = Some(WatchOpts {
            prefix: fs.get_bool("prefix"),
            rev: fs.get_int("rev"),
            prev_kv: fs.get_bool("prev-kv"),
        });
    }
    let sep = args_with_sep.iter().position(|a| a == "--");
    let exec = sep.map_or_else(Vec::new, |i| args_with_sep[i + 1..].to_vec());
    if !env.key.is_empty() {
        let mut ranges = vec![env.key.to_string()];
        if !env.range.is_empty() {
            ranges.push(env.range.to_string());
        }
        ranges.append(&mut watch_args);
        watch_args = ranges;
    }
    if let Some(first_exec) = exec.first() {
        // The flag parser appended the exec words to the positional ones: cut them off at
        // the last occurrence of the command's first word.
        let end = watch_args
            .iter()
            .rposition(|a| a == first_exec)
            .unwrap_or(0);
        watch_args.truncate(end);
    }
    Ok(WatchArgs {
        watch: watch_args,
        exec,
        opts,
    })
}

/// `ETCDCTL_WATCH_KEY=foo watch foo -- echo 1`: positional words before `--` conflict with
/// the key from the environment.
fn check_env_conflict(
    watch_args: &[String],
    raw: &[String],
    exec_idx: usize,
) -> Result<(), String> {
    let mut ridx = raw.len() as isize - 1;
    for w in watch_args.iter().rev() {
        if ridx >= 0 && *w == raw[ridx as usize] {
            ridx -= 1;
            continue;
        }
        if ridx == exec_idx as isize {
            return Err(ERR_CONFLICT_ENV.to_string());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::flags::Default as D;
    use crate::cli::flags::FlagSpec;

    fn strs(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    fn watch_flags() -> FlagSet {
        let mut fs = FlagSet::default();
        fs.add(
            FlagSpec::short("interactive", 'i', D::Bool(false), ""),
            false,
        );
        fs.add(FlagSpec::new("prefix", D::Bool(false), ""), false);
        fs.add(FlagSpec::new("rev", D::Int(0), ""), false);
        fs.add(FlagSpec::new("prev-kv", D::Bool(false), ""), false);
        fs
    }

    const NO_ENV: EnvKey = EnvKey { key: "", range: "" };

    #[test]
    fn exec_words_are_split_off() {
        let os = strs(&[
            "etcdctl", "watch", "foo", "bar", "--rev", "1", "--", "echo", "hi",
        ]);
        let got = parse(
            &os,
            &strs(&["foo", "bar", "echo", "hi"]),
            NO_ENV,
            false,
            watch_flags,
        );
        assert_eq!(got.unwrap().watch, strs(&["foo", "bar"]));
        let got = parse(
            &os,
            &strs(&["foo", "bar", "echo", "hi"]),
            NO_ENV,
            false,
            watch_flags,
        );
        assert_eq!(got.unwrap().exec, strs(&["echo", "hi"]));
    }

    #[test]
    fn errors_like_etcdctl() {
        let os = strs(&["etcdctl", "watch", "foo", "--"]);
        assert_eq!(
            parse(&os, &strs(&["foo"]), NO_ENV, false, watch_flags),
            Err(ERR_SEPARATOR.into())
        );
        let os = strs(&["etcdctl", "watch"]);
        assert_eq!(
            parse(&os, &[], NO_ENV, false, watch_flags),
            Err(ERR_BAD_ARGS_NUM.into())
        );
        let env = EnvKey {
            key: "k",
            range: "",
        };
        let os = strs(&["etcdctl", "watch", "foo"]);
        assert_eq!(
            parse(&os, &strs(&["foo"]), env, false, watch_flags),
            Err(ERR_CONFLICT_ENV.into())
        );
    }

    #[test]
    fn interactive_lines_carry_their_flags() {
        let line = strs(&["watch", "--prefix", "a", "--rev=3"]);
        let got = parse(&[], &line, NO_ENV, true, watch_flags).unwrap();
        assert_eq!(got.watch, strs(&["a"]));
        assert_eq!(
            got.opts,
            Some(WatchOpts {
                prefix: true,
                rev: 3,
                prev_kv: false
            })
        );
        let got = parse(&[], &strs(&["put", "a"]), NO_ENV, true, watch_flags);
        assert_eq!(got, Err(ERR_INTERACTIVE.into()));
    }
}
