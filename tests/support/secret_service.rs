//! A private, real Secret Service for keychain tests: a session `dbus-daemon` of
//! its own and `gnome-keyring-daemon --components=secrets --unlock`, with XDG
//! directories in a temp dir so the user's own keyring is never touched.
//! Needs the Debian packages `dbus-daemon` and `gnome-keyring` (.ci/run installs
//! them); a missing one is a panic, not a skip.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct SecretService {
    dbus: Child,
    pub address: String,
    dir: tempfile::TempDir,
}

/// What to start on the bus.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Keyring {
    /// gnome-keyring, unlocked with a password: a working keychain.
    Unlocked,
    /// Only the bus: gnome-keyring may be activated on demand but stays locked
    /// (there is no prompter to unlock it).
    Locked,
}

fn need(program: &str) {
    let ok = Command::new(program)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok();
    assert!(
        ok,
        "{program} is not installed; install the Debian packages dbus-daemon and gnome-keyring (see .ci/run)"
    );
}

impl SecretService {
    pub fn start(keyring: Keyring) -> SecretService {
        need("dbus-daemon");
        need("gnome-keyring-daemon");
        let dir = tempfile::tempdir().unwrap();
        for d in ["data", "cache", "config", "run"] {
            std::fs::create_dir_all(dir.path().join(d)).unwrap();
        }
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(
            dir.path().join("run"),
            std::fs::Permissions::from_mode(0o700),
        )
        .unwrap();
        let mut dbus = Command::new("dbus-daemon")
            .args(["--session", "--nofork", "--print-address=1"])
            .envs(xdg(dir.path()))
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start dbus-daemon");
        let mut line = String::new();
        BufReader::new(dbus.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let address = line.trim().to_string();
        assert!(
            address.starts_with("unix:"),
            "dbus-daemon address: {address:?}"
        );
        let ss = SecretService { dbus, address, dir };
        if keyring == Keyring::Unlocked {
            let mut gk = Command::new("gnome-keyring-daemon")
                .args(["--components=secrets", "--daemonize", "--unlock"])
                .envs(ss.env())
                .stdin(Stdio::piped())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("start gnome-keyring-daemon");
            gk.stdin
                .take()
                .unwrap()
                .write_all(b"test-keyring-password")
                .unwrap();
            assert!(
                gk.wait().unwrap().success(),
                "gnome-keyring-daemon failed to start"
            );
            ss.wait_for_owner("org.freedesktop.secrets");
        }
        ss
    }

    /// Poll (with a deadline) until `name` has an owner on the bus.
    fn wait_for_owner(&self, name: &str) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let out = Command::new("dbus-send")
                .args([
                    &format!("--bus={}", self.address),
                    "--print-reply",
                    "--dest=org.freedesktop.DBus",
                    "/org/freedesktop/DBus",
                    "org.freedesktop.DBus.NameHasOwner",
                    &format!("string:{name}"),
                ])
                .output()
                .expect("dbus-send");
            if String::from_utf8_lossy(&out.stdout).contains("boolean true") {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{name} never appeared on the test bus"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Environment for a process that should use this Secret Service.
    pub fn env(&self) -> Vec<(String, String)> {
        let mut v = xdg(self.dir.path());
        v.push(("DBUS_SESSION_BUS_ADDRESS".into(), self.address.clone()));
        v
    }
}

fn xdg(base: &std::path::Path) -> Vec<(String, String)> {
    [
        ("XDG_DATA_HOME", "data"),
        ("XDG_CACHE_HOME", "cache"),
        ("XDG_CONFIG_HOME", "config"),
        ("XDG_RUNTIME_DIR", "run"),
    ]
    .iter()
    .map(|(k, d)| (k.to_string(), base.join(d).display().to_string()))
    .collect()
}

impl Drop for SecretService {
    fn drop(&mut self) {
        // gnome-keyring-daemon exits when its bus goes away.
        let _ = self.dbus.kill();
        let _ = self.dbus.wait();
    }
}

/// Environment for a process that must find no Secret Service at all.
pub fn absent_env(dir: &std::path::Path) -> Vec<(String, String)> {
    let run = dir.join("no-bus-run");
    std::fs::create_dir_all(&run).unwrap();
    vec![
        (
            "DBUS_SESSION_BUS_ADDRESS".into(),
            format!("unix:path={}/none", run.display()),
        ),
        ("XDG_RUNTIME_DIR".into(), run.display().to_string()),
    ]
}
