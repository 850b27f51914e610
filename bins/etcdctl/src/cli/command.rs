//! Finding the command named by the arguments and preparing its flags, as cobra's
//! `ExecuteC`/`Find`/`execute` do.

use super::flags::{Default, FlagSet, FlagSpec};
use super::spec::CommandSpec;

/// A command and its ancestors, root first.
#[derive(Debug, Clone)]
pub struct CmdPath(pub Vec<&'static CommandSpec>);

impl CmdPath {
    /// The command itself.
    pub fn cmd(&self) -> &'static CommandSpec {
        self.0[self.0.len() - 1]
    }

    /// cobra's `CommandPath()`: names from the root, space separated.
    pub fn command_path(&self) -> String {
        self.0
            .iter()
            .map(|c| c.name())
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// The path without the root's name (`endpoint status`), used to dispatch.
    pub fn key(&self) -> String {
        self.0[1..]
            .iter()
            .map(|c| c.name())
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// True for the root command.
    pub fn is_root(&self) -> bool {
        self.0.len() == 1
    }

    fn child(&self, c: &'static CommandSpec) -> CmdPath {
        let mut v = self.0.clone();
        v.push(c);
        CmdPath(v)
    }

    /// The full flag set of the command: its own flags and persistent flags, the
    /// persistent flags of its ancestors (marked inherited), and cobra's help flag.
    pub fn flag_set(&self) -> FlagSet {
        let mut fs = self.flag_set_without_help();
        let help = FlagSpec::short("help", 'h', Default::Bool(false), "");
        fs.add_with_usage(help, format!("help for {}", self.cmd().name()), false);
        fs
    }

    /// The flags cobra knows while searching for the command (no help flag yet).
    pub fn flag_set_without_help(&self) -> FlagSet {
        let mut fs = FlagSet::default();
        let cmd = self.cmd();
        for f in cmd.flags.iter().chain(cmd.persistent) {
            fs.add(*f, false);
        }
        for parent in self.0[..self.0.len() - 1].iter().rev() {
            for f in parent.persistent {
                fs.add(*f, true);
            }
        }
        fs
    }
}

/// cobra's `stripFlags`: the non-flag words of `args`, skipping values of flags that take
/// one.
fn strip_flags(args: &[String], fs: &FlagSet) -> Vec<String> {
    let mut commands = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let s = &args[i];
        i += 1;
        if s == "--" {
            break;
        }
        let long_with_value =
            s.starts_with("--") && !s.contains('=') && !fs.has_no_opt_def_val(&s[2..], false);
        let short_with_value = s.starts_with('-')
            && !s.contains('=')
            && s.len() == 2
            && !fs.has_no_opt_def_val(&s[1..], true);
        if long_with_value || short_with_value {
            if args.len() - i <= 1 {
                break;
            }
            i += 1;
        } else if !s.is_empty() && !s.starts_with('-') {
            commands.push(s.clone());
        }
    }
    commands
}

/// cobra's `findNext` with prefix matching enabled.
fn find_next(cmd: &'static CommandSpec, next: &str) -> Option<&'static CommandSpec> {
    if let Some(c) = cmd.subcommands.iter().find(|c| c.name() == next) {
        return Some(c);
    }
    let mut matches = cmd
        .subcommands
        .iter()
        .filter(|c| c.name().starts_with(next));
    match (matches.next(), matches.next()) {
        (Some(c), None) => Some(c),
        _ => None,
    }
}

/// Removes the first occurrence of `x` from `args`.
fn args_minus_first(args: &[String], x: &str) -> Vec<String> {
    let mut out = args.to_vec();
    if let Some(i) = out.iter().position(|a| a == x) {
        out.remove(i);
    }
    out
}

/// cobra's `Find`: the command named by `args` and the remaining arguments, or the
/// "unknown command" error of the root.
pub fn find(root: &'static CommandSpec, args: &[String]) -> (CmdPath, Vec<String>, Option<String>) {
    let mut path = CmdPath(vec![root]);
    let mut args = args.to_vec();
    loop {
        let words = strip_flags(&args, &path.flag_set_without_help());
        let Some(next) = words.first() else { break };
        match find_next(path.cmd(), next) {
            Some(c) => {
                args = args_minus_first(&args, next);
                path = path.child(c);
            }
            None => break,
        }
    }
    let words = strip_flags(&args, &path.flag_set_without_help());
    let err = match words.first() {
        Some(first) if path.is_root() && !path.cmd().subcommands.is_empty() => Some(format!(
            "unknown command {} for {}{}",
            crate::go::quote::quote(first.as_bytes()),
            crate::go::quote::quote(path.command_path().as_bytes()),
            suggestions(path.cmd(), first)
        )),
        _ => None,
    };
    (path, args, err)
}

/// cobra's Levenshtein distance (case-insensitive).
fn ld(s: &str, t: &str) -> usize {
    let s = s.to_lowercase().into_bytes();
    let t = t.to_lowercase().into_bytes();
    let mut d = vec![vec![0usize; t.len() + 1]; s.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for j in 1..=t.len() {
        for i in 1..=s.len() {
            d[i][j] = if s[i - 1] == t[j - 1] {
                d[i - 1][j - 1]
            } else {
                1 + d[i - 1][j].min(d[i][j - 1]).min(d[i - 1][j - 1])
            };
        }
    }
    d[s.len()][t.len()]
}

/// cobra's `findSuggestions`: "\n\nDid you mean this?\n\t<name>\n..." or "".
fn suggestions(cmd: &'static CommandSpec, typed: &str) -> String {
    let names: Vec<&str> = cmd
        .subcommands
        .iter()
        .filter(|c| c.name() != "help" && (c.runnable || !c.subcommands.is_empty()))
        .filter(|c| {
            ld(typed, c.name()) <= 2 || c.name().to_lowercase().starts_with(&typed.to_lowercase())
        })
        .map(|c| c.name())
        .collect();
    if names.is_empty() {
        return String::new();
    }
    let mut s = String::from("\n\nDid you mean this?\n");
    for n in names {
        s.push('\t');
        s.push_str(n);
        s.push('\n');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::super::spec::ROOT;
    use super::*;

    fn args(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn finds_nested_commands_past_global_flags() {
        let (p, rest, err) = find(
            &ROOT,
            &args(&["--endpoints", "x", "endpoint", "-w", "json", "status"]),
        );
        assert!(err.is_none());
        assert_eq!(p.key(), "endpoint status");
        assert_eq!(rest, args(&["--endpoints", "x", "-w", "json"]));
    }

    #[test]
    fn prefix_matching_and_suggestions() {
        let (p, _, _) = find(&ROOT, &args(&["ver"]));
        assert_eq!(p.key(), "version");
        let (p, _, err) = find(&ROOT, &args(&["e"]));
        assert!(p.is_root());
        assert_eq!(
            err.unwrap(),
            "unknown command \"e\" for \"etcdctl\"\n\nDid you mean this?\n\tget\n\tdel\n\tendpoint\n\telect\n"
        );
    }

    #[test]
    fn flag_set_inherits_persistent_flags() {
        let (p, _, _) = find(&ROOT, &args(&["endpoint", "hashkv"]));
        let fs = p.flag_set();
        assert!(fs.lookup("cluster").unwrap().inherited);
        assert!(!fs.lookup("rev").unwrap().inherited);
        assert!(fs.lookup("endpoints").unwrap().inherited);
        assert_eq!(fs.lookup("help").unwrap().usage, "help for hashkv");
    }
}
