//! vmauth's own non-secret state in its config directory: which login is
//! current (`state.json`), which store `--store auto` chose, the per-login
//! refresh locks (`locks/`), and the issuers' metadata (`discovery/`) and
//! signing keys (`jwks/`), cached. Never tokens, except refreshed tokens the
//! credential store refused to take (`rescue/`, 0600), kept until it takes them,
//! and refreshed tokens refused as another party's (`refused/`, 0600), kept
//! until `vmauth logout` or `login` revokes them.
//!
//! The one owner of the config directory: `config.toml` is written through
//! [`StateDir::save_profile`], and the storage backends keep their files there
//! (the keychain's index, `offsets/`) through a [`ConfigDir`] handle, under the
//! same rules (this user's files only, no links, 0600 in 0700, atomic).

use std::fs;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::WarnSink;
use crate::credential::Credential;
use crate::error::{Error, Kind, Result};
use crate::fsutil::{
    LockGuard, ensure_private_dir, ensure_private_subdir, lock_exclusive_within, lock_file_name,
    read_private, read_trusted, update_trusted, write_private,
};

/// The largest `state.json` (or other top-level file) read.
const MAX_FILE: u64 = 1 << 20;

#[derive(Debug, Default, Clone, Serialize, Deserialize)]
struct State {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    current: Option<String>,
    /// `keyring` or `file`: what `--store auto` decided, so it probes only once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    auto_store: Option<String>,
}

/// An issuer's key set as fetched (public keys only).
#[derive(Serialize, Deserialize)]
struct CachedJwks {
    uri: String,
    fetched_at: i64,
    jwks: serde_json::Value,
}

/// An issuer's metadata document as fetched, and from where.
#[derive(Serialize, Deserialize)]
struct CachedDiscovery {
    issuer: String,
    url: String,
    fetched_at: i64,
    document: Box<serde_json::value::RawValue>,
}

/// Refreshed tokens the credential store would not take.
#[derive(Serialize, Deserialize)]
struct Rescued {
    key: String,
    credential: Credential,
}

/// The one name of a file vmauth keeps about `key` in the subdirectory `sub`
/// of the config directory `dir` (`discovery/`, `jwks/`, `offsets/`, `rescue/`,
/// `refused/`): a stable hash of the key, so any key fits a file name. Every
/// reader checks that the file names the key it was asked for.
pub fn cache_path(dir: &std::path::Path, sub: &str, key: &str) -> PathBuf {
    let name = lock_file_name(key).replace(".lock", ".json");
    dir.join(sub).join(name)
}

/// The config directory as the storage backends use it (the keychain's
/// index, where logins sit in a large credentials file): every file they keep
/// there goes through this handle, under the same rules as the state's own.
#[derive(Debug, Clone)]
pub struct ConfigDir {
    dir: PathBuf,
    /// vmauth's default directory (may be tightened), not one a user named.
    own: bool,
}

impl ConfigDir {
    /// The directory `dir`; `own`: vmauth's default one.
    pub fn new(dir: PathBuf, own: bool) -> ConfigDir {
        ConfigDir { dir, own }
    }

    /// The bytes kept about `key` in `sub/`, if this user's and nobody
    /// else can write to them.
    pub fn read(&self, sub: &str, key: &str) -> Option<Vec<u8>> {
        read_private(&cache_path(&self.dir, sub, key))
    }

    /// Keep `bytes` about `key` in `sub/` (0600 in 0700, atomically); its
    /// path. `warn` hears about a directory that had to be tightened.
    pub fn write(
        &self,
        sub: &str,
        key: &str,
        bytes: &[u8],
        warn: &dyn Fn(&str),
    ) -> Result<PathBuf> {
        let path = cache_path(&self.dir, sub, key);
        write_private(&self.dir, self.own, &self.dir.join(sub), &path, bytes, warn)?;
        Ok(path)
    }

    /// Forget what is kept about `key` in `sub/`.
    pub fn forget(&self, sub: &str, key: &str) {
        let _ = fs::remove_file(cache_path(&self.dir, sub, key));
    }

    /// The file `name` at the top of the directory, if this user's and
    /// nobody else can write to it (the directory itself, which may be a
    /// link the user made, was checked when the settings were read).
    pub fn read_file(&self, name: &str) -> Option<Vec<u8>> {
        read_trusted(&self.dir.join(name), MAX_FILE).ok().flatten()
    }

