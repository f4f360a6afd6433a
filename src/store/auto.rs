//! `--store auto` once the keychain has been chosen: the keychain first, the
//! 0600 file as the fallback. Logins the file already holds (the ValidMind
//! library's, or from an earlier fallback) stay readable. A keychain write that
//! fails after a successful login goes to the file instead: a login is never lost.

use super::file::FileStore;
use super::keyring::KeyringStore;
use super::{Credential, CredentialStore, Located, StoreKind, WarnSink};
use crate::error::Result;

pub struct AutoStore {
    keyring: KeyringStore,
    file: FileStore,
    warn: WarnSink,
}

impl AutoStore {
    pub fn new(keyring: KeyringStore, file: FileStore, warn: WarnSink) -> AutoStore {
        AutoStore {
            keyring,
            file,
            warn,
        }
    }
}

impl CredentialStore for AutoStore {
    fn kind(&self) -> StoreKind {
        StoreKind::Keyring
    }

    fn location(&self) -> String {
        self.keyring.location()
    }

    fn get_located(&self, key: &str) -> Result<Option<Located>> {
        if let Some(c) = self.keyring.get_located(key)? {
            return Ok(Some(c));
        }
        self.file.get_located(key)
    }

    fn list_located(&self) -> Result<Vec<(String, Located)>> {
        let mut all = self.keyring.list_located()?;
        for (k, c) in self.file.list_located()? {
            if !all.iter().any(|(a, _)| *a == k) {
                all.push((k, c));
            }
        }
        all.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(all)
    }

    fn get(&self, key: &str) -> Result<Option<Credential>> {
        match self.keyring.get(key)? {
            Some(c) => Ok(Some(c)),
            None => self.file.get(key),
        }
    }

    fn put(&self, key: &str, credential: &Credential) -> Result<()> {
        match self.keyring.put(key, credential) {
            // A copy of the same login in the file (the ValidMind library's) is left
            // alone: `get` prefers the keychain, and notebooks keep their login.
            Ok(()) => Ok(()),
            Err(e) => {
                (self.warn)(&format!(
                    "could not write to the OS keychain ({}); stored in {} instead",
                    e.message(),
                    self.file.location()
                ));
                self.file.put(key, credential)
            }
        }
    }

    fn delete(&self, key: &str) -> Result<bool> {
        let a = self.keyring.delete(key)?;
        // A damaged file must not block removing the keychain login; `get` reports it.
        let b = self.file.delete(key).unwrap_or(false);
        Ok(a || b)
    }

    fn list(&self) -> Result<Vec<(String, Credential)>> {
        Ok(self
            .list_located()?
            .into_iter()
            .map(|(k, l)| (k, l.credential))
            .collect())
    }
}
