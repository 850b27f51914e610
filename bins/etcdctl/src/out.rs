//! Writing to stdout/stderr the way Go's unbuffered `fmt.Print*` does, and exiting with
//! everything flushed.

use std::io::Write;

/// Writes bytes to stdout.
pub fn stdout(b: impl AsRef<[u8]>) {
    let mut out = std::io::stdout().lock();
    // A closed stdout is not worth a panic (Go would get EPIPE and carry on).
    let _ = out.write_all(b.as_ref());
    // Go's stdout is unbuffered: long-running commands (watch) must not hold output back.
    let _ = out.flush();
}

/// Writes bytes to stderr.
pub fn stderr(b: impl AsRef<[u8]>) {
    let _ = std::io::stderr().lock().write_all(b.as_ref());
}

/// `fmt.Println(s)` for raw bytes.
pub fn line(b: impl AsRef<[u8]>) {
    let mut v = b.as_ref().to_vec();
    v.push(b'\n');
    stdout(v);
}

/// Flushes both streams and exits.
pub fn exit(code: i32) -> ! {
    let _ = std::io::stdout().flush();
    let _ = std::io::stderr().flush();
    std::process::exit(code)
}
