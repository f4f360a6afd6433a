//! Where a login sits in a large credentials file, remembered in vmauth's config
//! directory (`offsets/`), so a cached `vmauth token` reads only that login's
//! bytes instead of the whole file: its cost stays flat with a thousand logins.
//!
//! One small file per (credentials file, login): the file's identity when it
//! was parsed (device, inode, size, modification and change times to the
//! nanosecond) and the byte range of `"<key>": {…}`. It is used only while the
//! credentials file has that identity (any write by vmauth replaces the file, a
//! new inode; a write in place changes the change time), and what it points at
//! is checked: exactly one member, named `key`, whose value is a JSON object.
//! Anything else falls back to reading the whole file. Only files of at least
//! [`MIN_SIZE`] are worth it; smaller ones never get an offsets file.

use std::fs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::error::Result;
use crate::state::ConfigDir;

/// Credentials files smaller than this are read whole (a few pages: cheaper
/// than an extra file).
pub const MIN_SIZE: u64 = 64 * 1024;

/// The largest login an offsets file may point at (a login is a few KiB).
pub const MAX_ENTRY: u64 = 1 << 20;

/// What identifies one version of a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    dev: u64,
    ino: u64,
    size: u64,
    mtime: (i64, i64),
    ctime: (i64, i64),
}

impl Identity {
    /// The file's size.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The identity of the file `meta` describes (Unix only).
    pub fn of(meta: &fs::Metadata) -> Option<Identity> {
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            Some(Identity {
                dev: meta.dev(),
                ino: meta.ino(),
                size: meta.size(),
                mtime: (meta.mtime(), meta.mtime_nsec()),
                ctime: (meta.ctime(), meta.ctime_nsec()),
            })
        }
        #[cfg(not(unix))]
        {
            let _ = meta;
            None
        }
    }
}

#[derive(Serialize, Deserialize)]
struct Saved {
    path: PathBuf,
    key: String,
    identity: Identity,
    /// `"<key>": {…}`: from the key's opening quote to the value's closing brace.
    range: (u64, u64),
}

/// The `offsets/` directory of a config directory.
pub struct Offsets {
    dir: ConfigDir,
}

impl Offsets {
    /// Offsets kept in `offsets/` of the config directory.
    pub fn new(dir: ConfigDir) -> Offsets {
        Offsets { dir }
    }

    fn name(file: &Path, key: &str) -> String {
        format!("{}\n{key}", file.display())
    }

    /// The remembered range of `key` in `file`, if `file` still is the version
    /// it was found in.
    pub fn get(&self, file: &Path, identity: Identity, key: &str) -> Option<(u64, u64)> {
        let saved: Saved =
            serde_json::from_slice(&self.dir.read("offsets", &Self::name(file, key))?).ok()?;
        (saved.path == file && saved.key == key && saved.identity == identity)
            .then_some(saved.range)
    }

    /// Remember that `key` sits at `range` in `file` as of `identity`.
    pub fn set(&self, file: &Path, identity: Identity, key: &str, range: (u64, u64)) -> Result<()> {
        let bytes = serde_json::to_vec(&Saved {
            path: file.to_path_buf(),
            key: key.to_string(),
            identity,
            range,
        })
        .map_err(|e| {
            crate::error::Error::with_cause(crate::error::Kind::Storage, "cannot encode offsets", e)
        })?;
        self.dir
            .write("offsets", &Self::name(file, key), &bytes, &|_| {})
            .map(drop)
    }

    /// Forget where `key` sits in `file` (it was removed).
    pub fn forget(&self, file: &Path, key: &str) {
        self.dir.forget("offsets", &Self::name(file, key));
    }
}

/// The login `key` from `bytes`, which must be exactly `"<key>": {…}`.
pub fn entry_at(bytes: &[u8], key: &str) -> Option<Box<RawValue>> {
    // Read as the members of an object: serde_json checks all of it, and a
    // range that holds more or less than one whole member is refused.
    let mut object = Vec::with_capacity(bytes.len() + 2);
    object.push(b'{');
    object.extend_from_slice(bytes);
    object.push(b'}');
    let Members(count, last) = serde_json::from_slice(&object).ok()?;
    let (name, value) = last?;
    (count == 1 && name == key && value.get().starts_with('{')).then_some(value)
}

/// How many members an object has, and its last one.
struct Members(usize, Option<(String, Box<RawValue>)>);

impl<'de> Deserialize<'de> for Members {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Members;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> std::result::Result<Members, A::Error> {
                let mut out = Members(0, None);
                while let Some(member) = map.next_entry::<String, Box<RawValue>>()? {
                    out.0 += 1;
                    out.1 = Some(member);
                }
                Ok(out)
            }
        }
        d.deserialize_map(V)
    }
}

#[cfg(test)]
#[path = "offsets_tests.rs"]
mod tests;