    /// Rewrite the file `name` with what `change` makes of its bytes, under
    /// the lock `name.lock` (other processes change it too).
    pub fn update_file(
        &self,
        name: &str,
        warn: &dyn Fn(&str),
        change: impl FnOnce(Option<Vec<u8>>) -> Result<Vec<u8>>,
    ) -> Result<()> {
        update_trusted(
            &self.dir,
            self.own,
            &self.dir.join(format!("{name}.lock")),
            &self.dir.join(name),
            MAX_FILE,
            warn,
            |now| Ok((change(now.ok().flatten())?, ())),
        )
    }
}

/// `state.json` and `locks/` in the config directory.
pub struct StateDir {
    cfg: ConfigDir,
    warn: WarnSink,
    /// `state.json` as this process last read or wrote it: read once per command.
    cached: std::cell::RefCell<Option<State>>,
}

impl StateDir {
    /// The state in `dir`; `own_dir`: vmauth's default directory (may be tightened).
    pub fn new(dir: PathBuf, own_dir: bool, warn: WarnSink) -> StateDir {
        StateDir {
            cfg: ConfigDir::new(dir, own_dir),
            warn,
            cached: Default::default(),
        }
    }

    /// Create the directory (0700), or check it, as [`ensure_private_dir`] says.
    pub fn ensure(&self) -> Result<()> {
        ensure_private_dir(&self.cfg.dir, self.cfg.own, &*self.warn)
    }

    /// Write `profile` as `[profiles.NAME]` into `config.toml`, keeping the
    /// rest of the file.
    pub fn save_profile(&self, name: &str, profile: &crate::profiles::Profile) -> Result<()> {
        self.ensure()?;
        crate::profiles::save(
            &self.cfg.dir.join(crate::profiles::FILE_NAME),
            name,
            profile,
        )
    }

    /// The directory as the storage backends keep files in it.
    pub fn config_dir(&self) -> ConfigDir {
        self.cfg.clone()
    }

    fn path(&self) -> PathBuf {
        self.cfg.dir.join("state.json")
    }

    /// `state.json`, read once per process (then as this process wrote it).
    fn read(&self) -> State {
        self.cached
            .borrow_mut()
            .get_or_insert_with(|| self.read_file())
            .clone()
    }

    /// An unreadable state file counts as empty: it holds nothing that cannot be
    /// recreated. One this user does not own (or others can write to) is not
    /// read: it could choose the current login or the store.
    fn read_file(&self) -> State {
        self.decode(read_trusted(&self.path(), MAX_FILE))
    }

    /// The state in `bytes` as read ([`StateDir::read_file`]).
    fn decode(&self, bytes: Result<Option<Vec<u8>>>) -> State {
        match bytes {
            Ok(bytes) => bytes
                .and_then(|b| serde_json::from_slice(&b).ok())
                .unwrap_or_default(),
            Err(e) => {
                (self.warn)(&format!("ignoring vmauth's state: {}", e.message()));
                State::default()
            }
        }
    }

    fn update(&self, change: impl FnOnce(&mut State)) -> Result<()> {
        let state = update_trusted(
            &self.cfg.dir,
            self.cfg.own,
            &self.cfg.dir.join("state.lock"),
            &self.path(),
            MAX_FILE,
            &*self.warn,
            |now| {
                // Under the lock, what another process may have written since.
                let mut state = self.decode(now);
                change(&mut state);
                let bytes = serde_json::to_vec_pretty(&state)
                    .map_err(|e| Error::with_cause(Kind::Storage, "cannot encode state", e))?;
                Ok((bytes, state))
            },
        )?;
        *self.cached.borrow_mut() = Some(state);
        Ok(())
    }

    /// The current login's cache key, if one was recorded.
    pub fn get(&self) -> Option<String> {
        self.read().current
    }

    /// Record (or with `None`, forget) the current login.
    pub fn set(&self, key: Option<&str>) -> Result<()> {
        if key.is_none() && self.read().current.is_none() {
            return Ok(());
        }
        self.update(|s| s.current = key.map(str::to_string))
    }

    /// What `--store auto` chose earlier, if anything.
    pub fn auto_store(&self) -> Option<String> {
        self.read().auto_store
    }

