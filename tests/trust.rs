#![cfg(unix)]
//! The local trust boundary, tested as two users of one machine: `vmauth` runs
//! as an unprivileged uid (the victim) while files and directories it might
//! read were planted by another uid. Needs root (to create both users' files
//! and run vmauth through `setpriv`); without it each test says it was skipped.

mod support;

use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::json;
use support::cli::Run;
use support::mock_idp::MockIdp;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

/// The user who runs vmauth, and the one who plants files.
const VICTIM: u32 = 64_001;
const OTHER: u32 = 64_002;

fn root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

macro_rules! needs_root {
    () => {
        if !root() {
            eprintln!("SKIPPED: this test runs vmauth as another uid and needs root (setpriv)");
            return;
        }
    };
}

fn chown(p: &Path, uid: u32) {
    std::os::unix::fs::lchown(p, Some(uid), Some(uid)).unwrap();
}

fn chmod(p: &Path, mode: u32) {
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o7777
}

/// A machine with a victim's home (credentials file holding one login of
/// `issuer`, expired, with a refresh token) and a world-readable base.
struct Machine {
    base: tempfile::TempDir,
}

impl Machine {
    fn new(issuer: &str) -> Machine {
        let base = tempfile::tempdir().unwrap();
        chmod(base.path(), 0o755);
        // vmauth as the victim can run it, wherever the checkout is (its
        // directories may be closed to other users).
        std::fs::copy(env!("CARGO_BIN_EXE_vmauth"), base.path().join("vmauth")).unwrap();
        chmod(&base.path().join("vmauth"), 0o755);
        let m = Machine { base };
        let home = m.home();
        std::fs::create_dir_all(home.join("validmind")).unwrap();
        let key = format!("{issuer}|cli");
        let doc = json!({"version": 1, "credentials": {key: {
            "issuer": issuer, "client_id": "cli", "access_token": "at-old",
            "refresh_token": "rt-old", "expires_at": "2000-01-01T00:00:00Z",
        }}});
        let creds = home.join("validmind/credentials.json");
        std::fs::write(&creds, doc.to_string()).unwrap();
        chmod(&creds, 0o600);
        for p in [home.clone(), home.join("validmind"), creds] {
            chown(&p, VICTIM);
        }
        chmod(&home, 0o700);
        m
    }

    fn home(&self) -> PathBuf {
        self.base.path().join("victim")
    }

    /// A directory owned by `uid` with `mode`.
    fn dir(&self, rel: &str, uid: u32, mode: u32) -> PathBuf {
        let p = self.base.path().join(rel);
        std::fs::create_dir_all(&p).unwrap();
        chown(&p, uid);
        chmod(&p, mode);
        p
    }

    /// A file owned by `uid` with `mode`.
    fn file(&self, p: &Path, uid: u32, mode: u32, text: &str) {
        std::fs::write(p, text).unwrap();
        chown(p, uid);
        chmod(p, mode);
    }

    /// vmauth run as the victim, with `config_dir` as its config directory.
    fn vmauth(&self, config_dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Run {
        let mut c = Command::new("setpriv");
        c.args([
            &format!("--reuid={VICTIM}"),
            &format!("--regid={VICTIM}"),
            "--clear-groups",
            "--",
        ]);
        c.arg(self.base.path().join("vmauth"));
        c.args(args).env_clear();
        c.env("PATH", "/usr/bin:/bin")
            .env("HOME", self.home())
            .env(
                "VMAUTH_CREDENTIALS_FILE",
                self.home().join("validmind/credentials.json"),
            )
            .env("VMAUTH_CONFIG_DIR", config_dir)
            .env("VMAUTH_STORE", "file")
            .stdin(Stdio::null());
        for (k, v) in env {
            c.env(k, v);
        }
        Run::from(
            c.output()
                .expect("setpriv (util-linux) runs vmauth as another uid"),
        )
    }
}

/// A provider whose token endpoint answers a refresh; `/evil` counts what a
/// planted profile would have sent elsewhere.
async fn provider() -> MockServer {
    MockIdp::new()
        .metadata(|uri| {
            json!({
                "issuer": uri, "token_endpoint": format!("{uri}/token"),
                "device_authorization_endpoint": format!("{uri}/device"),
            })
        })
        .mount(|uri| {
            Mock::given(method("POST"))
                .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "access_token": "at-new", "refresh_token": "rt-new", "token_type": "Bearer",
                "expires_in": 3600,
                "device_code": "d", "user_code": "U", "verification_uri": format!("{uri}/activate"),
            })))
        })
        .start()
        .await
}

async fn requests_to(s: &MockServer, p: &str) -> usize {
    s.received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .filter(|r| r.url.path() == p)
        .count()
}

/// A profile for the victim's login that sends its token requests to `/evil`.
fn planted_profile(issuer: &str) -> String {
    format!(
        "default_profile = \"p\"\n[profiles.p]\nissuer = \"{issuer}\"\nclient_id = \"cli\"\ntoken_endpoint = \"{issuer}/evil\"\ndevice_authorization_endpoint = \"{issuer}/evil\"\n"
    )
}

