//! The I/O seam: standard output, standard error and standard input, and whether
//! each is a terminal. Every command writes through an [`Io`], so commands run
//! in-process in tests with [`TestIo`] capturing what they print.
//!
//! Stdout carries only a command's product (a token, JSON); everything for humans
//! goes to stderr through the `ui` module.

use std::io::{IsTerminal, Read, Write};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::error::{Error, Result};

type Writer = Arc<Mutex<Box<dyn Write + Send>>>;

/// Standard streams and their terminal flags. Cheap to clone (shared handles).
///
/// Everything written to stderr is scrubbed of every secret registered with
/// [`Io::redact`]: a server that echoes a token or the client secret in an error
/// description cannot get it onto the terminal or into a CI log.
#[derive(Clone)]
pub struct Io {
    stdout: Writer,
    stderr: Writer,
    secrets: Arc<Mutex<Vec<String>>>,
    stdin: Arc<Mutex<Box<dyn Read + Send>>>,
    /// stdout is a terminal.
    pub stdout_tty: bool,
    /// stderr is a terminal (spinner, QR code by default, styling).
    pub stderr_tty: bool,
    /// stdin is a terminal and this process is in its foreground (a person
    /// can paste into it; a background process reading it would be stopped).
    pub stdin_tty: bool,
    /// The process's own stderr, so a progress spinner may draw on it directly.
    system: bool,
}

/// Whether this process is in the foreground process group of the terminal on stdin.
fn foreground() -> bool {
    #[cfg(unix)]
    // SAFETY: tcgetpgrp and getpgrp take a descriptor or nothing and touch no memory.
    unsafe {
        libc::tcgetpgrp(0) == libc::getpgrp()
    }
    #[cfg(not(unix))]
    true
}

fn lock<T: ?Sized>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Io {
    /// The process's standard streams.
    pub fn system() -> Io {
        Io {
            stdout_tty: std::io::stdout().is_terminal(),
            stderr_tty: std::io::stderr().is_terminal(),
            stdin_tty: std::io::stdin().is_terminal() && foreground(),
            stdout: Arc::new(Mutex::new(Box::new(std::io::stdout()))),
            stderr: Arc::new(Mutex::new(Box::new(std::io::stderr()))),
            stdin: Arc::new(Mutex::new(Box::new(std::io::stdin()))),
            secrets: Arc::default(),
            system: true,
        }
    }

    /// `text` without any registered secret (for output that reaches stderr by
    /// another way, such as the spinner's).
    pub fn scrub(&self, text: &str) -> String {
        let secrets = lock(&self.secrets);
        if secrets.is_empty() {
            return text.to_string();
        }
        // Encoded forms are made here, not at registration: registering is on
        // the cached `vmauth token` path, writing to stderr is not.
        let forms: Vec<String> = secrets
            .iter()
            .flat_map(|s| crate::secret::wire_forms(s))
            .collect();
        crate::secret::scrub(text, &forms)
    }

    /// Never show `secret` (or its form-urlencoded form) on stderr.
    pub fn redact(&self, secret: &str) {
        if secret.len() < crate::secret::MIN_SCRUBBED_LEN {
            return;
        }
        let mut secrets = lock(&self.secrets);
        if !secrets.iter().any(|s| s == secret) {
            secrets.push(secret.to_string());
        }
    }

    /// Write a command's product to stdout and flush it. When the reader has
    /// gone (a broken pipe) the error says so ([`Error::is_broken_pipe`]); any
    /// other failure keeps its `std::io::Error` as the cause.
    pub fn out(&self, bytes: &[u8]) -> Result<()> {
        let mut out = lock(&self.stdout);
        out.write_all(bytes).and_then(|_| out.flush()).map_err(|e| {
            if e.kind() == std::io::ErrorKind::BrokenPipe {
                Error::stdout_closed()
            } else {
                Error::io("write to stdout", e)
            }
        })
    }

    /// Write text for humans to stderr. Failures are ignored: there is nowhere
    /// left to report them.
    pub fn err(&self, text: &str) {
        let text = self.scrub(text);
        let mut err = lock(&self.stderr);
        let _ = err.write_all(text.as_bytes()).and_then(|_| err.flush());
    }

    /// Read standard input to its end, at most `limit` bytes, as UTF-8.
    pub fn read_stdin(&self, limit: u64) -> std::io::Result<String> {
        let mut s = String::new();
        lock(&self.stdin)
            .by_ref()
            .take(limit)
            .read_to_string(&mut s)?;
        Ok(s)
    }

    /// Read standard input to its end and throw it away, so that a program
    /// writing to us is never cut off with a broken pipe.
    pub fn drain_stdin(&self) -> std::io::Result<u64> {
        std::io::copy(&mut *lock(&self.stdin), &mut std::io::sink())
    }

    /// Read one line of standard input (without its line end); `None` at the
    /// end of input. A line longer than `limit` bytes is read to its end and
    /// is an error (`InvalidData`), never cut short.
    pub fn read_line(&self, limit: usize) -> std::io::Result<Option<String>> {
        let mut input = lock(&self.stdin);
        let mut line = Vec::new();
        let mut byte = [0u8; 1];
        let mut long = false;
        loop {
            match input.read(&mut byte)? {
                0 if line.is_empty() && !long => return Ok(None),
                0 => break,
                _ if byte[0] == b'\n' => break,
                _ if line.len() >= limit => long = true,
                _ => line.push(byte[0]),
            }
        }
        if long {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "line too long",
            ));
        }
        if line.last() == Some(&b'\r') {
            line.pop();
        }
        Ok(Some(String::from_utf8_lossy(&line).into_owned()))
    }

    /// Whether stderr is the process's own (a spinner may draw on it directly).
    pub(crate) fn is_system(&self) -> bool {
        self.system
    }
}

