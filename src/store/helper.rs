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

use std::process::Command;
use std::time::Duration;

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
        use crate::program::{Call, Failure};
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
        let call = Call {
            input: Some(input.unwrap_or_default()),
            capture_stderr: true,
            max_output: 4 << 20,
            timeout: self.timeout,
        };
        let answer = crate::program::run(cmd, call).map_err(|f| match f {
            Failure::Spawn(e) => fail(format!(
                "cannot run it ({e}); check VMAUTH_CREDENTIAL_HELPER"
            )),
            Failure::Read(e) => fail(e.to_string()),
            Failure::TooMuch => fail("it printed more than 4 MiB".into()),
            Failure::Timeout | Failure::NoExit => {
                fail(format!("no answer within {}s", self.timeout.as_secs()))
            }
        })?;
        if !answer.status.success() {
            let first = String::from_utf8_lossy(&answer.stderr)
                .lines()
                .find(|l| !l.trim().is_empty())
                .map(|l| crate::error::from_server(l, 200))
                .unwrap_or_else(|| "no message".into());
            return Err(fail(format!(
                "exit status {}: {first}",
                answer.status.code().unwrap_or(-1)
            )));
        }
        Ok(answer.stdout)
    }
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
