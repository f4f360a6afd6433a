//! Private files: 0700 directories, 0600 files (whatever the umask), atomic
//! replace (temp file, fsync, rename, fsync directory) and advisory lock files.
//! What may be read, and how a directory is made private, is [`trust`]'s.

mod trust;

pub use trust::*;

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

fn io_err(what: &str, path: &Path, e: std::io::Error) -> Error {
    Error::io(format_args!("{what} {}", path.display()), e)
}

/// Replace `path` with `bytes` atomically: a 0600 temp file in the same directory,
/// fsync, rename over `path`, fsync the directory. Readers see the old or the new
/// content, never a mix; a crash leaves the old file.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = parent(path);
    let mut tmp = tempfile::Builder::new()
        .prefix(&format!("{TEMP_PREFIX}{}-", std::process::id()))
        .suffix(TEMP_SUFFIX)
        .tempfile_in(&dir)
        .map_err(|e| io_err("create a temporary file in", &dir, e))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        tmp.as_file()
            .set_permissions(fs::Permissions::from_mode(0o600))
            .map_err(|e| io_err("set permissions on", tmp.path(), e))?;
    }
    tmp.write_all(bytes)
        .and_then(|_| tmp.as_file().sync_all())
        .map_err(|e| io_err("write", tmp.path(), e))?;
    tmp.persist(path)
        .map_err(|e| io_err("replace", path, e.error))?;
    #[cfg(unix)]
    if let Ok(d) = File::open(&dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// Whether a file can be created in `dir` now (what an atomic replace needs):
/// creates and removes one of vmauth's temporary files.
pub fn probe_writable(dir: &Path) -> Result<()> {
    tempfile::Builder::new()
        .prefix(&format!("{TEMP_PREFIX}{}-", std::process::id()))
        .suffix(TEMP_SUFFIX)
        .tempfile_in(dir)
        .map(drop)
        .map_err(|e| io_err("create a file in", dir, e))
}

const TEMP_PREFIX: &str = ".vmauth-";
const TEMP_SUFFIX: &str = ".tmp";

/// Remove vmauth's temporary files in `dir` left by writes that were interrupted
/// (`.vmauth-<pid>-<random>.tmp` whose process no longer exists). Best effort:
/// a file that cannot be removed is left for next time.
pub fn remove_stale_temp_files(dir: &Path) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|n| n.strip_prefix(TEMP_PREFIX))
            .and_then(|n| n.strip_suffix(TEMP_SUFFIX))
            .and_then(|n| n.split_once('-'))
            .and_then(|(pid, _)| pid.parse::<u32>().ok())
        else {
            continue;
        };
        if !process_exists(pid) {
            let _ = fs::remove_file(entry.path());
        }
    }
}

/// Whether a process with this id exists (on other platforms: assume it does).
fn process_exists(pid: u32) -> bool {
    #[cfg(unix)]
    {
        let Ok(pid) = libc::pid_t::try_from(pid) else {
            return true;
        };
        if pid <= 0 {
            return true;
        }
        // SAFETY: kill(2) with signal 0 only checks for the process; no memory is involved.
        let rc = unsafe { libc::kill(pid, 0) };
        rc == 0 || std::io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH)
    }
    #[cfg(not(unix))]
    {
        let _ = pid;
        true
    }
}

fn parent(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// An exclusive advisory lock on a separate lock file, held until dropped.
/// (Locking the data file itself would protect nothing: rename replaces its inode.)
pub struct LockGuard {
    _file: File,
}

/// Open (creating it 0600) a lock file: never through a symbolic link, and
/// only one this user owns.
fn open_lock_file(lock_path: &Path) -> Result<File> {
    let mut opts = OpenOptions::new();
    opts.create(true).truncate(false).write(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC | libc::O_NONBLOCK);
    }
    let file = opts
        .open(lock_path)
        .map_err(|e| open_refusal(lock_path, "lock files", e))?;
    let meta = file
        .metadata()
        .map_err(|e| io_err("open lock file", lock_path, e))?;
    check_owner(lock_path, &meta, "lock file")?;
    Ok(file)
}

/// How long any vmauth lock is waited for before giving up with an error.
pub const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(30);

/// Take the exclusive lock on `lock_path`, waiting at most [`LOCK_WAIT`] for other
/// holders (a stuck process must not hang `vmauth token`).
pub fn lock_exclusive(lock_path: &Path) -> Result<LockGuard> {
    lock_exclusive_within(lock_path, LOCK_WAIT)
}

/// Like [`lock_exclusive`], but gives up after `wait` with an error naming the lock file.
pub fn lock_exclusive_within(lock_path: &Path, wait: std::time::Duration) -> Result<LockGuard> {
    let file = open_lock_file(lock_path)?;
    let deadline = std::time::Instant::now() + wait;
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(LockGuard { _file: file }),
            Err(fs::TryLockError::WouldBlock) if std::time::Instant::now() < deadline => {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            Err(fs::TryLockError::WouldBlock) => {
                return Err(Error::storage(format!(
                    "another vmauth process has held {} for {}s; wait for it to finish, or delete the file if no vmauth is running",
                    lock_path.display(),
                    wait.as_secs()
                )));
            }
            Err(fs::TryLockError::Error(e)) => return Err(io_err("lock", lock_path, e)),
        }
    }
}

/// A file name for a per-login lock: FNV-1a 64 of the key (stable across versions
/// and platforms, unlike std's hasher), so any key fits a file name.
pub fn lock_file_name(key: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in key.as_bytes() {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}.lock")
}

#[cfg(all(test, unix))]
#[path = "fsutil_tests.rs"]
mod tests;