#[tokio::test]
async fn a_config_directory_another_user_owns_is_refused() {
    needs_root!();
    let s = provider().await;
    let m = Machine::new(&s.uri());
    // Shared like /tmp; the other user's directory in it is not writable by
    // others, so the old rule let it pass.
    let shared = m.dir("shared", 0, 0o1777);
    let planted = m.dir("shared/vmauth", OTHER, 0o755);
    m.file(
        &planted.join("config.toml"),
        OTHER,
        0o644,
        &planted_profile(&s.uri()),
    );
    for (args, env) in [
        (vec!["token", "--force-refresh"], vec![]),
        (
            vec![
                "token",
                "--client-credentials",
                "--issuer",
                &s.uri(),
                "--client-id",
                "cli",
            ],
            vec![("VMAUTH_CLIENT_SECRET", "s3cr3t")],
        ),
        (
            vec![
                "login",
                "--issuer",
                &s.uri(),
                "--client-id",
                "cli",
                "--no-qr",
            ],
            vec![],
        ),
    ] {
        let r = m.vmauth(&planted, &args, &env);
        r.expect_code(1).expect_error(&format!(
            "{} is owned by another user (uid {OTHER})",
            planted.display()
        ));
    }
    assert_eq!(
        requests_to(&s, "/evil").await,
        0,
        "nothing went to the planted endpoint"
    );
    assert_eq!(s.received_requests().await.unwrap().len(), 0);
    drop(shared);
}

#[tokio::test]
async fn a_config_file_that_is_a_link_or_another_users_is_refused() {
    needs_root!();
    let s = provider().await;
    let m = Machine::new(&s.uri());
    let theirs = m.dir("other", OTHER, 0o755);
    m.file(
        &theirs.join("config.toml"),
        OTHER,
        0o644,
        &planted_profile(&s.uri()),
    );
    let config = m.dir("victim/config", VICTIM, 0o700);
    // A link to the other user's file.
    let link = config.join("config.toml");
    symlink(theirs.join("config.toml"), &link).unwrap();
    std::os::unix::fs::lchown(&link, Some(VICTIM), Some(VICTIM)).unwrap();
    m.vmauth(&config, &["token", "--force-refresh"], &[])
        .expect_code(1)
        .expect_error(&format!(
            "{} is owned by another user (uid {OTHER})",
            link.display()
        ));
    // A link the other user owns, to the victim's own file: refused too.
    let own = m.home().join("mine.toml");
    m.file(&own, VICTIM, 0o600, "");
    std::fs::remove_file(&link).unwrap();
    symlink(&own, &link).unwrap();
    std::os::unix::fs::lchown(&link, Some(OTHER), Some(OTHER)).unwrap();
    m.vmauth(&config, &["token", "--force-refresh"], &[])
        .expect_code(1)
        .expect_error("is a symbolic link owned by another user");
    // The victim's own link to their own file (a dotfile manager's): used.
    std::os::unix::fs::lchown(&link, Some(VICTIM), Some(VICTIM)).unwrap();
    m.vmauth(&config, &["token", "--force-refresh"], &[])
        .expect_code(4);
    // The other user's file itself, put there (by root, on their behalf).
    std::fs::remove_file(&link).unwrap();
    m.file(&link, OTHER, 0o644, &planted_profile(&s.uri()));
    m.vmauth(&config, &["token", "--force-refresh"], &[])
        .expect_code(1)
        .expect_error("is owned by another user");
    // The victim's own file that others can write to: refused, with the fix.
    m.file(&link, VICTIM, 0o666, &planted_profile(&s.uri()));
    m.vmauth(&config, &["token", "--force-refresh"], &[])
        .expect_code(1)
        .expect_error("chmod go-w");
    assert_eq!(s.received_requests().await.unwrap().len(), 0);
}

#[tokio::test]
async fn links_planted_in_a_shared_config_directory_change_nothing() {
    needs_root!();
    let s = provider().await;
    let m = Machine::new(&s.uri());
    // The victim's config directory is shared (sticky and world-writable, as
    // a directory under /tmp may be); the other user plants links named like
    // vmauth's cache directories, pointing at one of the victim's directories.
    let config = m.dir("victim-shared", VICTIM, 0o1777);
    let project = m.dir("victim/project", VICTIM, 0o2775);
    let plant = |name: &str| {
        let link = config.join(name);
        symlink(&project, &link).unwrap();
        std::os::unix::fs::lchown(&link, Some(OTHER), Some(OTHER)).unwrap();
    };
    for name in ["discovery", "jwks", "offsets"] {
        plant(name);
    }
    let uri = s.uri();
    let args = [
        "token",
        "--force-refresh",
        "--issuer",
        &uri,
        "--client-id",
        "cli",
    ];
    // Caches that cannot be written are only warned about.
    let r = m.vmauth(&config, &args, &[]);
    r.expect_code(0);
    assert_eq!(r.stdout, "at-new\n");
    assert!(!r.stderr.contains("changed it to 700"), "{}", r.stderr);
    assert!(r.stderr.contains("is a symbolic link"), "{}", r.stderr);
    // A lock that cannot be taken safely stops the refresh, naming the link
    // (planted where the first run made its own `locks/`).
    std::fs::remove_dir_all(config.join("locks")).unwrap();
    plant("locks");
    m.vmauth(&config, &args, &[])
        .expect_code(1)
        .expect_error(&format!(
            "{} is a symbolic link",
            config.join("locks").display()
        ));
    assert_eq!(
        mode(&project),
        0o2775,
        "the victim's directory is unchanged"
    );
    assert_eq!(
        std::fs::read_dir(&project).unwrap().count(),
        0,
        "nothing written there"
    );
}

