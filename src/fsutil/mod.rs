//! Private files: 0700 directories, 0600 files (whatever the umask), atomic
//! replace (temp file, fsync, rename, fsync directory), advisory lock files,
//! and the owner rule for every read.
//!
//! Who may have written a file or directory, and reading only what this user
//! may trust: the owner rule (this user's, or root's that nobody else can
//! write to), no symbolic links into vmauth's own files and directories, modes
//! changed only through an opened file (`fchmod`), never through a path.

use std::fs::{self, File, OpenOptions};
use std::io::{ErrorKind, Write};
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

/// Rewrite `path`, a file in the private directory `dir` (made or checked as
/// [`ensure_private_dir`] says), under the lock file `lock` (other processes
/// rewrite it too): `change` reads what is there now and returns the new
/// bytes, written atomically, and what the caller wants back. Temporary files
/// that dead processes left in `dir` are removed.
pub fn rewrite_locked<T>(
    dir: &Path,
    own: bool,
    lock: &Path,
    path: &Path,
    warn: &dyn Fn(&str),
    change: impl FnOnce() -> Result<(Vec<u8>, T)>,
) -> Result<T> {
    ensure_private_dir(dir, own, warn)?;
    let _guard = lock_exclusive(lock)?;
    remove_stale_temp_files(dir);
    let (bytes, out) = change()?;
    write_atomic(path, &bytes)?;
    Ok(out)
}

/// [`rewrite_locked`] of a file read as [`read_trusted`] reads it (at most
/// `limit` bytes): `change` gets what is there now, or why it cannot be read.
pub fn update_trusted<T>(
    dir: &Path,
    own: bool,
    lock: &Path,
    path: &Path,
    limit: u64,
    warn: &dyn Fn(&str),
    change: impl FnOnce(Result<Option<Vec<u8>>>) -> Result<(Vec<u8>, T)>,
) -> Result<T> {
    rewrite_locked(dir, own, lock, path, warn, || {
        change(read_trusted(path, limit))
    })
}

/// Write `bytes` as `path` (atomically, 0600) in the subdirectory `sub` of
/// the private directory `dir`, making both private as [`ensure_private_dir`]
/// and [`ensure_private_subdir`] say.
pub fn write_private(
    dir: &Path,
    own: bool,
    sub: &Path,
    path: &Path,
    bytes: &[u8],
    warn: &dyn Fn(&str),
) -> Result<()> {
    ensure_private_dir(dir, own, warn)?;
    ensure_private_subdir(sub, warn)?;
    write_atomic(path, bytes)
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

// The owner rule: what may be read, and how a directory is made private.

/// Create `dir` (and parents) 0700, or check the existing one (following a
/// link: `dir` is one the user or the platform named): it must belong to this
/// user (or to root, with nobody else able to write to it). vmauth's own
/// directory (`own`: its default locations) is tightened to 0700 when open to
/// group or others, through the opened directory, never through its path; any
/// other directory (one a user named) is never changed, but refused when others
/// can write to it without the sticky bit (they could swap the files in it).
/// `warn` hears about any tightening.
pub fn ensure_private_dir(dir: &Path, own: bool, warn: &dyn Fn(&str)) -> Result<()> {
    private_dir(dir, own, true, true, warn)
}

/// [`ensure_private_dir`] for a directory inside one already checked
/// (`locks/`, `discovery/`, …): vmauth's own, and a link there is refused
/// rather than followed (a link planted in a shared directory must not make
/// vmauth change the mode of the directory it points at).
pub fn ensure_private_subdir(dir: &Path, warn: &dyn Fn(&str)) -> Result<()> {
    private_dir(dir, true, true, false, warn)
}

/// Check `dir` (creating it 0700 when `create`): who owns it and who can
/// write to it; tighten it when it is vmauth's own. An absent directory that
/// was not to be created is fine (there is nothing in it to read).
fn private_dir(
    dir: &Path,
    own: bool,
    create: bool,
    follow: bool,
    warn: &dyn Fn(&str),
) -> Result<()> {
    // A look at the directory (one `stat`, or `lstat` where no link is
    // followed) decides; it is opened only to change its mode, and then what
    // the open directory is decides again.
    let look = || {
        if follow {
            fs::metadata(dir)
        } else {
            fs::symlink_metadata(dir)
        }
    };
    let meta = match look() {
        Ok(m) => m,
        Err(e) if e.kind() == ErrorKind::NotFound && create => {
            let mut b = fs::DirBuilder::new();
            b.recursive(true);
            #[cfg(unix)]
            std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
            b.create(dir)
                .map_err(|e| io_err("create directory", dir, e))?;
            // The umask filters the mode: set it exactly, on what was created.
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                open_dir(dir, follow)
                    .and_then(|d| d.set_permissions(fs::Permissions::from_mode(0o700)))
                    .map_err(|e| io_err("set permissions on", dir, e))?;
            }
            look().map_err(|e| io_err("read", dir, e))?
        }
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(io_err("read", dir, e)),
    };
    if meta.file_type().is_symlink() {
        return Err(link_refusal(dir, "directories"));
    }
    check_dir(dir, &meta)?;
    if !own {
        return refuse_shared_writable(dir, &meta);
    }
    if !needs_tightening(&meta) {
        return Ok(());
    }
    let handle = open_dir(dir, follow).map_err(|e| open_refusal(dir, "directories", e))?;
    let meta = handle.metadata().map_err(|e| io_err("read", dir, e))?;
    check_dir(dir, &meta)?;
    tighten_open(&handle, dir, 0o700, &meta, warn)
}

