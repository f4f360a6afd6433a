//! The file backend: `~/.validmind/credentials.json`, the ValidMind library's
//! format (`{"version": 1, "credentials": {"<key>": {…}}}`), 0600 in a 0700
//! directory, replaced atomically, read-modify-write serialised by a lock file.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fs;
use std::io::{ErrorKind, Read};
use std::path::{Path, PathBuf};

use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_json::value::RawValue;

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

    /// The file's bytes; an absent (or blank) file is an empty store.
    fn read_bytes(&self) -> Result<Vec<u8>> {
        check_dir_for_read(self.dir(), self.own_dir, &*self.warn)?;
        let mut file = match fs::File::open(&self.path) {
            Ok(f) => f,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => {
                return Err(Error::io(format_args!("read {}", self.path.display()), e));
            }
        };
        let meta = file
            .metadata()
            .map_err(|e| Error::io(format_args!("read {}", self.path.display()), e))?;
        tighten(&self.path, 0o600, &meta, &*self.warn)?;
        let mut bytes = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0) + 1);
        file.read_to_end(&mut bytes)
            .map_err(|e| Error::io(format_args!("read {}", self.path.display()), e))?;
        Ok(bytes)
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
        ensure_private_dir(self.dir(), self.own_dir, &*self.warn)?;
        let _guard = lock_exclusive(&self.lock_path())?;
        remove_stale_temp_files(self.dir());
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
        write_atomic(&self.path, &out_bytes)?;
        Ok(out)
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
                        doc.members.insert(key, map.next_value()?);
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

/// One login from its JSON text. Read directly, not through a `Value`: other
/// tools' fields keep integers beyond 64 bits (a `Value` in between loses them
/// to serde's buffering of flattened fields).
fn decode(key: &str, raw: &RawValue, path: &Path) -> Result<Credential> {
    serde_json::from_str(raw.get()).map_err(|_| {
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
        let bytes = self.read_bytes()?;
        match self.parse(&bytes)?.credentials.get(key) {
            Some(raw) => decode(key, raw, &self.path).map(Some),
            None => Ok(None),
        }
    }

    fn put(&self, key: &str, credential: &Credential) -> Result<()> {
        let value = serde_json::to_value(credential)
            .map_err(|e| Error::with_cause(Kind::Storage, "cannot encode credentials", e))?;
        self.modify(|logins| {
            logins.insert(Key(Cow::Owned(key.to_string())), Entry::New(value));
        })
    }

    fn delete(&self, key: &str) -> Result<bool> {
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
