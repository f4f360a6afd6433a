//! The OS keychain backend: macOS Keychain, Windows Credential Manager, Secret
//! Service on Linux (keyring-core with one store crate per platform). Service
//! `vmauth`, account = the login's cache key, value = the credential as JSON.
//!
//! Every keychain call runs with a timeout (a locked desktop keyring can block on
//! an unlock prompt). Values larger than one item may hold are split over several
//! items. Keychains cannot be listed portably, so the keys are also kept in a
//! non-secret index file in vmauth's config directory.

use std::collections::BTreeSet;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::mpsc;
use std::time::Duration;

use keyring_core::{CredentialStore as Platform, Entry};
use serde::{Deserialize, Serialize};

use super::{Credential, CredentialStore, StoreKind, WarnSink};
use crate::clock::{Rng, random_hex};
use crate::error::{Error, Kind, Result};
use crate::state::ConfigDir;

/// The keychain service name of every vmauth item.
pub const SERVICE: &str = "vmauth";
/// The item used to check that the keychain works.
const PROBE: &str = "vmauth-probe";
/// Marks an item whose value is split over `<key>#1` … `<key>#N`.
const CHUNKED: &str = "vmauth-chunked:";

/// The platform's default item size limit, in bytes of the stored value.
pub fn default_max_item() -> usize {
    if cfg!(windows) {
        2560 // CRED_MAX_CREDENTIAL_BLOB_SIZE
    } else {
        16 * 1024
    }
}

/// The OS keychain store.
pub struct KeyringStore {
    rng: Rc<dyn Rng>,
    platform: Arc<Platform>,
    /// The config directory, for the index of the items vmauth made.
    config_dir: ConfigDir,
    timeout: Duration,
    max_item: usize,
    warn: WarnSink,
}

/// Run a keychain call on its own thread, giving up after `timeout`.
fn bounded<T: Send + 'static>(
    timeout: Duration,
    f: impl FnOnce() -> keyring_core::Result<T> + Send + 'static,
) -> Result<keyring_core::Result<T>> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(timeout).map_err(|_| {
        Error::storage(format!(
            "the OS keychain did not answer within {}s (is it locked or waiting for an unlock prompt?)",
            timeout.as_secs()
        ))
    })
}

/// A keychain error as one line naming what to do, never including stored data.
/// Callers that know better alternatives (the file store) add them.
fn keychain_error(e: &keyring_core::Error) -> Error {
    use keyring_core::Error as E;
    let message = match e {
        E::NoStorageAccess(_) => "the OS keychain is locked or denied access; unlock it".into(),
        E::NoDefaultStore => "no OS keychain is available on this system".into(),
        E::PlatformFailure(p) => short_cause(&p.to_string()),
        E::TooLong(what, max) => {
            format!(
                "{what} is longer than the OS keychain allows ({max}); set VMAUTH_KEYRING_MAX_ITEM lower"
            )
        }
        E::BadEncoding(_) | E::BadDataFormat(..) => {
            "a keychain item is not in vmauth's format; run vmauth logout and log in again".into()
        }
        E::Ambiguous(_) => {
            "several keychain items match one login; remove the extra ones in the keychain manager"
                .into()
        }
        // The remaining variants can carry values; name the kind only.
        _ => "the OS keychain refused the request".into(),
    };
    Error::storage(message)
}

/// A platform failure in a few words: the usual reasons a Secret Service cannot
/// be reached, else the library's own text (sanitised, shortened).
fn short_cause(text: &str) -> String {
    let known = [
        ("Failed to connect to address", "no D-Bus session bus"),
        ("DBUS_SESSION_BUS_ADDRESS", "no D-Bus session bus"),
        (
            "Unable to open a connection to session bus",
            "no D-Bus session bus",
        ),
        (
            "ServiceUnknown",
            "no Secret Service on the session bus (is gnome-keyring or KeePassXC running?)",
        ),
        (
            "was not provided by any .service files",
            "no Secret Service on the session bus (is gnome-keyring or KeePassXC running?)",
        ),
        ("NoReply", "the Secret Service did not answer"),
    ];
    match known.iter().find(|(needle, _)| text.contains(needle)) {
        Some((_, short)) => short.to_string(),
        None => format!(
            "the OS keychain failed: {}",
            crate::error::from_server(text, 160)
        ),
    }
}