/// A directory this user may use: a directory, owned by them (or by root with
/// nobody else able to write to it).
fn check_dir(dir: &Path, meta: &fs::Metadata) -> Result<()> {
    if !meta.is_dir() {
        return Err(Error::storage(format!(
            "{} exists but is not a directory; move it away",
            dir.display()
        )));
    }
    check_owner(dir, meta, "directory")
}

/// Whether this user's file or directory is open to group or others.
#[allow(unused_variables)]
fn needs_tightening(meta: &fs::Metadata) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        meta.permissions().mode() & 0o077 != 0 && meta.uid() == euid()
    }
    #[cfg(not(unix))]
    false
}

/// Open a directory for `fstat`/`fchmod`; `follow`: through a symbolic link.
fn open_dir(dir: &Path, follow: bool) -> std::io::Result<File> {
    let mut opts = OpenOptions::new();
    opts.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        let nofollow = if follow { 0 } else { libc::O_NOFOLLOW };
        opts.custom_flags(libc::O_DIRECTORY | libc::O_CLOEXEC | nofollow);
    }
    #[cfg(not(unix))]
    let _ = follow;
    opts.open(dir)
}

/// Open a file for reading, never through a symbolic link (`O_NOFOLLOW`),
/// and without blocking on a FIFO planted in its place.
pub fn open_no_link(path: &Path) -> std::io::Result<File> {
    let mut opts = OpenOptions::new();
    opts.read(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::custom_flags(
        &mut opts,
        libc::O_NOFOLLOW | libc::O_CLOEXEC | libc::O_NONBLOCK,
    );
    opts.open(path)
}

/// The error for a file or directory vmauth would not open: a symbolic link
/// where none is followed (`ELOOP`, or `ENOTDIR` for a link to a file), or
/// what the system said. `what` names them in the plural ("files").
pub fn open_refusal(path: &Path, what: &str, e: std::io::Error) -> Error {
    #[cfg(unix)]
    if matches!(e.raw_os_error(), Some(libc::ELOOP) | Some(libc::ENOTDIR))
        && fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink())
    {
        return link_refusal(path, what);
    }
    let _ = what;
    io_err("open", path, e)
}

/// A symbolic link where vmauth follows none.
fn link_refusal(path: &Path, what: &str) -> Error {
    Error::storage(format!(
        "{} is a symbolic link; vmauth does not follow links to its own {what} (another user could have planted it): remove the link",
        path.display()
    ))
}

/// The effective user id (asked once per process).
#[cfg(unix)]
fn euid() -> u32 {
    static EUID: std::sync::OnceLock<u32> = std::sync::OnceLock::new();
    // SAFETY: geteuid has no preconditions and cannot fail.
    *EUID.get_or_init(|| unsafe { libc::geteuid() })
}

/// Refuse what another user owns: only this user's files and directories, or
/// root's that nobody else can write to, are read (another user's could say
/// where tokens are sent).
#[allow(unused_variables)]
pub fn check_owner(path: &Path, meta: &fs::Metadata, what: &str) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let (uid, me) = (meta.uid(), euid());
        if uid == me || (uid == 0 && meta.mode() & 0o022 == 0) {
            return Ok(());
        }
        let whose = if uid == 0 {
            "root's, and others can write to it".to_string()
        } else {
            format!("owned by another user (uid {uid})")
        };
        Err(Error::storage(format!(
            "{} is {whose}; vmauth only uses a {what} you own (another user could have planted it): use your own, or remove it",
            path.display()
        )))
    }
    #[cfg(not(unix))]
    Ok(())
}

