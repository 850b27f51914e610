//! cobra's default usage template and pflag's `FlagUsages`, which etcdctl shows (on
//! stderr) when a txn request line has a bad flag: the txn parser runs put/get/del under
//! a nameless cobra root without etcdctl's own usage function.

use super::command::CmdPath;
use super::flags::{Flag, Value};
use crate::go::quote::quote;

/// pflag's `UnquoteUsage`: the value name shown after the flag, and the usage text.
fn unquote_usage(f: &Flag) -> (String, String) {
    let usage = &f.usage;
    if let Some(i) = usage.find('`') {
        if let Some(j) = usage[i + 1..].find('`') {
            let name = usage[i + 1..i + 1 + j].to_string();
            let text = format!("{}{}{}", &usage[..i], name, &usage[i + 2 + j..]);
            return (name, text);
        }
    }
    let name = match f.value.type_name() {
        "bool" => "",
        "int64" => "int",
        "stringSlice" => "strings",
        other => other,
    };
    (name.to_string(), usage.clone())
}

fn default_is_zero(f: &Flag) -> bool {
    let d = f.def_value();
    match f.value {
        Value::Bool(_) => d == "false",
        Value::Duration(_) => d == "0" || d == "0s",
        Value::Int(_) => d == "0",
        Value::Str(_) => d.is_empty(),
        Value::Strings(_) => d == "[]",
    }
}

/// pflag's `FlagUsages()` (no wrapping).
pub fn flag_usages(flags: &[&Flag]) -> String {
    let mut lines = Vec::new();
    let mut maxlen = 0;
    for f in flags {
        let mut line = match f.spec.shorthand {
            Some(s) => format!("  -{s}, --{}", f.spec.name),
            None => format!("      --{}", f.spec.name),
        };
        let (varname, usage) = unquote_usage(f);
        if !varname.is_empty() {
            line.push(' ');
            line.push_str(&varname);
        }
        let sidx = line.len();
        maxlen = maxlen.max(sidx + 1);
        let mut text = usage;
        if !default_is_zero(f) {
            if matches!(f.value, Value::Str(_)) {
                text.push_str(&format!(" (default {})", quote(f.def_value().as_bytes())));
            } else {
                text.push_str(&format!(" (default {})", f.def_value()));
            }
        }
        lines.push((line, text));
    }
    let mut out = String::new();
    for (head, text) in lines {
        let spacing = " ".repeat(maxlen - head.len());
        out.push_str(&format!("{head} {spacing} {text}\n"));
    }
    out
}

/// The default usage template for a leaf command of a nameless root.
pub fn render(path: &CmdPath) -> String {
    let use_line = format!(" {}", path.cmd().use_line);
    let use_line = if use_line.contains("[flags]") {
        use_line
    } else {
        format!("{use_line} [flags]")
    };
    let fs = path.flag_set();
    let local: Vec<&Flag> = fs.sorted().into_iter().filter(|f| !f.inherited).collect();
    let usages = flag_usages(&local);
    format!("Usage:\n  {use_line}\n\nFlags:\n{}\n", usages.trim_end())
}
