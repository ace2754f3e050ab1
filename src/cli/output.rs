//! Where the subcommands write: one path to stdout and one to stderr, so that a write error ends
//! every command the same way.
//!
//! - stdout: a reader that went away (`optimc trace ... | head -1`, EPIPE) ends the output
//!   quietly, with the exit code the command would have had; any other error (`> /dev/full`) is
//!   a diagnostic on stderr and exit 2 ([`CANNOT_RUN`]). Rust ignores SIGPIPE, so a closed pipe
//!   arrives here as an error rather than killing the process.
//! - stderr: an error is ignored, as there is nowhere left to report it; the exit code still
//!   says what happened.

use super::CANNOT_RUN;
use std::io::{self, BufWriter, StdoutLock, Write};

/// Buffered stdout. Every write returns the io error; [`finish`] turns it into the exit code.
/// Call [`Stdout::flush`] (or use [`print`]) before finishing: an unflushed buffer is written
/// when it is dropped, where an error could no longer be reported.
pub struct Stdout(BufWriter<StdoutLock<'static>>);

impl Stdout {
    pub fn lock() -> Stdout {
        Stdout(BufWriter::with_capacity(1 << 16, io::stdout().lock()))
    }
}

impl Write for Stdout {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write(buf)
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.0.write_all(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

/// The exit code of a command that wrote its output with `result` and would otherwise exit with
/// `code`: `code` if the writes succeeded or the reader closed the pipe, else [`CANNOT_RUN`]
/// after saying why on stderr.
pub fn finish(result: io::Result<()>, code: u8) -> u8 {
    match result {
        Ok(()) => code,
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => code,
        Err(e) => {
            eprint(&format!("optimc: cannot write to stdout: {e}\n"));
            CANNOT_RUN
        }
    }
}

/// Writes `text` to stdout and flushes it: `code`, or the exit code of the failed write (see
/// [`finish`]).
pub fn print(text: impl AsRef<[u8]>, code: u8) -> u8 {
    let mut out = Stdout::lock();
    let result = out.write_all(text.as_ref()).and_then(|()| out.flush());
    finish(result, code)
}

/// Writes `text` to stderr; an error is ignored (see the module documentation).
pub fn eprint(text: &str) {
    let mut err = io::stderr().lock();
    let _ = err.write_all(text.as_bytes()).and_then(|()| err.flush());
}
