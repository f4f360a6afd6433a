//! The external credential-helper backend, in the manner of git and docker
//! credential helpers: vmauth runs `<helper> get|store|erase|list [KEY]`.
//!
//! Protocol (documented in README.md):
//! - `get KEY`: print the credential JSON object on stdout, or nothing when there
//!   is no such login; exit 0.
//! - `store KEY`: read the credential JSON object on stdin; exit 0.
//! - `erase KEY`: remove it (no error when absent); exit 0.
//! - `list`: print one key per line; exit 0.
//!
//! Any other exit status is a failure; the helper's first stderr line is shown.

use std::io::{Read, Write};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use super::{Credential, CredentialStore, StoreKind};
use crate::error::{Error, Kind, Result};

pub struct HelperStore {
    program: String,
    timeout: Duration,
}

impl HelperStore {
    pub fn new(program: String, timeout: Duration) -> HelperStore {
        HelperStore { program, timeout }
    }

    fn command(&self) -> Command {
        // Like git: a value with spaces is a shell snippet ("pass-helper --vault x").
        #[cfg(unix)]
        if self.program.contains(char::is_whitespace) {
            let mut c = Command::new("/bin/sh");
            c.arg("-c")
                .arg(format!("{} \"$@\"", self.program))
                .arg("vmauth-helper");
            return c;
        }
        Command::new(&self.program)
    }

    /// Run one operation; returns stdout.
    fn call(&self, op: &str, key: Option<&str>, input: Option<Vec<u8>>) -> Result<Vec<u8>> {
        let fail = |why: String| {
            Error::storage(format!(
                "credential helper {:?} {op} failed: {why}",
                self.program
            ))
        };
        let mut cmd = self.command();
        cmd.arg(op);
        if let Some(k) = key {
            cmd.arg(k);
        }
        // Its own process group, so a timeout can stop everything it started; and
        // no client secret in its environment (it has no business with it).
        #[cfg(unix)]
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        cmd.env_remove("VMAUTH_CLIENT_SECRET");
        let deadline = Instant::now() + self.timeout;
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| {
                fail(format!(
                    "cannot run it ({e}); check VMAUTH_CREDENTIAL_HELPER"
                ))
            })?;
        let mut stdin = child.stdin.take();
        let mut stdout = child.stdout.take();
        let mut stderr = child.stderr.take();
        let (tx, rx) = mpsc::channel();
        let writer = std::thread::spawn(move || {
            if let (Some(mut s), Some(data)) = (stdin.take(), input) {
                let _ = s.write_all(&data);
            }
        });
        let err_reader = std::thread::spawn(move || {
            let mut err = Vec::new();
            if let Some(s) = stderr.as_mut() {
                let _ = s.take(64 << 10).read_to_end(&mut err);
            }
            err
        });
        std::thread::spawn(move || {
            let mut out = Vec::new();
            if let Some(s) = stdout.as_mut() {
                let _ = s.take(4 << 20).read_to_end(&mut out);
            }
            let err = err_reader.join().unwrap_or_default();
            let _ = tx.send((out, err));
        });
        let timed_out = |child: &mut Child| {
            kill_group(child);
            fail(format!("no answer within {}s", self.timeout.as_secs()))
        };
        let (out, err) = match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok(v) => v,
            Err(_) => return Err(timed_out(&mut child)),
        };
        let _ = writer.join();
        // Output is complete; the exit status must come by the same deadline.
        let status = loop {
            match child.try_wait().map_err(|e| fail(e.to_string()))? {
                Some(status) => break status,
                None if Instant::now() >= deadline => return Err(timed_out(&mut child)),
                None => std::thread::sleep(Duration::from_millis(5)),
            }
        };
        if !status.success() {
            let first = String::from_utf8_lossy(&err)
                .lines()
                .find(|l| !l.trim().is_empty())
                .map(|l| crate::error::from_server(l, 200))
                .unwrap_or_else(|| "no message".into());
            return Err(fail(format!(
                "exit status {}: {first}",
                status.code().unwrap_or(-1)
            )));
        }
        Ok(out)
    }
}

/// Stop the helper and everything it started (its process group on Unix).
fn kill_group(child: &mut Child) {
    #[cfg(unix)]
    if let Ok(pgid) = libc::pid_t::try_from(child.id())
        && pgid > 1
    {
        // The helper was started with process_group(0): its pid is its group id.
        // SAFETY: kill(2) has no memory-safety preconditions; the argument is a
        // negative process-group id > 1, never 0 or -1.
        unsafe {
            libc::kill(-pgid, libc::SIGKILL);
        }
    }
    let _ = child.kill();
    let _ = child.wait();
}

impl CredentialStore for HelperStore {
    fn kind(&self) -> StoreKind {
        StoreKind::Helper
    }

    fn location(&self) -> String {
        format!("credential helper {}", self.program)
    }

    fn get(&self, key: &str) -> Result<Option<Credential>> {
        let out = self.call("get", Some(key), None)?;
        if out.iter().all(u8::is_ascii_whitespace) {
            return Ok(None);
        }
        serde_json::from_slice(&out).map(Some).map_err(|_| {
            Error::storage(format!(
                "credential helper {:?} get printed something that is not a vmauth credential (JSON object expected)",
                self.program
            ))
        })
    }

    fn put(&self, key: &str, credential: &Credential) -> Result<()> {
        let json = serde_json::to_vec(credential)
            .map_err(|e| Error::with_cause(Kind::Storage, "cannot encode credentials", e))?;
        self.call("store", Some(key), Some(json)).map(|_| ())
    }

    fn delete(&self, key: &str) -> Result<bool> {
        let existed = self.get(key)?.is_some();
        self.call("erase", Some(key), None)?;
        Ok(existed)
    }

    fn list(&self) -> Result<Vec<(String, Credential)>> {
        let out = self.call("list", None, None)?;
        let text = String::from_utf8(out).map_err(|_| {
            Error::storage(format!(
                "credential helper {:?} list printed non-UTF-8 text",
                self.program
            ))
        })?;
        let mut logins = Vec::new();
        for key in text.lines().map(str::trim).filter(|k| !k.is_empty()) {
            if let Some(c) = self.get(key)? {
                logins.push((key.to_string(), c));
            }
        }
        logins.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(logins)
    }
}
