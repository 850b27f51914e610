//! The password prompt of `--user name` (no password given), as bgentry/speakeasy's `Ask`
//! that etcd's tool uses: the prompt on stdout, terminal echo off while one line is read
//! from stdin (echo is restored if the user interrupts, and the process exits with 255),
//! the line trimmed, then a newline on stdout. When stdin is not a terminal the line is
//! simply read (so a password can be piped in).

use std::io::{IsTerminal, Read, Write};
use std::sync::OnceLock;

/// The terminal settings before the prompt, for the signal handler to restore.
static SAVED_TERMIOS: OnceLock<libc::termios> = OnceLock::new();

/// The signals speakeasy catches while echo is off.
const SIGNALS: [libc::c_int; 4] = [libc::SIGHUP, libc::SIGINT, libc::SIGQUIT, libc::SIGTERM];

/// The password typed after `prompt`, trimmed of surrounding whitespace.
pub fn ask(prompt: &str) -> std::io::Result<String> {
    let mut stdout = std::io::stdout();
    // The prompt is best effort, as Go's `fmt.Fprint` to stdout.
    let _ = write!(stdout, "{prompt}").and_then(|()| stdout.flush());
    let line = {
        let _echo_off = EchoOff::new();
        read_line(&mut std::io::stdin().lock())
    };
    let _ = writeln!(stdout).and_then(|()| stdout.flush());
    let line = line
        .map_err(|e| std::io::Error::new(e.kind(), format!("failed during password entry: {e}")))?;
    Ok(String::from_utf8_lossy(&line).trim().to_string())
}

/// speakeasy's `readline`: bytes up to a newline or the end of input (read one at a time,
/// so nothing after the line is consumed), a trailing `\r` dropped.
fn read_line(input: &mut impl Read) -> std::io::Result<Vec<u8>> {
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    loop {
        match input.read(&mut byte) {
            Ok(0) => break,
            Ok(_) if byte[0] == b'\n' => break,
            Ok(_) => line.push(byte[0]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    if line.last() == Some(&b'\r') {
        line.pop();
    }
    Ok(line)
}

extern "C" fn restore_and_exit(_: libc::c_int) {
    if let Some(saved) = SAVED_TERMIOS.get() {
        // SAFETY: tcsetattr is async-signal-safe and `saved` is initialized.
        unsafe { libc::tcsetattr(libc::STDIN_FILENO, libc::TCSANOW, saved) };
    }
    // SAFETY: _exit is async-signal-safe and ends the process at once.
    unsafe { libc::_exit(255) }
}

/// Terminal echo turned off on stdin (when it is a terminal) until dropped, with the
/// interrupt signals caught meanwhile so that echo is never left off.
struct EchoOff {
    saved: libc::termios,
    previous_handlers: Vec<(libc::c_int, libc::sighandler_t)>,
}

impl EchoOff {
    fn new() -> Option<EchoOff> {
        if !std::io::stdin().is_terminal() {
            return None;
        }
        // SAFETY: termios is plain data; tcgetattr fills it (checked below).
        let mut saved: libc::termios = unsafe { std::mem::zeroed() };
        // SAFETY: `saved` is a valid termios to write into.
        if unsafe { libc::tcgetattr(libc::STDIN_FILENO, &mut saved) } != 0 {
            return None;
        }
        let _ = SAVED_TERMIOS.set(saved);
        let handler = restore_and_exit as extern "C" fn(libc::c_int) as libc::sighandler_t;
        let previous_handlers = SIGNALS
            .iter()
            // SAFETY: the handler only calls async-signal-safe functions.
            .map(|&sig| (sig, unsafe { libc::signal(sig, handler) }))
            .collect();
        let mut quiet = saved;
        quiet.c_lflag &= !libc::ECHO;
        // SAFETY: `quiet` is a valid termios derived from the current one.
        unsafe { libc::tcsetattr(libc::STDIN_FILENO, libc::TCSANOW, &quiet) };
        Some(EchoOff {
            saved,
            previous_handlers,
        })
    }
}

impl Drop for EchoOff {
    fn drop(&mut self) {
        // SAFETY: restores the settings read in `new`.
        unsafe { libc::tcsetattr(libc::STDIN_FILENO, libc::TCSANOW, &self.saved) };
        for &(sig, previous) in &self.previous_handlers {
            // SAFETY: puts back the handler that was installed before.
            unsafe { libc::signal(sig, previous) };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_one_line_and_leaves_the_rest() {
        let mut input = &b"secret\r\nnext line\n"[..];
        assert_eq!(read_line(&mut input).unwrap(), b"secret");
        assert_eq!(input, b"next line\n");
        assert_eq!(read_line(&mut &b"no newline"[..]).unwrap(), b"no newline");
        assert_eq!(read_line(&mut &b""[..]).unwrap(), b"");
    }
}