    /// Remember what `--store auto` chose.
    pub fn set_auto_store(&self, choice: &str) -> Result<()> {
        self.update(|s| s.auto_store = Some(choice.to_string()))
    }

    fn keep(&self, sub: &str, key: &str, credential: &Credential) -> Result<PathBuf> {
        let bytes = serde_json::to_vec(&Rescued {
            key: key.to_string(),
            credential: credential.clone(),
        })
        .map_err(|e| Error::with_cause(Kind::Storage, "cannot encode credentials", e))?;
        self.cfg.write(sub, key, &bytes, &*self.warn)
    }

    fn kept(&self, sub: &str, key: &str) -> Option<Credential> {
        let r: Rescued = serde_json::from_slice(&self.cfg.read(sub, key)?).ok()?;
        (r.key == key).then_some(r.credential)
    }

    /// The registration vmauth made at the authorization server `issuer`
    /// (RFC 7591; 0600 in `registrations/`: its registration access token is
    /// a secret), if any.
    pub fn registration(&self, issuer: &str) -> Option<StoredRegistration> {
        let r: StoredRegistration =
            serde_json::from_slice(&self.cfg.read("registrations", issuer)?).ok()?;
        (r.issuer == issuer).then_some(r)
    }

    /// Keep the registration made at `r.issuer`.
    pub fn set_registration(&self, r: &StoredRegistration) -> Result<()> {
        let bytes = serde_json::to_vec(r)
            .map_err(|e| Error::with_cause(Kind::Storage, "cannot encode a registration", e))?;
        self.cfg
            .write("registrations", &r.issuer, &bytes, &*self.warn)
            .map(|_| ())
    }

    /// Forget the registration made at `issuer` (rejected or deleted).
    pub fn forget_registration(&self, issuer: &str) {
        self.cfg.forget("registrations", issuer);
    }

    /// Remember that the token of `key` was refused by a server (git erased
    /// it): the next request refreshes before it hands a token out.
    pub fn mark_stale(&self, key: &str) -> Result<()> {
        self.cfg
            .write("stale", key, key.as_bytes(), &*self.warn)
            .map(|_| ())
    }

    /// Whether `key` was marked stale; the mark is gone after this.
    pub fn take_stale(&self, key: &str) -> bool {
        let marked = self
            .cfg
            .read("stale", key)
            .is_some_and(|k| k == key.as_bytes());
        if marked {
            self.cfg.forget("stale", key);
        }
        marked
    }

    /// Keep refreshed tokens the credential store refused (0600, in `rescue/`),
    /// so the next call finds them.
    pub fn rescue(&self, key: &str, credential: &Credential) -> Result<PathBuf> {
        self.keep("rescue", key, credential)
    }

    /// Tokens [`StateDir::rescue`] kept for `key`, if any.
    pub fn rescued(&self, key: &str) -> Option<Credential> {
        self.kept("rescue", key)
    }

    /// Forget rescued tokens once the store has them.
    pub fn forget_rescued(&self, key: &str) {
        self.cfg.forget("rescue", key);
    }

    /// `key`, just stored, is now the current login: tokens an earlier
    /// refresh kept aside for it (`rescue/`) are older and forgotten. Returns
    /// the tokens of its refused refreshes put aside as another party's
    /// (`refused/`), for the caller to revoke.
    pub fn now_current(&self, key: &str) -> Result<Option<Credential>> {
        self.forget_rescued(key);
        self.set(Some(key))?;
        Ok(self.set_aside_tokens(key))
    }

    /// Keep the tokens of a refresh answer that was refused as another
    /// party's (0600, in `refused/`), so `vmauth logout` can revoke them.
    pub fn set_aside(&self, key: &str, credential: &Credential) -> Result<PathBuf> {
        self.keep("refused", key, credential)
    }

    /// Tokens [`StateDir::set_aside`] kept for `key`, if any.
    pub fn set_aside_tokens(&self, key: &str) -> Option<Credential> {
        self.kept("refused", key)
    }

    /// Forget tokens put aside (once revoked).
    pub fn forget_set_aside(&self, key: &str) {
        self.cfg.forget("refused", key);
    }

