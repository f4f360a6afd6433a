//! `--store auto` once the keychain has been chosen: the keychain first, the
//! 0600 file as the fallback. Logins the file already holds (the ValidMind
//! library's, a `--store file` login, an earlier fallback) stay readable and are
//! written back there: a login held by both is written to both, and a refresh
//! starts from whichever was refreshed last, so terminals and notebooks share
//! one live login. A keychain write that fails after a successful login goes to the file
//! instead: a login is never lost.

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

/// Whether the file's copy `file` of a login is a later state of it than the
/// keychain's `keychain`. vmauth writes both copies together, so when they
/// differ the file was written by something that could not write the keychain
/// (the ValidMind library, a run without the keychain): the file's copy wins
/// unless the keychain's expires later (written by an older vmauth that left
/// the file alone).
fn newer(file: &Credential, keychain: &Credential) -> bool {
    let differ =
        file.refresh_token != keychain.refresh_token || file.access_token != keychain.access_token;
    differ && file.expires_at >= keychain.expires_at
}

impl CredentialStore for AutoStore {
    fn kind(&self) -> StoreKind {
        StoreKind::Keyring
    }

    fn location(&self) -> String {
        self.keyring.location()
    }

    fn lock_login(
        &self,
        key: &str,
        wait: std::time::Duration,
    ) -> Option<Result<crate::fsutil::LockGuard>> {
        // The file may hold a copy that other processes refresh.
        self.file.lock_login(key, wait)
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

    /// The keychain's copy, else the file's: a token to serve. Another
    /// writer may have refreshed the file's copy since, but the keychain's
    /// access token stays good until it expires; a refresh reads
    /// [`get_latest`](CredentialStore::get_latest).
    fn get(&self, key: &str) -> Result<Option<Credential>> {
        match self.keyring.get(key)? {
            Some(c) => Ok(Some(c)),
            None => self.file.get(key),
        }
    }

    /// The newer of the two copies ([`newer`]). A file that cannot be read
    /// while the keychain has a copy only costs the comparison, with a
    /// warning; otherwise its error is the answer (it names the file and the fix).
    fn get_latest(&self, key: &str) -> Result<Option<Credential>> {
        let Some(k) = self.keyring.get(key)? else {
            return self.file.get(key);
        };
        match self.file.get(key) {
            Ok(Some(f)) if newer(&f, &k) => Ok(Some(f)),
            Ok(_) => Ok(Some(k)),
            Err(e) => {
                (self.warn)(&format!(
                    "{} was not read ({}); using the OS keychain's copy",
                    self.file.location(),
                    e.message()
                ));
                Ok(Some(k))
            }
        }
    }

    /// Written to every store that holds a copy of the login (the file's is
    /// the ValidMind library's, or this login was made with `--store file`),
    /// and to the keychain unless only the file holds it: a refreshed login
    /// goes back where it was read from, and no copy keeps a spent refresh
    /// token that a notebook or a later run would send.
    fn put(&self, key: &str, credential: &Credential) -> Result<()> {
        self.put_located(key, credential).map(|_| ())
    }

    /// The keychain, unless the login is in the file only (then the file), or
    /// the keychain refuses the write; a login in both is written to both.
    fn put_located(&self, key: &str, credential: &Credential) -> Result<(StoreKind, String)> {
        let file = || {
            self.file.put(key, credential)?;
            Ok((StoreKind::File, self.file.location()))
        };
        let keyring = || (StoreKind::Keyring, self.keyring.location());
        let in_file = match self.file.get(key) {
            Ok(c) => c.is_some(),
            Err(e) => {
                // A file that cannot be read cannot be written either: the
                // keychain holds the login, and the file's copy (if any) is
                // left as it is.
                (self.warn)(&format!(
                    "{} was not read ({}); the login is stored in the OS keychain only",
                    self.file.location(),
                    e.message()
                ));
                false
            }
        };
        let in_keyring = in_file && self.keyring.get(key).ok().flatten().is_some();
        if in_file && !in_keyring {
            return file();
        }
        match self.keyring.put(key, credential) {
            Ok(()) if in_file => {
                self.file.put(key, credential)?;
                Ok(keyring())
            }
            Ok(()) => Ok(keyring()),
            Err(e) => {
                (self.warn)(&format!(
                    "could not write to the OS keychain ({}); stored in {} instead",
                    e.message(),
                    self.file.location()
                ));
                file()
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