/// Open a file vmauth reads settings or state from: never through a symbolic
/// link, and only when this user owns it (or root, with nobody else able to
/// write to it) and neither group nor others can write to it. With
/// `own_link` (`config.toml`, see [`read_user_file`]), a symbolic link is
/// followed when this user owns the link (dotfile managers link files into a
/// repository or a root-owned store), and what it points at must pass the
/// same checks. `None`: there is no such file.
fn open_trusted_as(path: &Path, own_link: bool) -> Result<Option<(File, fs::Metadata)>> {
    let opened = match fs::symlink_metadata(path) {
        #[cfg(unix)]
        Ok(m) if own_link && m.file_type().is_symlink() => {
            use std::os::unix::fs::MetadataExt;
            if m.uid() != euid() {
                return Err(Error::storage(format!(
                    "{} is a symbolic link owned by another user (uid {}); vmauth only follows your own links (another user could have planted it): remove it",
                    path.display(),
                    m.uid()
                )));
            }
            let mut opts = OpenOptions::new();
            opts.read(true);
            std::os::unix::fs::OpenOptionsExt::custom_flags(
                &mut opts,
                libc::O_CLOEXEC | libc::O_NONBLOCK,
            );
            opts.open(path)
        }
        _ => open_no_link(path),
    };
    let file = match opened {
        Ok(f) => f,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(open_refusal(path, "files", e)),
    };
    checked(path, file).map(Some)
}

/// `file`, opened from `path`, if it is a regular file this user owns (or
/// root, with nobody else able to write to it) that neither group nor others
/// can write to; with what `fstat` says of it.
fn checked(path: &Path, file: File) -> Result<(File, fs::Metadata)> {
    let meta = file.metadata().map_err(|e| io_err("read", path, e))?;
    if !meta.is_file() {
        return Err(Error::storage(format!(
            "{} is not a regular file; move it away",
            path.display()
        )));
    }
    check_owner(path, &meta, "file")?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = meta.permissions().mode();
        if mode & 0o022 != 0 {
            return Err(Error::storage(format!(
                "{} is writable by other users (mode {:o}), so it was not read; make it yours alone: chmod go-w {}",
                path.display(),
                mode & 0o777,
                path.display()
            )));
        }
    }
    Ok((file, meta))
}

/// A file a platform puts in place for vmauth (a CI job's token): read
/// through any links (the kubelet's projected tokens are links into a
/// timestamped directory of its own), never blocking on a FIFO or device;
/// the opened file must pass the checks of [`open_trusted`]. At most
/// `limit` bytes, and one more to tell that there are more.
pub fn read_placed(path: &Path, limit: u64) -> Result<Vec<u8>> {
    use std::io::Read;
    let mut opts = OpenOptions::new();
    opts.read(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::custom_flags(&mut opts, libc::O_CLOEXEC | libc::O_NONBLOCK);
    let file = opts.open(path).map_err(|e| io_err("read", path, e))?;
    let (file, _) = checked(path, file)?;
    let mut out = Vec::new();
    file.take(limit + 1)
        .read_to_end(&mut out)
        .map_err(|e| io_err("read", path, e))?;
    Ok(out)
}

/// [`open_trusted`], read whole (at most `limit` bytes).
pub fn read_trusted(path: &Path, limit: u64) -> Result<Option<Vec<u8>>> {
    read_trusted_as(path, limit, false)
}

/// [`read_trusted`] of a file the user manages (`config.toml`): their own
/// symbolic link is followed, to a file that passes the same checks.
pub fn read_user_file(path: &Path, limit: u64) -> Result<Option<Vec<u8>>> {
    read_trusted_as(path, limit, true)
}

/// [`read_user_file`] of `name` in `dir`, after checking `dir` by the rule of
/// [`ensure_private_dir`] without creating anything (an absent directory is
/// fine: there is nothing to read). A directory others can write to could
/// hold a planted file.
pub fn read_user_file_in(dir: &Path, own: bool, name: &str, limit: u64) -> Result<Option<Vec<u8>>> {
    private_dir(dir, own, false, true, &|_| {})?;
    read_trusted_as(&dir.join(name), limit, true)
}

fn read_trusted_as(path: &Path, limit: u64, own_link: bool) -> Result<Option<Vec<u8>>> {
    use std::io::Read;
    let Some((file, meta)) = open_trusted_as(path, own_link)? else {
        return Ok(None);
    };
    if meta.len() > limit {
        return Err(Error::storage(format!(
            "{} is larger than {} KiB; it is not vmauth's",
            path.display(),
            limit / 1024
        )));
    }
    let mut bytes = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
    file.take(limit)
        .read_to_end(&mut bytes)
        .map_err(|e| io_err("read", path, e))?;
    Ok(Some(bytes))
}

#[allow(unused_variables)]
fn refuse_shared_writable(dir: &Path, meta: &fs::Metadata) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = meta.permissions().mode();
        if mode & 0o022 != 0 && mode & 0o1000 == 0 {
            return Err(Error::storage(format!(
                "{} is writable by other users (mode {:o}); use a private directory for vmauth's files",
                dir.display(),
                mode & 0o777
            )));
        }
    }
    Ok(())
}

