//! etcdctl's help/usage page (`ctlv3/help.go`): its template rendered for a command and
//! aligned by Go's tabwriter.

use super::command::CmdPath;
use super::flags::{Flag, Value};
use super::spec::CommandSpec;
use super::tabwriter;
use crate::go::quote::quote;

/// etcd version and API version shown on the root page.
pub const VERSION: &str = "3.4.23";
/// The API version.
pub const API_VERSION: &str = "3.4";

/// `etcdFlagUsages`: one line per flag (`  -w, --write-out="simple"\t<usage>`).
fn flag_usages(flags: &[&Flag]) -> String {
    let mut out = String::new();
    for f in flags {
        match f.spec.shorthand {
            Some(s) => out.push_str(&format!("  -{s}, --{}", f.spec.name)),
            None => out.push_str(&format!("      --{}", f.spec.name)),
        }
        let bracket = f.no_opt_def_val().is_some();
        if bracket {
            out.push('[');
        }
        let def = f.def_value();
        if matches!(f.value, Value::Str(_)) {
            out.push('=');
            out.push_str(&quote(def.as_bytes()));
        } else {
            out.push('=');
            out.push_str(&def);
        }
        if bracket {
            out.push(']');
        }
        out.push('\t');
        out.push_str(&f.usage);
        out.push('\n');
    }
    out
}

/// The template's `cmdName`: names from (excluding) `start` down to `path`'s command.
fn cmd_name(path: &[&'static CommandSpec], start: usize) -> String {
    path[start + 1..]
        .iter()
        .map(|c| c.name())
        .collect::<Vec<_>>()
        .join(" ")
}

/// `getSubCommands`: all descendants, depth first, each level sorted by name.
fn sub_commands(path: &[&'static CommandSpec], out: &mut Vec<Vec<&'static CommandSpec>>) {
    let cmd = path[path.len() - 1];
    let mut subs: Vec<&'static CommandSpec> = cmd.subcommands.iter().collect();
    subs.sort_by_key(|c| c.name());
    for sub in subs {
        let mut p = path.to_vec();
        p.push(sub);
        out.push(p.clone());
        sub_commands(&p, out);
    }
}

/// cobra's `UseLine()`.
pub fn use_line(path: &CmdPath) -> String {
    let cmd = path.cmd();
    let mut line = if path.is_root() {
        cmd.use_line.to_string()
    } else {
        let parent = CmdPath(path.0[..path.0.len() - 1].to_vec());
        format!("{} {}", parent.command_path(), cmd.use_line)
    };
    if !cmd.no_flags_in_use_line && !line.contains("[flags]") {
        line.push_str(" [flags]");
    }
    line
}

/// The usage page of the command at `path` (what `--help` prints).
pub fn render(path: &CmdPath) -> String {
    render_with(path, true)
}

/// The usage page; `with_help` tells whether cobra has added the `--help` flag to the
/// command yet (it has not for the root when the `help` command shows its page).
pub fn render_with(path: &CmdPath, with_help: bool) -> String {
    let cmd = path.cmd();
    let depth = path.0.len() - 1;
    let mut t = String::from("NAME:\n");
    if path.is_root() {
        t.push_str(&format!("\t{} - {}\n", cmd.name(), cmd.short));
    } else {
        t.push_str(&format!("\t{} - {}\n", cmd_name(&path.0, 0), cmd.short));
    }
    t.push_str(&format!("\nUSAGE:\n\t{}\n", use_line(path)));
    if path.is_root() {
        t.push_str(&format!("\nVERSION:\n\t{VERSION}\n"));
    }
    if !cmd.subcommands.is_empty() {
        t.push_str(&format!("\nAPI VERSION:\n\t{API_VERSION}\n"));
        t.push_str("\n\nCOMMANDS:\n");
        let mut subs = Vec::new();
        sub_commands(&path.0, &mut subs);
        for sub in subs {
            let c = sub[sub.len() - 1];
            if c.runnable {
                t.push_str(&format!("\t{}\t{}\n", cmd_name(&sub, depth), c.short));
            }
        }
    }
    if !cmd.long.is_empty() {
        t.push_str("\nDESCRIPTION:\n");
        for line in cmd
            .long
            .trim_matches(|c| c == '\n' || c == '\t' || c == ' ')
            .split('\n')
        {
            t.push_str(&format!("\t{line}\n"));
        }
    }
    let fs = if with_help {
        path.flag_set()
    } else {
        path.flag_set_without_help()
    };
    let (inherited, local): (Vec<&Flag>, Vec<&Flag>) =
        fs.sorted().into_iter().partition(|f| f.inherited);
    if !local.is_empty() {
        t.push_str(&format!("\nOPTIONS:\n{}", flag_usages(&local)));
    }
    if !inherited.is_empty() {
        t.push_str(&format!("\nGLOBAL OPTIONS:\n{}", flag_usages(&inherited)));
    }
    t.push('\n');
    tabwriter::format(&t, 0, 8, 1, '\t')
}
