//! Go's `os/exec` error texts for a command etcdctl runs (`lock name cmd`, `watch ... --
//! cmd`): `exit status N`, `signal: killed`, `exec: "x": executable file not found in
//! $PATH`, `fork/exec x: ...`.

use crate::go::quote::quote;

/// Go's error text for `exec.Cmd.Run()` of `exec` that ended with `status`, or `Ok` when it
/// succeeded.
pub fn run_error(
    exec: &[String],
    status: std::io::Result<std::process::ExitStatus>,
) -> Result<(), String> {
    let status = match status {
        Ok(status) => status,
        // exec.Command looks a bare name up in $PATH; a path is run as is.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !exec[0].contains('/') => {
            return Err(format!(
                "exec: {}: executable file not found in $PATH",
                quote(exec[0].as_bytes())
            ))
        }
        Err(e) => {
            return Err(format!(
                "fork/exec {}: {}",
                exec[0],
                crate::commands::errno_text(&e)
            ))
        }
    };
    if status.success() {
        return Ok(());
    }
    use std::os::unix::process::ExitStatusExt;
    Err(match (status.code(), status.signal()) {
        (Some(code), _) => format!("exit status {code}"),
        (None, Some(sig)) => format!("signal: {}", signal_name(sig)),
        (None, None) => status.to_string(),
    })
}

/// Go's `syscall.Signal.String()` for the common signals.
fn signal_name(sig: i32) -> String {
    match sig {
        libc::SIGHUP => "hangup".to_string(),
        libc::SIGINT => "interrupt".to_string(),
        libc::SIGKILL => "killed".to_string(),
        libc::SIGSEGV => "segmentation fault".to_string(),
        libc::SIGPIPE => "broken pipe".to_string(),
        libc::SIGTERM => "terminated".to_string(),
        libc::SIGABRT => "aborted".to_string(),
        other => format!("signal {other}"),
    }
}