/// The platform's credential store.
fn platform_store() -> keyring_core::Result<Arc<Platform>> {
    #[cfg(all(
        unix,
        not(any(target_os = "macos", target_os = "ios", target_os = "android"))
    ))]
    {
        let s: Arc<Platform> = zbus_secret_service_keyring_store::Store::new()?;
        Ok(s)
    }
    #[cfg(target_os = "macos")]
    {
        let s: Arc<Platform> = apple_native_keyring_store::keychain::Store::new()?;
        Ok(s)
    }
    #[cfg(target_os = "windows")]
    {
        let s: Arc<Platform> = windows_native_keyring_store::Store::new()?;
        Ok(s)
    }
    #[cfg(not(any(unix, windows)))]
    {
        Err(keyring_core::Error::NoDefaultStore)
    }
}

#[derive(Default, Serialize, Deserialize)]
struct Index {
    keys: BTreeSet<String>,
}

impl KeyringStore {
    /// Connect to the keychain and check that it answers, all within `timeout`:
    /// a read of an item that does not exist, or with `check_write` a write and
    /// delete of a probe item (a locked keychain can still answer reads).
    pub fn open(
        config_dir: ConfigDir,
        timeout: Duration,
        max_item: usize,
        check_write: bool,
        warn: WarnSink,
        rng: Rc<dyn Rng>,
    ) -> Result<KeyringStore> {
        let platform = bounded(timeout, platform_store)?.map_err(|e| keychain_error(&e))?;
        let store = KeyringStore {
            rng,
            platform,
            config_dir,
            timeout,
            max_item: max_item.max(64),
            warn,
        };
        if check_write {
            store.write_item(PROBE, "ok".into())?;
            store.delete_item(PROBE)?;
            return Ok(store);
        }
        match store.read_item(PROBE)? {
            Ok(_) | Err(keyring_core::Error::NoEntry) => Ok(store),
            Err(e) => Err(keychain_error(&e)),
        }
    }

    fn entry(&self, user: &str) -> Result<Entry> {
        self.platform
            .build(SERVICE, user, None)
            .map_err(|e| keychain_error(&e))
    }

    fn read_item(&self, user: &str) -> Result<keyring_core::Result<String>> {
        let entry = self.entry(user)?;
        bounded(self.timeout, move || entry.get_password())
    }

    fn write_item(&self, user: &str, value: String) -> Result<()> {
        let entry = self.entry(user)?;
        bounded(self.timeout, move || entry.set_password(&value))?.map_err(|e| keychain_error(&e))
    }

    fn delete_item(&self, user: &str) -> Result<bool> {
        let entry = self.entry(user)?;
        match bounded(self.timeout, move || entry.delete_credential())? {
            Ok(()) => Ok(true),
            Err(keyring_core::Error::NoEntry) => Ok(false),
            Err(e) => Err(keychain_error(&e)),
        }
    }

    /// How the stored value of `key` is split, if it is (`None`: plain or absent).
    fn chunks(&self, key: &str) -> Result<Option<Chunks>> {
        Ok(match self.read_item(key)? {
            Ok(head) => Chunks::parse(&head),
            Err(_) => None,
        })
    }

    /// The whole value of `key`, following chunks. A writer replaces a split value
    /// by writing a new generation of parts before switching the head, so a reader
    /// that finds a part gone re-reads the head once.
    fn read_value(&self, key: &str) -> Result<Option<String>> {
        for attempt in 0..2 {
            let head = match self.read_item(key)? {
                Ok(v) => v,
                Err(keyring_core::Error::NoEntry) => return Ok(None),
                Err(e) => return Err(keychain_error(&e)),
            };
            let Some(chunks) = Chunks::parse(&head) else {
                if head.starts_with(CHUNKED) {
                    return Err(Error::storage(format!(
                        "keychain item {key:?} is damaged; run vmauth logout and log in again"
                    )));
                }
                return Ok(Some(head));
            };
            let mut value = String::new();
            let mut complete = true;
            for name in chunks.names(key) {
                match self.read_item(&name)? {
                    Ok(part) => value.push_str(&part),
                    Err(_) => {
                        complete = false;
                        break;
                    }
                }
            }
            if complete {
                return Ok(Some(value));
            }
            if attempt == 1 {
                return Err(Error::storage(format!(
                    "a part of keychain item {key:?} is missing; run vmauth logout and log in again"
                )));
            }
        }
        unreachable!("the loop returns on its second pass")
    }

    fn read_index(&self) -> Index {
        // Only this user's: a planted index could name other keychain items.
        self.config_dir
            .read_file(INDEX)
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default()
    }