/// A private file of this user's (the credentials file), open for reading,
/// with what `fstat` says of it; `None` when there is none. Its directory
/// passes the rule of [`ensure_private_dir`] (nothing created); the file is opened without following a link
/// (it is replaced by rename, so a link there is not vmauth's), must be a
/// regular file that passes [`check_owner`], and is made 0600 through the open
/// file when others could read it.
pub fn open_private(
    path: &Path,
    own_dir: bool,
    what: &str,
    warn: &dyn Fn(&str),
) -> Result<Option<(File, fs::Metadata)>> {
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty());
    private_dir(dir.unwrap_or(Path::new(".")), own_dir, false, true, warn)?;
    // Never through a link: the file is replaced by rename, so a link
    // there is not vmauth's (and would be replaced by the next write).
    let file = match open_no_link(path) {
        Ok(f) => f,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(open_refusal(path, "files", e)),
    };
    let meta = file
        .metadata()
        .map_err(|e| Error::io(format_args!("read {}", path.display()), e))?;
    if !meta.is_file() {
        return Err(Error::storage(format!(
            "{} is not a regular file; move it away and log in again",
            path.display()
        )));
    }
    check_owner(path, &meta, what)?;
    tighten_open(&file, path, 0o600, &meta, warn)?;
    #[cfg(unix)]
    let meta = {
        use std::os::unix::fs::PermissionsExt;
        // Tightened: its change time is new.
        if meta.permissions().mode() & 0o077 != 0 {
            file.metadata()
                .map_err(|e| Error::io(format_args!("read {}", path.display()), e))?
        } else {
            meta
        }
    };
    Ok(Some((file, meta)))
}

/// The bytes of a file in one of vmauth's cache directories (`discovery/`,
/// `jwks/`, `offsets/`, `rescue/`), only if the file and its directory belong to
/// this user and nobody else can write to them: a planted cache file must not
/// decide where tokens are sent or which keys sign ID tokens. Links are not
/// followed.
pub fn read_private(path: &Path) -> Option<Vec<u8>> {
    #[cfg(unix)]
    {
        use std::io::Read;
        use std::os::unix::fs::MetadataExt;
        let me = euid();
        let private = |m: &fs::Metadata| m.uid() == me && m.mode() & 0o022 == 0;
        let dir = open_dir(path.parent()?, false).ok()?;
        if !private(&dir.metadata().ok()?) {
            return None;
        }
        let mut file = open_no_link(path).ok()?;
        let meta = file.metadata().ok()?;
        if !meta.is_file() || !private(&meta) {
            return None;
        }
        // Cache files are small; a huge one is not vmauth's.
        if meta.len() > 1 << 20 {
            return None;
        }
        let mut bytes = Vec::with_capacity(usize::try_from(meta.len()).ok()?);
        file.read_to_end(&mut bytes).ok()?;
        Some(bytes)
    }
    #[cfg(not(unix))]
    {
        fs::read(path).ok()
    }
}

/// Make an open file or directory private (mode `want`), warning when it was
/// not: through the open file (`fchmod`), never through its path, which may
/// have been replaced by a link since. Only what this user owns is changed.
#[allow(unused_variables)]
pub fn tighten_open(
    file: &File,
    path: &Path,
    want: u32,
    meta: &fs::Metadata,
    warn: &dyn Fn(&str),
) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 && meta.uid() == euid() {
            file.set_permissions(fs::Permissions::from_mode(want))
                .map_err(|e| io_err("set permissions on", path, e))?;
            warn(&format!(
                "{} was readable by other users (mode {mode:o}); changed it to {want:o}",
                path.display()
            ));
        }
    }
    Ok(())
}

#[cfg(all(test, unix))]
#[path = "fsutil_tests.rs"]
mod tests;
