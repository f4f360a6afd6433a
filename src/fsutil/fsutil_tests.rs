//! Unit tests for `src/fsutil/`.

use super::*;
use std::os::unix::fs::PermissionsExt;

fn mode(p: &Path) -> u32 {
    fs::metadata(p).unwrap().permissions().mode() & 0o777
}

#[test]
fn dir_and_file_are_private() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("a/b");
    ensure_private_dir(&dir, true, &|_| panic!("no warning expected")).unwrap();
    assert_eq!(mode(&dir), 0o700);
    let f = dir.join("x.json");
    write_atomic(&f, b"{}").unwrap();
    assert_eq!(mode(&f), 0o600);
    assert_eq!(fs::read(&f).unwrap(), b"{}");
    write_atomic(&f, b"[]").unwrap();
    assert_eq!(fs::read(&f).unwrap(), b"[]");
    // no temp files left behind
    assert_eq!(fs::read_dir(&dir).unwrap().count(), 1);
}

#[test]
fn open_directory_is_tightened_with_a_warning() {
    let t = tempfile::tempdir().unwrap();
    fs::set_permissions(t.path(), fs::Permissions::from_mode(0o755)).unwrap();
    let warned = std::cell::Cell::new(false);
    ensure_private_dir(t.path(), true, &|m| {
        assert!(m.contains("changed it to 700"), "{m}");
        warned.set(true);
    })
    .unwrap();
    assert!(warned.get());
    assert_eq!(mode(t.path()), 0o700);
}

#[test]
fn lock_is_exclusive() {
    let t = tempfile::tempdir().unwrap();
    let p = t.path().join("l.lock");
    let g = lock_exclusive(&p).unwrap();
    let other = File::options().write(true).open(&p).unwrap();
    assert!(other.try_lock().is_err());
    let e = lock_exclusive_within(&p, std::time::Duration::from_millis(50))
        .err()
        .unwrap();
    assert!(e.message().contains("another vmauth process"), "{e}");
    drop(g);
    assert!(other.try_lock().is_ok());
}

#[test]
fn lock_names_are_stable() {
    assert_eq!(lock_file_name(""), "cbf29ce484222325.lock");
    assert_ne!(lock_file_name("a|b"), lock_file_name("a|c"));
}

#[test]
fn a_directory_the_user_named_is_never_changed() {
    let t = tempfile::tempdir().unwrap();
    // Sticky and world-writable, like /tmp: accepted, left alone.
    fs::set_permissions(t.path(), fs::Permissions::from_mode(0o1777)).unwrap();
    ensure_private_dir(t.path(), false, &|m| panic!("no warning expected: {m}")).unwrap();
    assert_eq!(
        fs::metadata(t.path()).unwrap().permissions().mode() & 0o7777,
        0o1777
    );
    // Readable by others: fine (the files in it are 0600).
    fs::set_permissions(t.path(), fs::Permissions::from_mode(0o755)).unwrap();
    ensure_private_dir(t.path(), false, &|_| panic!()).unwrap();
    assert_eq!(mode(t.path()), 0o755);
    // Writable by others without the sticky bit: refused.
    fs::set_permissions(t.path(), fs::Permissions::from_mode(0o777)).unwrap();
    let e = ensure_private_dir(t.path(), false, &|_| panic!()).unwrap_err();
    assert!(e.message().contains("writable by other users"), "{e}");
    fs::set_permissions(t.path(), fs::Permissions::from_mode(0o700)).unwrap();
}

#[test]
fn a_trusted_file_must_be_a_regular_file_of_sane_size_and_never_blocks() {
    let t = tempfile::tempdir().unwrap();
    // A directory where config.toml should be.
    let dir = t.path().join("config.toml");
    fs::create_dir(&dir).unwrap();
    let e = read_trusted(&dir, 1024).unwrap_err();
    assert!(e.message().contains("is not a regular file"), "{e}");
    // A FIFO: opened without blocking, then refused.
    let fifo = t.path().join("state.json");
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    let e = read_trusted(&fifo, 1024).unwrap_err();
    assert!(e.message().contains("is not a regular file"), "{e}");
    // Larger than the limit.
    let big = t.path().join("big.toml");
    fs::write(&big, vec![b'#'; 2048]).unwrap();
    let e = read_trusted(&big, 1024).unwrap_err();
    assert!(e.message().contains("is larger than 1 KiB"), "{e}");
    assert_eq!(read_trusted(&t.path().join("absent"), 1024).unwrap(), None);
}

#[test]
fn a_subdirectory_that_is_a_link_is_refused_and_its_target_left_alone() {
    let t = tempfile::tempdir().unwrap();
    let target = t.path().join("mine");
    fs::create_dir(&target).unwrap();
    fs::set_permissions(&target, fs::Permissions::from_mode(0o2775)).unwrap();
    let link = t.path().join("locks");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let e = ensure_private_subdir(&link, &|m| panic!("no change expected: {m}")).unwrap_err();
    assert!(e.message().contains("is a symbolic link"), "{e}");
    assert_eq!(
        fs::metadata(&target).unwrap().permissions().mode() & 0o7777,
        0o2775
    );
    // A lock file that is a link is refused too.
    let lock = t.path().join("x.lock");
    std::os::unix::fs::symlink(t.path().join("elsewhere"), &lock).unwrap();
    let e = lock_exclusive(&lock).err().unwrap();
    assert!(e.message().contains("is a symbolic link"), "{e}");
    assert!(
        !t.path().join("elsewhere").exists(),
        "nothing created through the link"
    );
}