    fn update_index(&self, change: impl FnOnce(&mut BTreeSet<String>)) -> Result<()> {
        self.config_dir.update_file(INDEX, &*self.warn, |bytes| {
            let mut index: Index = bytes
                .and_then(|b| serde_json::from_slice(&b).ok())
                .unwrap_or_default();
            change(&mut index.keys);
            serde_json::to_vec_pretty(&index).map_err(|e| {
                Error::with_cause(Kind::Storage, "cannot encode the keychain index", e)
            })
        })
    }
}

/// The index of the items vmauth made, in the config directory.
const INDEX: &str = "keyring-index.json";

/// A value split over several items: `n` parts of generation `generation`, named
/// `<key>#vmauth-part-<generation>-<i>`. The head item holds `vmauth-chunked:<n>:<generation>`.
#[derive(Debug, PartialEq, Eq)]
struct Chunks {
    n: usize,
    generation: String,
}

impl Chunks {
    /// `n` parts of a new generation (a random name, so two writers never share one).
    fn new(n: usize, rng: &dyn Rng) -> Result<Chunks> {
        let generation = random_hex(rng, 8)
            .map_err(|_| Error::storage("no system randomness for a keychain item name"))?;
        Ok(Chunks { n, generation })
    }

    fn parse(head: &str) -> Option<Chunks> {
        let (n, generation) = head.strip_prefix(CHUNKED)?.split_once(':')?;
        let n: usize = n.parse().ok().filter(|n| (1..=4096).contains(n))?;
        (!generation.is_empty() && generation.bytes().all(|b| b.is_ascii_hexdigit())).then(|| {
            Chunks {
                n,
                generation: generation.to_string(),
            }
        })
    }

    fn head(&self) -> String {
        format!("{CHUNKED}{}:{}", self.n, self.generation)
    }

    fn names(&self, key: &str) -> Vec<String> {
        (1..=self.n)
            .map(|i| format!("{key}#vmauth-part-{}-{i}", self.generation))
            .collect()
    }
}

/// Split at character boundaries into pieces of at most `max` bytes.
fn split(value: &str, max: usize) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut rest = value;
    while !rest.is_empty() {
        let mut cut = rest.len().min(max);
        while !rest.is_char_boundary(cut) {
            cut -= 1;
        }
        parts.push(&rest[..cut]);
        rest = &rest[cut..];
    }
    parts
}

impl CredentialStore for KeyringStore {
    fn kind(&self) -> StoreKind {
        StoreKind::Keyring
    }

    fn location(&self) -> String {
        format!("OS keychain, service {SERVICE:?}")
    }

    fn get(&self, key: &str) -> Result<Option<Credential>> {
        match self.read_value(key)? {
            None => Ok(None),
            Some(v) => serde_json::from_str(&v).map(Some).map_err(|_| {
                Error::storage(format!(
                    "keychain item {key:?} is not a vmauth credential; run vmauth logout and log in again"
                ))
            }),
        }
    }

    fn put(&self, key: &str, credential: &Credential) -> Result<()> {
        let value = serde_json::to_string(credential)
            .map_err(|e| Error::with_cause(Kind::Storage, "cannot encode credentials", e))?;
        let old = self.chunks(key)?;
        if value.len() <= self.max_item {
            self.write_item(key, value)?;
        } else {
            // A new generation of parts first, then the head that points at them.
            let parts = split(&value, self.max_item);
            let new = Chunks::new(parts.len(), &*self.rng)?;
            for (name, part) in new.names(key).iter().zip(&parts) {
                self.write_item(name, part.to_string())?;
            }
            self.write_item(key, new.head())?;
        }
        if let Some(old) = old {
            for name in old.names(key) {
                self.delete_item(&name)?;
            }
        }
        self.update_index(|k| {
            k.insert(key.to_string());
        })
    }

    fn delete(&self, key: &str) -> Result<bool> {
        let chunks = self.chunks(key)?;
        let existed = self.delete_item(key)?;
        if let Some(chunks) = chunks {
            for name in chunks.names(key) {
                self.delete_item(&name)?;
            }
        }
        self.update_index(|k| {
            k.remove(key);
        })?;
        Ok(existed)
    }

    fn list(&self) -> Result<Vec<(String, Credential)>> {
        let mut out = Vec::new();
        for key in self.read_index().keys {
            if let Some(c) = self.get(&key)? {
                out.push((key, c));
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
#[path = "keyring_tests.rs"]
mod tests;