/// A shared in-memory buffer that a test reads after the command ran.
#[derive(Clone, Default)]
pub struct Captured(Arc<Mutex<Vec<u8>>>);

impl Captured {
    /// Everything written so far, as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&lock(&self.0)).into_owned()
    }
}

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        lock(&self.0).extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A stdout whose reader has gone away (`vmauth token | head -c0`).
struct BrokenPipe;

impl Write for BrokenPipe {
    fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
        Err(std::io::ErrorKind::BrokenPipe.into())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Err(std::io::ErrorKind::BrokenPipe.into())
    }
}

/// Builds an [`Io`] for tests: captured stdout and stderr, a given stdin, and
/// chosen terminal flags (none are terminals by default).
#[derive(Default)]
pub struct TestIo {
    stdin: Vec<u8>,
    stdout_tty: bool,
    stderr_tty: bool,
    stdin_tty: bool,
    broken_stdout: bool,
}

impl TestIo {
    /// Captured streams, empty stdin, no terminals.
    pub fn new() -> TestIo {
        TestIo::default()
    }
    /// Standard input holds `text`.
    pub fn stdin(mut self, text: &str) -> TestIo {
        self.stdin = text.as_bytes().to_vec();
        self
    }
    /// Pretend stderr (and stdout) are terminals.
    pub fn terminal(mut self) -> TestIo {
        self.stdout_tty = true;
        self.stderr_tty = true;
        self
    }
    /// Pretend stdin is a terminal (a person could paste into it).
    pub fn stdin_terminal(mut self) -> TestIo {
        self.stdin_tty = true;
        self
    }
    /// Every write to stdout fails with a broken pipe.
    pub fn broken_stdout(mut self) -> TestIo {
        self.broken_stdout = true;
        self
    }
    /// The [`Io`], and the captured stdout and stderr.
    pub fn build(self) -> (Io, Captured, Captured) {
        let (out, err) = (Captured::default(), Captured::default());
        let stdout: Box<dyn Write + Send> = if self.broken_stdout {
            Box::new(BrokenPipe)
        } else {
            Box::new(out.clone())
        };
        let io = Io {
            stdout: Arc::new(Mutex::new(stdout)),
            stderr: Arc::new(Mutex::new(Box::new(err.clone()))),
            stdin: Arc::new(Mutex::new(Box::new(std::io::Cursor::new(self.stdin)))),
            secrets: Arc::default(),
            stdout_tty: self.stdout_tty,
            stderr_tty: self.stderr_tty,
            stdin_tty: self.stdin_tty,
            system: false,
        };
        (io, out, err)
    }
}
impl crate::secret::Sink for Io {
    fn keep(&self, value: &str) {
        self.redact(value)
    }
}
