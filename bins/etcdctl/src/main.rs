//! A drop-in replacement for etcdctl 3.4 (API v3): same commands, flags, environment
//! variables, output formats, error messages and exit codes, byte for byte.
//!
//! Layout: `cli` reproduces cobra/pflag (command lookup, flags, help pages), `commands`
//! holds one module per command group, `printer` one module per output format (`-w`),
//! and `go` the pieces of Go's standard library whose exact output etcdctl inherits.

mod cli;
mod commands;
mod exit;
mod go;
mod out;
mod printer;

use cli::command::{find, CmdPath};
use cli::spec::ROOT;
use cli::usage;
use commands::Ctx;
use exit::{Exit, EXIT_ERROR};

fn main() {
    let api = std::env::var("ETCDCTL_API").unwrap_or_default();
    // etcdctl unsets it so that flag parsing from ETCDCTL_* does not see it.
    std::env::remove_var("ETCDCTL_API");
    if !(api.is_empty() || api == "3") {
        if api == "2" {
            out::stderr("Error: the v2 API (ETCDCTL_API=2) is not supported by this etcdctl\n");
        } else {
            out::stderr(format!("unsupported API version {api}\n"));
        }
        out::exit(1);
    }
    let args: Vec<String> = std::env::args_os()
        .skip(1)
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    out::exit(run(&args))
}

/// cobra's `ExecuteC` followed by etcdctl's `ExitWithError` on failure; returns the exit code.
fn run(args: &[String]) -> i32 {
    let (path, rest, err) = find(&ROOT, args);
    if let Some(e) = err {
        out::stderr(format!(
            "Error: {e}\nRun '{} --help' for usage.\n",
            path.command_path()
        ));
        out::stderr(format!("Error: {e}\n"));
        return EXIT_ERROR;
    }
    execute(path, &rest)
}

/// cobra prints the error and the usage, then etcdctl prints the error again.
fn usage_error(path: &CmdPath, e: &str) -> i32 {
    out::stderr(format!("Error: {e}\n"));
    out::stdout(usage::render(path));
    out::stderr("\n");
    out::stderr(format!("Error: {e}\n"));
    EXIT_ERROR
}

/// cobra's `execute` for the found command.
fn execute(path: CmdPath, args: &[String]) -> i32 {
    let mut flags = path.flag_set();
    let positional = match flags.parse(args) {
        Ok(p) => p,
        Err(e) => return usage_error(&path, &e),
    };
    let cmd = path.cmd();
    if flags.get_bool("help") || !cmd.runnable {
        out::stdout(usage::render(&path));
        return 0;
    }
    if cmd.no_args {
        if let Some(first) = positional.first() {
            let e = format!(
                "unknown command {} for {}",
                go::quote::quote(first.as_bytes()),
                go::quote::quote(path.command_path().as_bytes())
            );
            return usage_error(&path, &e);
        }
    }
    let key = path.key();
    if key == "help" {
        return help_command(&positional);
    }
    let mut ctx = Ctx {
        path,
        flags,
        args: positional,
    };
    let result = commands::dispatch(&mut ctx).unwrap_or_else(|| {
        Err(Exit::error(
            EXIT_ERROR,
            format!("\"{key}\" is not implemented by this etcdctl yet"),
        ))
    });
    match result {
        Ok(()) => 0,
        Err(exit) => {
            out::stderr(exit.stderr);
            exit.code
        }
    }
}

/// cobra's `help [command]`.
fn help_command(args: &[String]) -> i32 {
    let (path, _, err) = find(&ROOT, args);
    if err.is_some() {
        out::stderr(format!(
            "Unknown help topic {}\n",
            go::quote::backquote_list(args)
        ));
        out::stdout(usage::render_with(&CmdPath(vec![&ROOT]), false));
    } else {
        out::stdout(usage::render(&path));
    }
    0
}
