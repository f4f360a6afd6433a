//! The file backend: `~/.validmind/credentials.json`, the ValidMind library's
//! format (`{"version": 1, "credentials": {"<key>": {…}}}`), 0600 in a 0700
//! directory, replaced atomically, read-modify-write serialised by a lock file.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_json::value::RawValue;

use super::offsets::{self, Identity, Offsets, entry_at};
use super::{Credential, CredentialStore, StoreKind, WarnSink};
use crate::error::{Error, Kind, Result};
use crate::fsutil::{LockGuard, ensure_private_dir, open_private, probe_writable, rewrite_locked};

pub const FORMAT_VERSION: u64 = 1;

pub struct FileStore {
    path: PathBuf,
    /// The directory is vmauth's default one (may be tightened), not one a user named.
    own_dir: bool,
    warn: WarnSink,
    /// Where logins sit in a large file, so `get` reads only the one it serves.
    offsets: Option<Offsets>,
    /// Whole-file reads so far (tests check that a large file is not re-read).
    #[cfg(test)]
    pub(crate) whole_reads: std::cell::Cell<usize>,
}

impl FileStore {
    pub fn new(path: PathBuf, own_dir: bool, warn: WarnSink) -> FileStore {
        FileStore {
            path,
            own_dir,
            warn,
            offsets: None,
            #[cfg(test)]
            whole_reads: Default::default(),
        }
    }

    /// Remember where logins sit in a large file (in `offsets`), so that `get`
    /// reads only the login it serves.
    pub fn with_offsets(mut self, offsets: Offsets) -> FileStore {
        self.offsets = Some(offsets);
        self
    }

    /// The file beside the credentials file named `credentials.json<suffix>`.
    fn beside(&self, suffix: &str) -> PathBuf {
        let mut name = self
            .path
            .file_name()
            .map(|n| n.to_os_string())
            .unwrap_or_else(|| "credentials.json".into());
        name.push(suffix);
        self.path.with_file_name(name)
    }

    fn lock_path(&self) -> PathBuf {
        self.beside(".lock")
    }

    /// The file, open, and what `fstat` says of it; `None` when there is none.
    fn open(&self) -> Result<Option<(fs::File, fs::Metadata)>> {
        open_private(&self.path, self.own_dir, "credentials file", &*self.warn)
    }

    /// The rest of the open file.
    fn read_all(&self, mut file: fs::File, meta: &fs::Metadata) -> Result<Vec<u8>> {
        #[cfg(test)]
        self.whole_reads.set(self.whole_reads.get() + 1);
        let mut bytes = Vec::new();
        bytes
            .try_reserve_exact(usize::try_from(meta.len()).unwrap_or(usize::MAX).saturating_add(1))
            .map_err(|_| {
                Error::storage(format!(
                    "{} is too large to be a credentials file ({} bytes); move it aside and log in again",
                    self.path.display(),
                    meta.len()
                ))
            })?;
        // Through `Take`: `File::read_to_end` would fstat and lseek again for
        // the size `meta` already gave.
        (&mut file)
            .take(u64::MAX)
            .read_to_end(&mut bytes)
            .map_err(|e| Error::io(format_args!("read {}", self.path.display()), e))?;
        Ok(bytes)
    }

    /// The file's bytes; an absent (or blank) file is an empty store.
    fn read_bytes(&self) -> Result<Vec<u8>> {
        match self.open()? {
            Some((file, meta)) => self.read_all(file, &meta),
            None => Ok(Vec::new()),
        }
    }

    /// The login `key` read at the range remembered for this version of the
    /// file, if one is and it holds exactly that login.
    fn get_at_offset(&self, file: &fs::File, identity: Identity, key: &str) -> Option<Credential> {
        let (start, end) = self.offsets.as_ref()?.get(&self.path, identity, key)?;
        // A damaged or planted offsets file must not make vmauth allocate or
        // read beyond the file (one login is a few KiB).
        if end > identity.size() || end.saturating_sub(start) > offsets::MAX_ENTRY {
            return None;
        }
        let len = usize::try_from(end.checked_sub(start)?).ok()?;
        let mut bytes = vec![0; len];
        read_exact_at(file, &mut bytes, start).ok()?;
        let raw = entry_at(&bytes, key)?;
        decode(key, &raw, &self.path).ok()
    }