#[tokio::test]
async fn a_state_file_another_user_planted_is_ignored() {
    needs_root!();
    let s = provider().await;
    let m = Machine::new(&s.uri());
    let config = m.dir("victim-shared", VICTIM, 0o1777);
    let key = format!("{}|cli", s.uri());
    m.file(
        &config.join("state.json"),
        OTHER,
        0o644,
        &json!({"current": key, "auto_store": "file"}).to_string(),
    );
    // Without a current login of its own, a bare `vmauth token` has none.
    let r = m.vmauth(&config, &["token"], &[]);
    r.expect_code(4);
    assert!(r.stderr.contains("ignoring vmauth's state"), "{}", r.stderr);
    assert!(r.stderr.contains("owned by another user"), "{}", r.stderr);
    assert_eq!(r.stdout, "");
    assert_eq!(s.received_requests().await.unwrap().len(), 0);
}

#[test]
fn vmauth_is_not_dumpable_while_it_holds_secrets() {
    needs_root!();
    let m = Machine::new("https://idp.example");
    let config = m.dir("victim/config", VICTIM, 0o700);
    // A credential helper (a child of vmauth, as the victim) looks at its
    // parent: /proc/PID of a non-dumpable process belongs to root, so no
    // process of the same user can read its memory or environment there.
    let out = m.home().join("owner");
    let helper = m.home().join("helper");
    m.file(
        &helper,
        VICTIM,
        0o755,
        &format!(
            "#!/bin/sh\nstat -c %u /proc/$PPID/environ > {}\n",
            out.display()
        ),
    );
    let helper_path = helper.display().to_string();
    m.vmauth(
        &config,
        &[
            "token",
            "--issuer",
            "https://idp.example",
            "--client-id",
            "cli",
        ],
        &[
            ("VMAUTH_STORE", "helper"),
            ("VMAUTH_CREDENTIAL_HELPER", &helper_path),
        ],
    );
    let owner = std::fs::read_to_string(&out).expect("the helper ran");
    assert_eq!(
        owner.trim(),
        "0",
        "vmauth's /proc entries belong to root (non-dumpable)"
    );
}

#[tokio::test]
async fn a_root_directory_is_used_only_when_nobody_else_can_write_to_it() {
    needs_root!();
    let s = provider().await;
    let m = Machine::new(&s.uri());
    // A system-wide configuration (root's, read-only to users): used.
    let etc = m.dir("etc-vmauth", 0, 0o755);
    m.file(&etc.join("config.toml"), 0, 0o644, "# site defaults\n");
    m.vmauth(&etc, &["token"], &[]).expect_code(4);
    // Its lock and cache directories cannot be written: a refresh still works
    // under the lock beside the credentials file.
    let uri = s.uri();
    let r = m.vmauth(
        &etc,
        &[
            "token",
            "--force-refresh",
            "--issuer",
            &uri,
            "--client-id",
            "cli",
        ],
        &[],
    );
    r.expect_code(0);
    assert_eq!(r.stdout, "at-new\n");
    let before = s.received_requests().await.unwrap().len();
    // Root's, but anyone can write to it: refused.
    chmod(&etc, 0o777);
    m.vmauth(&etc, &["token"], &[])
        .expect_code(1)
        .expect_error("is root's, and others can write to it");
    assert_eq!(s.received_requests().await.unwrap().len(), before);
}

#[tokio::test]
async fn a_read_only_credentials_directory_keeps_the_login_and_spends_nothing() {
    needs_root!();
    let s = provider().await;
    let m = Machine::new(&s.uri());
    let config = m.dir("victim/config", VICTIM, 0o700);
    // ~/.validmind mounted read-only (here: not writable by its owner).
    chmod(&m.home().join("validmind"), 0o500);
    let uri = s.uri();
    let r = m.vmauth(
        &config,
        &["token", "--issuer", &uri, "--client-id", "cli"],
        &[],
    );
    r.expect_code(1);
    assert!(
        r.stderr.contains(
            "not refreshing, because the refreshed tokens could not be saved (the login is kept)"
        ),
        "{}",
        r.stderr
    );
    assert_eq!(
        requests_to(&s, "/token").await,
        0,
        "the refresh token was not spent"
    );
}
