//! Which login is "current" (the most recent one): non-secret metadata kept in
//! vmauth's config directory, never in the credential store.

use std::fs;
use std::io::ErrorKind;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::WarnSink;
use super::fsutil::{ensure_private_dir, write_atomic};
use crate::error::{Error, Result};

#[derive(Debug, Default, Serialize, Deserialize)]
struct State {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    current: Option<String>,
}

/// `state.json` in the config directory.
pub struct StateDir {
    dir: PathBuf,
    warn: WarnSink,
}

impl StateDir {
    pub fn new(dir: PathBuf, warn: WarnSink) -> StateDir {
        StateDir { dir, warn }
    }

    /// Take the per-login lock that makes refresh single-flight across processes
    /// (`locks/<hash>.lock` in the config directory, never a shared temp directory).
    pub fn lock_login(
        &self,
        key: &str,
        wait: std::time::Duration,
    ) -> Result<super::fsutil::LockGuard> {
        let dir = self.dir.join("locks");
        ensure_private_dir(&self.dir, &*self.warn)?;
        ensure_private_dir(&dir, &*self.warn)?;
        super::fsutil::lock_exclusive_within(&dir.join(super::fsutil::lock_file_name(key)), wait)
    }

    fn path(&self) -> PathBuf {
        self.dir.join("state.json")
    }

    /// The current login's cache key, if one was recorded. An unreadable state
    /// file counts as none (it holds nothing that cannot be recreated).
    pub fn get(&self) -> Option<String> {
        let bytes = fs::read(self.path()).ok()?;
        serde_json::from_slice::<State>(&bytes).ok()?.current
    }

    pub fn set(&self, key: Option<&str>) -> Result<()> {
        if key.is_none() {
            match fs::remove_file(self.path()) {
                Ok(()) => return Ok(()),
                Err(e) if e.kind() == ErrorKind::NotFound => return Ok(()),
                Err(e) => {
                    return Err(Error::storage(format!(
                        "cannot remove {}: {e}",
                        self.path().display()
                    )));
                }
            }
        }
        ensure_private_dir(&self.dir, &*self.warn)?;
        let state = State {
            current: key.map(str::to_string),
        };
        let bytes = serde_json::to_vec_pretty(&state)
            .map_err(|e| Error::storage(format!("cannot encode state: {e}")))?;
        write_atomic(&self.path(), &bytes)
    }
}
