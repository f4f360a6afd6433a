//! Credential storage behind one trait. Backends: the 0600 JSON file shared with
//! the ValidMind library ([`file::FileStore`]); keychain, memory and external
//! helpers plug in behind the same [`CredentialStore`] trait.
//!
//! Storage never prints: warnings go to the sink given at construction.

pub mod auto;
pub mod file;
pub mod helper;
pub mod keyring;
pub mod memory;
pub mod offsets;

use crate::error::Result;

pub use crate::credential::Credential;

/// Which backend holds a login.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreKind {
    /// The OS keychain.
    Keyring,
    /// The 0600 credentials file.
    File,
    /// Process memory (nothing persisted).
    Memory,
    /// An external credential helper.
    Helper,
}

impl StoreKind {
    /// The name `status` shows ("file", "keyring", …), as `--store` spells it.
    pub fn name(self) -> &'static str {
        match self {
            StoreKind::Keyring => "keyring",
            StoreKind::File => "file",
            StoreKind::Memory => "memory",
            StoreKind::Helper => "helper",
        }
    }
}

/// Where credentials live. Keys are the cache keys of [`crate::credential::LoginId`].
pub trait CredentialStore {
    /// Which backend this is.
    fn kind(&self) -> StoreKind;
    /// Where, for humans (a path, a keychain service name).
    fn location(&self) -> String;
    /// One login, if stored.
    fn get(&self, key: &str) -> Result<Option<Credential>>;
    /// Insert or replace one login, leaving every other login untouched.
    fn put(&self, key: &str, credential: &Credential) -> Result<()>;
    /// [`put`](Self::put), and which store took it, with its location (what
    /// a login reports).
    fn put_located(&self, key: &str, credential: &Credential) -> Result<(StoreKind, String)> {
        self.put(key, credential)?;
        Ok((self.kind(), self.location()))
    }
    /// Remove one login; `false` when there was none.
    fn delete(&self, key: &str) -> Result<bool>;
    /// Every login, sorted by key.
    fn list(&self) -> Result<Vec<(String, Credential)>>;
    /// Whether a `put` can succeed now, checked before a refresh token is spent
    /// (its successor must be storable). Stores that cannot tell cheaply say yes.
    fn check_writable(&self) -> Result<()> {
        Ok(())
    }
    /// Take the per-login refresh lock where the store is shared beyond
    /// vmauth's config directory (the credentials file: the lock sits beside
    /// it, so every process that can write the login takes the same lock,
    /// whatever its config directory). `None`: the store has no lock of its
    /// own (the config directory's `locks/` serves).
    fn lock_login(
        &self,
        _key: &str,
        _wait: std::time::Duration,
    ) -> Option<Result<crate::fsutil::LockGuard>> {
        None
    }
    /// The login as last written by anyone, for a refresh under the lock:
    /// where copies may differ (`auto`: the keychain and the file), a stale
    /// one would replay a spent refresh token. Other stores: [`get`](Self::get).
    fn get_latest(&self, key: &str) -> Result<Option<Credential>> {
        self.get(key)
    }
    /// One login, if stored, with the store that holds it (for `status`).
    fn get_located(&self, key: &str) -> Result<Option<Located>> {
        Ok(self.get(key)?.map(|credential| Located {
            credential,
            kind: self.kind(),
            location: self.location(),
        }))
    }
    /// Every login with the store that holds it, sorted by key, in one read of
    /// each backend.
    fn list_located(&self) -> Result<Vec<(String, Located)>> {
        let (kind, location) = (self.kind(), self.location());
        Ok(self
            .list()?
            .into_iter()
            .map(|(k, credential)| {
                let location = location.clone();
                (
                    k,
                    Located {
                        credential,
                        kind,
                        location,
                    },
                )
            })
            .collect())
    }
}

/// A stored login and where it is.
#[derive(Debug, Clone)]
pub struct Located {
    /// The login.
    pub credential: Credential,
    /// Which backend holds it.
    pub kind: StoreKind,
    /// Where, for humans.
    pub location: String,
}

pub use crate::WarnSink;
