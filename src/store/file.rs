//! The file backend: `~/.validmind/credentials.json`, the ValidMind library's
//! format (`{"version": 1, "credentials": {"<key>": {…}}}`), 0600 in a 0700
//! directory, replaced atomically, read-modify-write serialised by a lock file.

use std::fs;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::fsutil::{
    check_dir_for_read, ensure_private_dir, lock_exclusive, probe_writable,
    remove_stale_temp_files, tighten, write_atomic,
};
use super::{Credential, CredentialStore, StoreKind, WarnSink};
use crate::error::{Error, Kind, Result};

pub const FORMAT_VERSION: u64 = 1;

pub struct FileStore {
    path: PathBuf,
    /// The directory is vmauth's default one (may be tightened), not one a user named.
    own_dir: bool,
    warn: WarnSink,
}

impl FileStore {
    pub fn new(path: PathBuf, own_dir: bool, warn: WarnSink) -> FileStore {
        FileStore {
            path,
            own_dir,
            warn,
        }
    }

    fn lock_path(&self) -> PathBuf {
        let mut name = self
            .path
            .file_name()
            .map(|n| n.to_os_string())
            .unwrap_or_else(|| "credentials.json".into());
        name.push(".lock");
        self.path.with_file_name(name)
    }

    /// The whole document; an absent file is an empty store. A file that is not a
    /// credentials document is an error, never silently replaced.
    fn read_doc(&self) -> Result<Map<String, Value>> {
        check_dir_for_read(self.dir(), self.own_dir, &*self.warn)?;
        let bytes = match fs::read(&self.path) {
            Ok(b) => b,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Map::new()),
            Err(e) => {
                return Err(Error::io(format_args!("read {}", self.path.display()), e));
            }
        };
        if let Ok(meta) = fs::metadata(&self.path) {
            tighten(&self.path, 0o600, &meta, &*self.warn)?;
        }
        let corrupt = |why: &str| {
            Error::storage(format!(
                "{} is not a valid credentials file ({why}); fix it or move it aside and log in again",
                self.path.display()
            ))
        };
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Map::new());
        }
        let doc: Value = serde_json::from_slice(&bytes).map_err(|_| corrupt("not JSON"))?;
        let Value::Object(doc) = doc else {
            return Err(corrupt("not a JSON object"));
        };
        match doc.get("credentials") {
            None | Some(Value::Object(_)) => {}
            Some(_) => return Err(corrupt("\"credentials\" is not an object")),
        }
        if let Some(v) = doc.get("version")
            && v.as_u64().is_some_and(|v| v > FORMAT_VERSION)
        {
            return Err(corrupt("written by a newer version; upgrade vmauth"));
        }
        Ok(doc)
    }

    fn entries(doc: &Map<String, Value>) -> Option<&Map<String, Value>> {
        doc.get("credentials").and_then(Value::as_object)
    }

    /// The directory holding the file.
    fn dir(&self) -> &Path {
        self.path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."))
    }

    /// Lock, read, let `change` edit the credentials map, write back atomically.
    fn modify<T>(&self, change: impl FnOnce(&mut Map<String, Value>) -> T) -> Result<T> {
        ensure_private_dir(self.dir(), self.own_dir, &*self.warn)?;
        let _guard = lock_exclusive(&self.lock_path())?;
        remove_stale_temp_files(self.dir());
        let mut doc = self.read_doc()?;
        let creds = doc
            .entry("credentials")
            .or_insert_with(|| Value::Object(Map::new()));
        let Value::Object(creds) = creds else {
            unreachable!("read_doc checked credentials is an object")
        };
        let out = change(creds);
        doc.insert("version".into(), Value::from(FORMAT_VERSION));
        let mut bytes = serde_json::to_vec_pretty(&Value::Object(doc))
            .map_err(|e| Error::with_cause(Kind::Storage, "cannot encode credentials", e))?;
        bytes.push(b'\n');
        write_atomic(&self.path, &bytes)?;
        Ok(out)
    }
}

fn decode(key: &str, v: &Value, path: &Path) -> Result<Credential> {
    serde_json::from_value(v.clone()).map_err(|_| {
        Error::storage(format!(
            "login {key:?} in {} is incomplete or malformed; run vmauth logout and log in again",
            path.display()
        ))
    })
}

impl CredentialStore for FileStore {
    fn kind(&self) -> StoreKind {
        StoreKind::File
    }

    fn location(&self) -> String {
        self.path.display().to_string()
    }

    fn check_writable(&self) -> Result<()> {
        ensure_private_dir(self.dir(), self.own_dir, &*self.warn)?;
        probe_writable(self.dir())
    }

    fn get(&self, key: &str) -> Result<Option<Credential>> {
        let doc = self.read_doc()?;
        match Self::entries(&doc).and_then(|c| c.get(key)) {
            Some(v) => decode(key, v, &self.path).map(Some),
            None => Ok(None),
        }
    }

    fn put(&self, key: &str, credential: &Credential) -> Result<()> {
        let value = serde_json::to_value(credential)
            .map_err(|e| Error::with_cause(Kind::Storage, "cannot encode credentials", e))?;
        self.modify(|creds| {
            creds.insert(key.to_string(), value);
        })
    }

    fn delete(&self, key: &str) -> Result<bool> {
        let doc = self.read_doc()?;
        if !Self::entries(&doc).is_some_and(|c| c.contains_key(key)) {
            return Ok(false);
        }
        self.modify(|creds| creds.remove(key).is_some())
    }

    fn list(&self) -> Result<Vec<(String, Credential)>> {
        let doc = self.read_doc()?;
        let mut out = Vec::new();
        if let Some(creds) = Self::entries(&doc) {
            for (k, v) in creds {
                // One malformed entry (e.g. another tool's) must not hide the others.
                if let Ok(c) = decode(k, v, &self.path) {
                    out.push((k.clone(), c));
                }
            }
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(out)
    }
}

#[cfg(test)]
#[path = "file_tests.rs"]
mod tests;
