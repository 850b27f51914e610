//! Reading passwords as etcdctl does: bgentry/speakeasy's `Ask` (prompt on stdout, echo
//! turned off by running `/bin/stty -echo` on our terminal, one line read, echo back on,
//! a newline) and `fmt.Scanf("%s")` on stdin for `--interactive=false`.

use std::io::Read;
use std::os::unix::process::CommandExt;
use std::process::Command;
use std::sync::OnceLock;

use crate::go::quote::decode_rune;
use crate::out;

/// What speakeasy runs to turn the terminal's echo off and on.
const STTY: &str = "/bin/stty";

/// The terminal settings before the prompt, for the signal handler to restore.
static SAVED_TERMIOS: OnceLock<libc::termios> = OnceLock::new();

/// The signals speakeasy catches while echo is off (it then restores echo and exits 255).
const SIGNALS: [libc::c_int; 4] = [libc::SIGHUP, libc::SIGINT, libc::SIGQUIT, libc::SIGTERM];

extern "C" fn restore_and_exit(_: libc::c_int) {
    if let Some(t) = SAVED_TERMIOS.get() {
        // SAFETY: tcsetattr and _exit are async-signal-safe; `t` is initialized.
        unsafe { libc::tcsetattr(0, libc::TCSANOW, t) };
    }
    // SAFETY: ends the process without running anything else.
    unsafe { libc::_exit(255) }
}

/// Installs (or removes) the handler that puts echo back on when the user interrupts.
fn catch_signals(on: bool) {
    let handler = if on {
        restore_and_exit as extern "C" fn(libc::c_int) as libc::sighandler_t
    } else {
        libc::SIG_DFL
    };
    for sig in SIGNALS {
        // SAFETY: installing a handler that only calls async-signal-safe functions.
        unsafe { libc::signal(sig, handler) };
    }
}

/// Runs `stty <arg>` on our own standard streams and waits for it (named `stty`, as
/// speakeasy names it: its complaints start with that name).
fn stty(arg: &str) -> std::io::Result<()> {
    Command::new(STTY)
        .arg0("stty")
        .arg(arg)
        .status()
        .map(|_| ())
}

/// One byte from stdin; `None` at its end.
fn read_byte(stdin: &mut impl Read) -> std::io::Result<Option<u8>> {
    let mut b = [0u8; 1];
    loop {
        match stdin.read(&mut b) {
            Ok(0) => return Ok(None),
            Ok(_) => return Ok(Some(b[0])),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

/// speakeasy's `readline`: bytes up to a newline or the end of stdin, `\r` trimmed.
fn read_line() -> std::io::Result<Vec<u8>> {
    let mut stdin = std::io::stdin().lock();
    let mut line = Vec::new();
    while let Some(b) = read_byte(&mut stdin)? {
        if b == b'\n' {
            break;
        }
        line.push(b);
    }
    if line.last() == Some(&b'\r') {
        line.pop();
    }
    Ok(line)
}

/// speakeasy's `getPassword`.
fn get_password() -> Result<String, String> {
    let mut saved: libc::termios = unsafe { std::mem::zeroed() };
    // SAFETY: tcgetattr fills `saved` when stdin is a terminal.
    if unsafe { libc::tcgetattr(0, &mut saved) } == 0 {
        let _ = SAVED_TERMIOS.set(saved);
    }
    catch_signals(true);
    let result = match stty("-echo") {
        Err(e) => Err(format!(
            "failed turning off console echo for password entry:\n\tfork/exec {STTY}: {}",
            super::errno_text(&e)
        )),
        Ok(()) => {
            let line = read_line();
            let _ = stty("echo");
            line.map(|l| String::from_utf8_lossy(&l).trim().to_string())
                .map_err(|e| format!("failed during password entry: {}", super::errno_text(&e)))
        }
    };
    catch_signals(false);
    result
}

/// speakeasy's `Ask`: the password typed after `prompt`, without echo.
pub fn ask(prompt: &str) -> Result<String, String> {
    if !prompt.is_empty() {
        out::stdout(prompt);
    }
    let password = get_password();
    out::stdout("\n");
    password
}

/// Go `fmt`'s notion of a space.
fn is_space(c: char) -> bool {
    matches!(c as u32,
        0x09..=0x0d | 0x20 | 0x85 | 0xa0 | 0x1680 | 0x2000..=0x200a | 0x2028 | 0x2029 | 0x202f
        | 0x205f | 0x3000)
}

/// Reads runes from stdin one byte at a time, as `fmt.Scanf` does on an `*os.File`.
struct Runes<R> {
    input: R,
    pending: Option<char>,
}

impl<R: Read> Runes<R> {
    /// The next rune; invalid UTF-8 reads as U+FFFD.
    fn next(&mut self) -> Option<char> {
        if let Some(c) = self.pending.take() {
            return Some(c);
        }
        let first = read_byte(&mut self.input).ok()??;
        let mut buf = vec![first];
        while buf.len() < utf8_len(first) {
            match read_byte(&mut self.input) {
                Ok(Some(b)) => buf.push(b),
                _ => break,
            }
        }
        match decode_rune(&buf) {
            (Some(c), width) if width == buf.len() => Some(c),
            _ => Some('\u{fffd}'),
        }
    }
}

/// The length of the UTF-8 sequence that `b` starts.
fn utf8_len(b: u8) -> usize {
    match b {
        0xc2..=0xdf => 2,
        0xe0..=0xef => 3,
        0xf0..=0xf4 => 4,
        _ => 1,
    }
}

/// `fmt.Scanf("%s", &word)` on `input`: leading spaces skipped (a newline first ends the
/// scan with nothing), then everything up to the next space. Errors leave the word empty.
fn scan_word(input: impl Read) -> String {
    let mut runes = Runes {
        input,
        pending: None,
    };
    let mut word = String::new();
    loop {
        match runes.next() {
            None | Some('\n') => return word,
            Some('\r') => match runes.next() {
                Some('\n') | None => return word,
                Some(c) => runes.pending = Some(c),
            },
            Some(c) if is_space(c) => {}
            Some(c) => {
                word.push(c);
                break;
            }
        }
    }
    while let Some(c) = runes.next() {
        if is_space(c) {
            break;
        }
        word.push(c);
    }
    word
}

/// `fmt.Scanf("%s", &password)` on stdin.
pub fn scan_stdin() -> String {
    scan_word(std::io::stdin().lock())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scanf_reads_one_word() {
        assert_eq!(scan_word(&b"pw1 more\n"[..]), "pw1");
        assert_eq!(scan_word(&b"  \tpw\n"[..]), "pw");
        assert_eq!(scan_word(&b"pw"[..]), "pw");
        assert_eq!(scan_word(&b"\npw\n"[..]), "");
        assert_eq!(scan_word(&b"\r\npw\n"[..]), "");
        assert_eq!(scan_word(&b""[..]), "");
        assert_eq!(scan_word("pässwörd\n".as_bytes()), "pässwörd");
        assert_eq!(scan_word(&b"a\xffb c"[..]), "a\u{fffd}b");
    }
}