    /// The cached key set of `uri`, with when it was fetched (Unix seconds).
    pub fn jwks(&self, uri: &str) -> Option<(i64, Vec<u8>)> {
        let c: CachedJwks = serde_json::from_slice(&self.cfg.read("jwks", uri)?).ok()?;
        (c.uri == uri).then(|| (c.fetched_at, c.jwks.to_string().into_bytes()))
    }

    /// Cache the key set of `uri` (`body`, a JWKS document) fetched at `now`.
    pub fn set_jwks(&self, uri: &str, now: i64, body: &[u8]) -> Result<()> {
        let jwks: serde_json::Value = serde_json::from_slice(body)
            .map_err(|e| Error::with_cause(Kind::Idp, "the key set is not JSON", e))?;
        let bytes = serde_json::to_vec(&CachedJwks {
            uri: uri.to_string(),
            fetched_at: now,
            jwks,
        })
        .map_err(|e| Error::with_cause(Kind::Storage, "cannot encode the key set", e))?;
        self.cfg.write("jwks", uri, &bytes, &*self.warn).map(drop)
    }

    /// The cached metadata of `issuer`: when it was fetched (Unix seconds), the
    /// URL it came from and the document, unchecked (the caller checks it as it
    /// checks a fetched one).
    pub fn discovery(&self, issuer: &str) -> Option<(i64, String, Vec<u8>)> {
        let bytes = self.cfg.read("discovery", issuer)?;
        let c: CachedDiscovery = serde_json::from_slice(&bytes).ok()?;
        (c.issuer == issuer).then(|| (c.fetched_at, c.url, c.document.get().as_bytes().to_vec()))
    }

    /// Cache the metadata document `body` of `issuer`, fetched from `url` at `now`.
    pub fn set_discovery(&self, issuer: &str, url: &str, now: i64, body: &[u8]) -> Result<()> {
        let document: Box<serde_json::value::RawValue> = serde_json::from_slice(body)
            .map_err(|e| Error::with_cause(Kind::Idp, "the issuer metadata is not JSON", e))?;
        let bytes = serde_json::to_vec(&CachedDiscovery {
            issuer: issuer.to_string(),
            url: url.to_string(),
            fetched_at: now,
            document,
        })
        .map_err(|e| Error::with_cause(Kind::Storage, "cannot encode the issuer metadata", e))?;
        self.cfg
            .write("discovery", issuer, &bytes, &*self.warn)
            .map(drop)
    }

    /// Forget the cached metadata of `issuer` (an endpoint it named failed).
    pub fn forget_discovery(&self, issuer: &str) {
        self.cfg.forget("discovery", issuer);
    }

    /// Take the per-login lock that makes refresh single-flight across processes
    /// (`locks/<hash>.lock` in the config directory, never a shared temp directory).
    pub fn lock_login(&self, key: &str, wait: Duration) -> Result<LockGuard> {
        let dir = self.cfg.dir.join("locks");
        self.ensure()?;
        ensure_private_subdir(&dir, &*self.warn)?;
        lock_exclusive_within(&dir.join(lock_file_name(key)), wait)
    }
}

impl crate::oidc::provider::ProviderCache for StateDir {
    fn discovery(&self, issuer: &str) -> Option<(i64, String, Vec<u8>)> {
        StateDir::discovery(self, issuer)
    }
    fn set_discovery(&self, issuer: &str, url: &str, now: i64, body: &[u8]) -> Result<()> {
        StateDir::set_discovery(self, issuer, url, now, body)
    }
    fn forget_discovery(&self, issuer: &str) {
        StateDir::forget_discovery(self, issuer)
    }
    fn jwks(&self, uri: &str) -> Option<(i64, Vec<u8>)> {
        StateDir::jwks(self, uri)
    }
    fn set_jwks(&self, uri: &str, now: i64, body: &[u8]) -> Result<()> {
        StateDir::set_jwks(self, uri, now, body)
    }
}

#[cfg(test)]
#[path = "state_tests.rs"]
mod tests;

/// A registration vmauth made (RFC 7591), kept per authorization server.
#[derive(Clone, serde::Serialize, serde::Deserialize)]
pub struct StoredRegistration {
    /// The authorization server's issuer.
    pub issuer: String,
    /// The registered client id.
    pub client_id: String,
    /// RFC 7592: where the registration is managed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registration_client_uri: Option<String>,
    /// RFC 7592: its bearer token (a secret).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registration_access_token: Option<crate::secret::Secret>,
}
