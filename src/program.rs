//! Running another program for an answer: a credential helper
//! (`--store helper`) or where a CI platform's token comes from (`exec:`, the
//! `circleci` and `buildkite-agent` CLIs). Never through a shell of vmauth's
//! making; in its own process group, so a deadline stops everything it
//! started; without the client secret in its environment (it has no
//! business with it); its output read on threads, bounded, so the deadline
//! holds whatever the program does.

use std::io::{Read, Write};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// What the program is given and how long it has.
pub(crate) struct Call {
    /// Written to its stdin (then closed); `None`: stdin is empty.
    pub input: Option<Vec<u8>>,
    /// Its stderr is captured (up to 64 KiB) rather than left on vmauth's.
    pub capture_stderr: bool,
    /// At most this much of its stdout is read; more is [`Failure::TooMuch`].
    pub max_output: u64,
    /// It must have answered and exited within this.
    pub timeout: Duration,
}

/// A program that answered and exited.
pub(crate) struct Answer {
    /// Its stdout.
    pub stdout: Vec<u8>,
    /// Its stderr, when captured.
    pub stderr: Vec<u8>,
    /// How it exited.
    pub status: ExitStatus,
}

/// Why a program gave no answer.
pub(crate) enum Failure {
    /// It could not be started.
    Spawn(std::io::Error),
    /// Its output could not be read.
    Read(std::io::Error),
    /// It printed more than [`Call::max_output`].
    TooMuch,
    /// No complete answer within [`Call::timeout`]: stopped, with what it started.
    Timeout,
    /// It answered but did not exit within [`Call::timeout`]: stopped.
    NoExit,
}

/// Run `command` as [`Call`] says.
pub(crate) fn run(mut command: Command, call: Call) -> Result<Answer, Failure> {
    #[cfg(unix)]
    std::os::unix::process::CommandExt::process_group(&mut command, 0);
    command.env_remove("VMAUTH_CLIENT_SECRET");
    let deadline = Instant::now() + call.timeout;
    let mut child = command
        .stdin(if call.input.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(if call.capture_stderr {
            Stdio::piped()
        } else {
            Stdio::inherit()
        })
        .spawn()
        .map_err(Failure::Spawn)?;
    let stdin = child.stdin.take();
    let stdout = child.stdout.take();
    let stderr = child.stderr.take();
    let input = call.input;
    let writer = std::thread::spawn(move || {
        if let (Some(mut s), Some(data)) = (stdin, input) {
            let _ = s.write_all(&data);
        }
    });
    let err_reader = std::thread::spawn(move || {
        let mut err = Vec::new();
        if let Some(s) = stderr {
            let _ = s.take(64 << 10).read_to_end(&mut err);
        }
        err
    });
    let (tx, rx) = mpsc::channel();
    let max = call.max_output;
    std::thread::spawn(move || {
        let mut out = Vec::new();
        // One byte past the limit tells "too much" from "exactly the limit".
        let read = match stdout {
            Some(s) => s.take(max + 1).read_to_end(&mut out).map(|_| out),
            None => Ok(out),
        };
        let _ = tx.send((read, err_reader.join().unwrap_or_default()));
    });
    let (stdout, stderr) = match rx.recv_timeout(deadline.saturating_duration_since(Instant::now()))
    {
        Ok((Ok(out), _)) if out.len() as u64 > max => {
            stop(&mut child);
            return Err(Failure::TooMuch);
        }
        Ok((Ok(out), err)) => (out, err),
        Ok((Err(e), _)) => {
            stop(&mut child);
            return Err(Failure::Read(e));
        }
        Err(_) => {
            stop(&mut child);
            return Err(Failure::Timeout);
        }
    };
    let _ = writer.join();
    // Its output is complete; it has until the same deadline to exit.
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(5)),
            _ => {
                stop(&mut child);
                return Err(Failure::NoExit);
            }
        }
    };
    Ok(Answer {
        stdout,
        stderr,
        status,
    })
}

/// Stop the program and everything it started (its process group on Unix).
fn stop(child: &mut Child) {
    #[cfg(unix)]
    if let Ok(pgid) = libc::pid_t::try_from(child.id())
        && pgid > 1
    {
        // The program was started with process_group(0): its pid is its group id.
        // SAFETY: kill(2) has no memory-safety preconditions; the argument is a
        // negative process-group id > 1, never 0 or -1.
        unsafe {
            libc::kill(-pgid, libc::SIGKILL);
        }
    }
    let _ = child.kill();
    let _ = child.wait();
}