    /// The document in `bytes`, each login left unparsed. A file that is not a
    /// credentials document is an error, never silently replaced.
    fn parse<'a>(&self, bytes: &'a [u8]) -> Result<Doc<'a>> {
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Doc::default());
        }
        let corrupt = |why: &str| {
            Error::storage(format!(
                "{} is not a valid credentials file ({why}); fix it or move it aside and log in again",
                self.path.display()
            ))
        };
        let doc: Doc = serde_json::from_slice(bytes).map_err(|e| {
            corrupt(match e.to_string() {
                m if m.contains(NOT_AN_OBJECT) => "not a JSON object",
                m if m.contains(CREDENTIALS_NOT_AN_OBJECT) => "\"credentials\" is not an object",
                _ => "not JSON",
            })
        })?;
        if let Some(v) = doc.members.get("version")
            && serde_json::from_str::<Value>(v.get())
                .ok()
                .and_then(|v| v.as_u64())
                .is_some_and(|v| v > FORMAT_VERSION)
        {
            return Err(corrupt("written by a newer version; upgrade vmauth"));
        }
        Ok(doc)
    }

    /// The directory holding the file.
    fn dir(&self) -> &Path {
        self.path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."))
    }

    /// Lock, read, let `change` edit the logins, write back atomically. Logins
    /// and members `change` leaves alone are written back as they were read,
    /// byte for byte (other tools' formatting and numbers included).
    fn modify<T>(&self, change: impl FnOnce(&mut BTreeMap<Key<'_>, Entry<'_>>) -> T) -> Result<T> {
        rewrite_locked(
            self.dir(),
            self.own_dir,
            &self.lock_path(),
            &self.path,
            &*self.warn,
            || self.rewrite(change),
        )
    }

    /// [`FileStore::modify`] under the lock: the new bytes, and what `change` gave.
    fn rewrite<T>(
        &self,
        change: impl FnOnce(&mut BTreeMap<Key<'_>, Entry<'_>>) -> T,
    ) -> Result<(Vec<u8>, T)> {
        let bytes = self.read_bytes()?;
        let doc = self.parse(&bytes)?;
        let mut logins: BTreeMap<Key<'_>, Entry<'_>> = doc
            .credentials
            .into_iter()
            .map(|(k, v)| (k, Entry::Kept(v)))
            .collect();
        let out = change(&mut logins);
        let mut members: BTreeMap<Key<'_>, Entry<'_>> = doc
            .members
            .into_iter()
            .map(|(k, v)| (k, Entry::Kept(v)))
            .collect();
        members.insert(
            Key::from("version"),
            Entry::New(Value::from(FORMAT_VERSION)),
        );
        members.insert(Key::from("credentials"), Entry::Logins(logins));
        let mut out_bytes = serde_json::to_vec_pretty(&members)
            .map_err(|e| Error::with_cause(Kind::Storage, "cannot encode credentials", e))?;
        out_bytes.push(b'\n');
        Ok((out_bytes, out))
    }
}

/// A member name or cache key, borrowed from the file when it has no escapes.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Key<'a>(Cow<'a, str>);

impl<'a> From<&'a str> for Key<'a> {
    fn from(s: &'a str) -> Key<'a> {
        Key(Cow::Borrowed(s))
    }
}

impl std::borrow::Borrow<str> for Key<'_> {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl Serialize for Key<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(
                self,
                v: &'de str,
            ) -> std::result::Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> std::result::Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v.to_string())))
            }
        }
        d.deserialize_str(V)
    }
}

/// Markers in the parse errors of [`Doc`], so the message can say what is wrong.
const NOT_AN_OBJECT: &str = "vmauth: the document is not an object";
const CREDENTIALS_NOT_AN_OBJECT: &str = "vmauth: credentials is not an object";

/// The credentials document as read, in one pass over the bytes: every login
/// and every other member kept as its JSON text (checked well-formed, not
/// parsed), so a command parses only the login it serves. A member or login
/// that appears twice counts once, the last one, as in any JSON object reader.
#[derive(Default)]
struct Doc<'a> {
    /// Members other than `credentials` (`version`, other tools' fields).
    members: BTreeMap<Key<'a>, &'a RawValue>,
    /// The logins by cache key.
    credentials: BTreeMap<Key<'a>, &'a RawValue>,
}

impl<'de> Deserialize<'de> for Doc<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Doc<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str(NOT_AN_OBJECT)
            }
            fn visit_map<A: MapAccess<'de>>(
                self,
                mut map: A,
            ) -> std::result::Result<Doc<'de>, A::Error> {
                let mut doc = Doc::default();
                while let Some(key) = map.next_key::<Key<'de>>()? {
                    if key.0 == "credentials" {
                        doc.credentials = map.next_value::<Logins<'de>>()?.0;
                    } else {
                        let value = map.next_value()?;
                        doc.members.remove(&key);
                        doc.members.insert(key, value);
                    }
                }
                Ok(doc)
            }
        }
        d.deserialize_map(V)
    }
}

/// The `credentials` object: cache key to the login's JSON text.
struct Logins<'a>(BTreeMap<Key<'a>, &'a RawValue>);

impl<'de> Deserialize<'de> for Logins<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Logins<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str(CREDENTIALS_NOT_AN_OBJECT)
            }
            fn visit_map<A: MapAccess<'de>>(
                self,
                mut map: A,
            ) -> std::result::Result<Logins<'de>, A::Error> {
                let mut logins = BTreeMap::new();
                while let Some((k, v)) = map.next_entry::<Key<'de>, &'de RawValue>()? {
                    // The last of a repeated login, with its own key (whose
                    // position in the file is the one `member_range` needs).
                    logins.remove(&k);
                    logins.insert(k, v);
                }
                Ok(Logins(logins))
            }
        }
        d.deserialize_map(V)
    }
}

