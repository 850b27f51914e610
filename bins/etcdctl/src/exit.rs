//! Exit codes (etcdctl's `command/error.go`) and the early-exit value commands return.

use std::fmt::Display;

/// Command failed.
pub const EXIT_ERROR: i32 = 1;
/// Could not connect.
pub const EXIT_BAD_CONNECTION: i32 = 2;
/// Invalid input (txn, watch).
pub const EXIT_INVALID_INPUT: i32 = 3;
/// A valid flag with an unsupported value.
pub const EXIT_BAD_FEATURE: i32 = 4;
/// Invalid arguments.
pub const EXIT_BAD_ARGS: i32 = 128;

/// How the process ends: exit code and what goes to stderr last.
#[derive(Debug, PartialEq, Eq)]
pub struct Exit {
    /// Process exit code.
    pub code: i32,
    /// Text written to stderr before exiting.
    pub stderr: String,
}

impl Exit {
    /// etcdctl's `ExitWithError(code, err)`: `Error: <err>` on stderr.
    pub fn error(code: i32, err: impl Display) -> Exit {
        Exit {
            code,
            stderr: format!("Error: {err}\n"),
        }
    }

    /// `os.Exit(code)` without a message.
    pub fn silent(code: i32) -> Exit {
        Exit {
            code,
            stderr: String::new(),
        }
    }

    /// A Go runtime panic (Go prints a goroutine trace too, which we do not reproduce).
    pub fn panic(msg: impl Display) -> Exit {
        Exit {
            code: 2,
            stderr: format!("panic: {msg}\n\ngoroutine 1 [running]:\n"),
        }
    }
}

/// What command handlers return.
pub type CmdResult = Result<(), Exit>;