/// A member or login as written back.
enum Entry<'a> {
    /// As it was read, byte for byte.
    Kept(&'a RawValue),
    /// New or changed.
    New(Value),
    /// The `credentials` object.
    Logins(BTreeMap<Key<'a>, Entry<'a>>),
}

impl Serialize for Entry<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        match self {
            Entry::Kept(raw) => raw.serialize(s),
            Entry::New(v) => v.serialize(s),
            Entry::Logins(m) => m.serialize(s),
        }
    }
}

/// The byte range of the member `"<key>": <raw>` in `bytes`, when both are
/// slices of it (a key written with escapes is not: no range).
fn member_range(bytes: &[u8], key: &Key<'_>, raw: &RawValue) -> Option<(u64, u64)> {
    let Cow::Borrowed(k) = &key.0 else {
        return None;
    };
    let base = bytes.as_ptr() as usize;
    let offset = |p: *const u8| (p as usize).checked_sub(base).filter(|o| *o <= bytes.len());
    // The opening quote comes just before the key's text.
    let start = offset(k.as_ptr())?.checked_sub(1)?;
    let end = offset(raw.get().as_ptr())? + raw.get().len();
    (bytes.get(start) == Some(&b'"') && end <= bytes.len()).then_some((start as u64, end as u64))
}

#[cfg(unix)]
fn read_exact_at(file: &fs::File, buf: &mut [u8], offset: u64) -> std::io::Result<()> {
    std::os::unix::fs::FileExt::read_exact_at(file, buf, offset)
}

#[cfg(not(unix))]
fn read_exact_at(_: &fs::File, _: &mut [u8], _: u64) -> std::io::Result<()> {
    Err(std::io::ErrorKind::Unsupported.into())
}

/// One login from its JSON text ([`Credential::from_json`]).
fn decode(key: &str, raw: &RawValue, path: &Path) -> Result<Credential> {
    Credential::from_json(raw.get()).map_err(|_| {
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

    fn lock_login(&self, key: &str, wait: std::time::Duration) -> Option<Result<LockGuard>> {
        // No file, no other writer to wait for (and no directory created for it).
        if !self.path.exists() {
            return None;
        }
        // `credentials.json.<hash of the key>.lock`, beside the file.
        let path = self.beside(&format!(".{}", crate::fsutil::lock_file_name(key)));
        match crate::fsutil::lock_exclusive_within(&path, wait) {
            // A directory that takes no new file (mounted read-only): nobody can
            // write the login there, so there is no writer to wait for; the
            // refresh finds out that it cannot store its result before it
            // spends the refresh token.
            Err(e) if e.is_read_only_fs() => None,
            r => Some(r),
        }
    }

    fn check_writable(&self) -> Result<()> {
        ensure_private_dir(self.dir(), self.own_dir, &*self.warn)?;
        probe_writable(self.dir())
    }

    fn get(&self, key: &str) -> Result<Option<Credential>> {
        let Some((file, meta)) = self.open()? else {
            return Ok(None);
        };
        // A large file: where the login sat when this version was last parsed.
        let identity = (meta.len() >= offsets::MIN_SIZE)
            .then(|| Identity::of(&meta))
            .flatten()
            .filter(|_| self.offsets.is_some());
        if let Some(identity) = identity
            && let Some(c) = self.get_at_offset(&file, identity, key)
        {
            return Ok(Some(c));
        }
        let bytes = self.read_all(file, &meta)?;
        let doc = self.parse(&bytes)?;
        let Some((k, raw)) = doc.credentials.get_key_value(key) else {
            return Ok(None);
        };
        let credential = decode(key, raw, &self.path)?;
        if let (Some(identity), Some(offsets), Some(range)) =
            (identity, &self.offsets, member_range(&bytes, k, raw))
        {
            // Best effort: without it the next call reads the whole file again.
            let _ = offsets.set(&self.path, identity, key, range);
        }
        Ok(Some(credential))
    }

    fn put(&self, key: &str, credential: &Credential) -> Result<()> {
        let value = credential
            .to_json()
            .map_err(|e| Error::with_cause(Kind::Storage, "cannot encode credentials", e))?;
        self.modify(|logins| {
            logins.insert(Key(Cow::Owned(key.to_string())), Entry::New(value));
        })
    }

    fn delete(&self, key: &str) -> Result<bool> {
        if let Some(o) = &self.offsets {
            o.forget(&self.path, key);
        }
        let bytes = self.read_bytes()?;
        if !self.parse(&bytes)?.credentials.contains_key(key) {
            return Ok(false);
        }
        self.modify(|logins| logins.remove(key).is_some())
    }

    fn list(&self) -> Result<Vec<(String, Credential)>> {
        let bytes = self.read_bytes()?;
        let mut out = Vec::new();
        // Sorted by key already (a BTreeMap).
        for (k, raw) in self.parse(&bytes)?.credentials {
            // One malformed entry (e.g. another tool's) must not hide the others.
            if let Ok(c) = decode(&k.0, raw, &self.path) {
                out.push((k.0.into_owned(), c));
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
#[path = "file_tests.rs"]
mod tests;
