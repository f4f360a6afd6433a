//! In-process tests of every command through the test `Io`: captured stdout and
//! stderr, terminal or not, a fake clock, a fixed environment and a file store in
//! a temporary directory; an in-process mock identity provider where the network
//! is needed.

use std::rc::Rc;
use std::time::Duration;

use serde_json::{Value, json};
use wiremock::matchers::{body_string_contains, header_exists, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::clock::{CountingRng, FakeClock};
use crate::commands::Context;
use crate::credential::Credential;
use crate::error::{Error, Result};
use crate::io::TestIo;
use crate::settings::MapEnv;
use crate::store::{CredentialStore, StoreKind};
use crate::test_support::{TestKey, jwks};

/// 2033-05-18: the fake clock's "now".
const NOW: i64 = 2_000_000_000;

/// One isolated vmauth "machine": its credentials file, config directory,
/// environment and clock.
struct Harness {
    dir: tempfile::TempDir,
    env: MapEnv,
    clock: Rc<FakeClock>,
}

/// What a command run gave.
#[derive(Debug)]
struct Outcome {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Harness {
    fn new() -> Harness {
        let dir = tempfile::tempdir().unwrap();
        let env = MapEnv::new(&[
            (
                "VMAUTH_CREDENTIALS_FILE",
                dir.path().join("vm/credentials.json").to_str().unwrap(),
            ),
            (
                "VMAUTH_CONFIG_DIR",
                dir.path().join("config").to_str().unwrap(),
            ),
            ("VMAUTH_STORE", "file"),
        ]);
        Harness {
            dir,
            env,
            clock: Rc::new(FakeClock::at(NOW)),
        }
    }

    fn set_env(&mut self, k: &str, v: &str) {
        self.env.0.insert(k.into(), v.into());
    }

    fn run(&self, args: &[&str]) -> Outcome {
        self.run_with(args, TestIo::new())
    }

    fn run_with(&self, args: &[&str], io: TestIo) -> Outcome {
        let (io, out, err) = io.build();
        let mut argv = vec!["vmauth"];
        argv.extend_from_slice(args);
        let code = crate::run_with(
            argv,
            &self.env,
            io,
            self.clock.clone(),
            Rc::new(CountingRng::default()),
        );
        Outcome {
            code,
            stdout: out.text(),
            stderr: err.text(),
        }
    }

    /// Run with the file store wrapped by `wrap` (a store that misbehaves).
    fn run_wrapped(
        &self,
        args: &[&str],
        wrap: impl FnOnce(Box<dyn CredentialStore>) -> Box<dyn CredentialStore>,
    ) -> Outcome {
        let mut argv = vec!["vmauth"];
        argv.extend_from_slice(args);
        let cli = <crate::cli::Cli as clap::Parser>::try_parse_from(argv).unwrap();
        let settings = crate::settings::Settings::resolve(&cli, &self.env).unwrap();
        let (io, out, err) = TestIo::new().build();
        let ui = crate::ui::Ui::new(io.clone(), true);
        let state = crate::state::StateDir::new(
            settings.common.config_dir.path.clone(),
            false,
            ui.warn_sink(),
        );
        let rng: Rc<dyn crate::clock::Rng> = Rc::new(CountingRng::default());
        let inner =
            crate::commands::open_store::open(&settings.common, &state, &ui, rng.clone(), false)
                .unwrap();
        let ctx = Context::with_store(&settings.common, wrap(inner), io, self.clock.clone(), rng);
        let code = match crate::commands::run(&settings.command, &ctx) {
            Ok(()) => 0,
            Err(e) => {
                ctx.ui.error(&e.message());
                e.exit_code()
            }
        };
        Outcome {
            code,
            stdout: out.text(),
            stderr: err.text(),
        }
    }

    fn credentials(&self) -> Value {
        let p = self.dir.path().join("vm/credentials.json");
        serde_json::from_slice(&std::fs::read(p).unwrap_or_else(|_| b"{}".to_vec())).unwrap()
    }

    /// Store a login as the ValidMind library would, expiring `ttl` seconds from now.
    fn store(&self, issuer: &str, access: &str, refresh: Option<&str>, ttl: i64) -> String {
        let key = format!("{issuer}|cli");
        let expires = crate::credential::timestamp::format(NOW + ttl);
        let doc = json!({"version": 1, "credentials": {key.clone(): {
            "issuer": issuer, "client_id": "cli", "access_token": access,
            "refresh_token": refresh, "id_token": null, "expires_at": expires,
        }}});
        let dir = self.dir.path().join("vm");
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("credentials.json");
        std::fs::write(&file, doc.to_string()).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        std::fs::create_dir_all(self.dir.path().join("config")).unwrap();
        std::fs::write(
            self.dir.path().join("config/state.json"),
            json!({"current": key}).to_string(),
        )
        .unwrap();
        key
    }
}

thread_local! {
    /// The mock identity provider's signing key.
    static IDP_KEY: TestKey = TestKey::ec("idp-key-1");
}

/// An ID token for `sub`, signed by the mock identity provider's key, issued at
/// the fake clock's [`NOW`].
fn id_token(issuer: &str, sub: &str) -> String {
    IDP_KEY.with(|k| signed_id_token(k, issuer, sub))
}

fn signed_id_token(key: &TestKey, issuer: &str, sub: &str) -> String {
    key.sign(&json!({"iss": issuer, "aud": "cli", "sub": sub,
                     "email": format!("{sub}@example.test"), "iat": NOW, "exp": NOW + 3600}))
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// A mock identity provider: discovery, device authorization, a token endpoint
/// that approves the device code and refreshes, and revocation.
fn idp() -> MockServer {
    rt().block_on(async {
        let s = MockServer::start().await;
        let uri = s.uri();
        Mock::given(method("GET"))
            .and(path("/.well-known/openid-configuration"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "issuer": uri,
                "token_endpoint": format!("{uri}/token"),
                "device_authorization_endpoint": format!("{uri}/device"),
                "revocation_endpoint": format!("{uri}/revoke"),
                "jwks_uri": format!("{uri}/jwks"),
            })))
            .mount(&s)
            .await;
        Mock::given(method("GET"))
            .and(path("/jwks"))
            .respond_with(ResponseTemplate::new(200).set_body_json(IDP_KEY.with(|k| jwks(&[k]))))
            .mount(&s)
            .await;
        Mock::given(method("POST"))
            .and(path("/device"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "device_code": "dev-1", "user_code": "WDJB-MJHT",
                "verification_uri": format!("{uri}/activate"),
                "verification_uri_complete": format!("{uri}/activate?user_code=WDJB-MJHT"),
                "expires_in": 600, "interval": 5,
            })))
            .mount(&s)
            .await;
        Mock::given(method("POST"))
            .and(path("/token"))
            .and(body_string_contains("device_code=dev-1"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "access_token": "at-login", "refresh_token": "rt-login",
                "id_token": id_token(&uri, "alice"), "token_type": "Bearer",
                "expires_in": 3600, "scope": "openid profile email offline_access",
            })))
            .mount(&s)
            .await;
        Mock::given(method("POST"))
            .and(path("/token"))
            .and(body_string_contains("grant_type=refresh_token"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "access_token": "at-refreshed", "refresh_token": "rt-2",
                "token_type": "Bearer", "expires_in": 300,
            })))
            .mount(&s)
            .await;
        Mock::given(method("POST"))
            .and(path("/revoke"))
            .respond_with(ResponseTemplate::new(200))
            .mount(&s)
            .await;
        s
    })
}

fn requests(s: &MockServer, p: &str) -> usize {
    rt().block_on(s.received_requests())
        .unwrap_or_default()
        .iter()
        .filter(|r| r.url.path() == p)
        .count()
}

#[test]
fn login_without_a_terminal_prints_plain_lines_and_stores_the_login() {
    let h = Harness::new();
    let s = idp();
    let r = h.run(&["login", "--issuer", &s.uri(), "--client-id", "cli"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(r.stdout, "", "stdout carries nothing for humans");
    assert!(
        r.stderr.contains("activate?user_code=WDJB-MJHT"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("  WDJB-MJHT\n"), "{}", r.stderr);
    assert!(
        r.stderr
            .contains("Waiting for approval (the code expires in 10m 00s)"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("Logged in as alice@example.test"),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains('\x1b'), "no escape codes off a terminal");
    assert!(
        !r.stderr.contains('█') && !r.stderr.contains('▀'),
        "no QR code off a terminal"
    );
    // The poller waited the interval on the fake clock before its one poll.
    assert_eq!(h.clock.sleeps(), vec![Duration::from_secs(5)]);
    let key = format!("{}|cli", s.uri());
    let entry = &h.credentials()["credentials"][&key];
    assert_eq!(entry["access_token"], "at-login");
    // Issued after the 5 s wait, valid for an hour, by the fake clock.
    assert_eq!(
        entry["expires_at"],
        crate::credential::timestamp::format(NOW + 5 + 3600)
    );
    assert_eq!(
        entry["requested_scope"],
        "openid profile email offline_access"
    );
    // It is the current login now.
    let t = h.run(&["token"]);
    assert_eq!((t.code, t.stdout.as_str()), (0, "at-login\n"));
}

#[test]
fn login_on_a_terminal_shows_the_qr_code_and_a_bold_code() {
    let h = Harness::new();
    let s = idp();
    let r = h.run_with(
        &["login", "--issuer", &s.uri(), "--client-id", "cli"],
        TestIo::new().terminal(),
    );
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stderr.contains('▀') || r.stderr.contains('█'),
        "QR code: {}",
        r.stderr
    );
    assert!(r.stderr.contains("\x1b[1mWDJB-MJHT\x1b[0m"), "{}", r.stderr);
    // NO_COLOR keeps the QR code (it is not colour) but drops the styling.
    let mut h = Harness::new();
    h.set_env("NO_COLOR", "1");
    let r = h.run_with(
        &[
            "login",
            "--issuer",
            &s.uri(),
            "--client-id",
            "cli",
            "--no-qr",
        ],
        TestIo::new().terminal(),
    );
    assert_eq!(r.code, 0, "{r:?}");
    assert!(!r.stderr.contains('\x1b'), "{}", r.stderr);
    assert!(!r.stderr.contains('▀'), "--no-qr");
}

#[test]
fn login_needs_an_issuer_and_refuses_http_before_any_traffic() {
    let h = Harness::new();
    let r = h.run(&["login"]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr
            .starts_with("vmauth: error: login needs --issuer URL"),
        "{}",
        r.stderr
    );
    let r = h.run(&[
        "login",
        "--issuer",
        "http://idp.example.com",
        "--client-id",
        "cli",
    ]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("requires https"), "{}", r.stderr);
}

#[test]
fn token_serves_the_cached_token_without_the_network() {
    let h = Harness::new();
    // An issuer nobody listens on: any network use would fail.
    h.store("http://127.0.0.1:9", "at-cached", Some("rt"), 3600);
    let r = h.run(&["token"]);
    assert_eq!(
        (r.code, r.stdout.as_str(), r.stderr.as_str()),
        (0, "at-cached\n", "")
    );
}

#[test]
fn token_refreshes_when_less_than_min_ttl_is_left() {
    let h = Harness::new();
    let s = idp();
    h.store(&s.uri(), "at-old", Some("rt-old"), 100);
    // 100 s left: enough for the default 60 s.
    assert_eq!(h.run(&["token"]).stdout, "at-old\n");
    assert_eq!(requests(&s, "/token"), 0);
    // Not enough for 5 minutes: refreshed, saved, and the new expiry is by the fake clock.
    let r = h.run(&["token", "--min-ttl", "5m"]);
    assert_eq!((r.code, r.stdout.as_str()), (0, "at-refreshed\n"), "{r:?}");
    assert_eq!(requests(&s, "/token"), 1);
    let entry = &h.credentials()["credentials"][&format!("{}|cli", s.uri())];
    assert_eq!(entry["refresh_token"], "rt-2");
    assert_eq!(
        entry["expires_at"],
        crate::credential::timestamp::format(NOW + 300)
    );
    // Time passes on the fake clock: 250 s later, 50 s are left, below the default.
    h.clock.advance(Duration::from_secs(250));
    assert_eq!(h.run(&["token"]).stdout, "at-refreshed\n");
    assert_eq!(requests(&s, "/token"), 2, "refreshed again");
}

#[test]
fn token_without_a_usable_login_exits_4_and_names_the_fix() {
    let h = Harness::new();
    let r = h.run(&["token"]);
    assert_eq!(r.code, 4);
    assert_eq!(r.stdout, "");
    assert_eq!(
        r.stderr,
        "vmauth: error: not logged in; run: vmauth login --issuer URL --client-id ID\n"
    );
    h.store("https://idp.example.com", "at", None, -10);
    let r = h.run(&["token"]);
    assert_eq!(r.code, 4);
    assert!(
        r.stderr.contains("the access token has expired and there is no refresh token; run: vmauth login --issuer https://idp.example.com --client-id cli"),
        "{}",
        r.stderr
    );
}

#[test]
fn a_closed_stdout_ends_token_quietly() {
    let h = Harness::new();
    h.store("http://127.0.0.1:9", "at-cached", None, 3600);
    let r = h.run_with(&["token"], TestIo::new().broken_stdout());
    assert_eq!((r.code, r.stderr.as_str()), (0, ""));
}

#[test]
fn status_json_goes_to_stdout_and_human_text_to_stderr() {
    let h = Harness::new();
    let key = h.store("https://idp.example.com", "at", Some("rt"), 125);
    let r = h.run(&["status", "--json"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(r.stderr, "");
    let doc: Value = serde_json::from_str(&r.stdout).unwrap();
    let login = &doc["logins"][0];
    assert_eq!(login["key"], key);
    assert_eq!(login["expires_in"], 125, "by the fake clock");
    assert_eq!(login["valid"], true);
    assert_eq!(login["store"], "file");
    let r = h.run(&["status"]);
    assert_eq!((r.code, r.stdout.as_str()), (0, ""));
    assert!(
        r.stderr.contains("* https://idp.example.com (client cli)"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("(in 2m 05s)"), "{}", r.stderr);
    // Expired and without refresh token: exit 4.
    h.store("https://idp.example.com", "at", None, -1);
    let r = h.run(&["status"]);
    assert_eq!(r.code, 4);
    assert!(r.stderr.contains("expired 1s ago"), "{}", r.stderr);
}

#[test]
fn logout_revokes_and_removes_the_login() {
    let h = Harness::new();
    let s = idp();
    h.store(&s.uri(), "at", Some("rt"), 3600);
    let r = h.run(&["logout"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stderr
            .contains("refresh token revoked, access token revoked, removed locally"),
        "{}",
        r.stderr
    );
    assert_eq!(requests(&s, "/revoke"), 2);
    assert_eq!(h.credentials()["credentials"], json!({}));
    let r = h.run(&["logout"]);
    assert_eq!(
        (r.code, r.stderr.as_str()),
        (0, "Not logged in; nothing to remove.\n")
    );
}

#[test]
fn client_secret_is_read_from_stdin_through_io() {
    let h = Harness::new();
    let s = rt().block_on(async {
        let s = MockServer::start().await;
        let uri = s.uri();
        Mock::given(method("GET"))
            .and(path("/.well-known/openid-configuration"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "issuer": uri, "token_endpoint": format!("{uri}/token"),
            })))
            .mount(&s)
            .await;
        Mock::given(method("POST"))
            .and(path("/token"))
            .and(header_exists("authorization"))
            .and(body_string_contains("grant_type=client_credentials"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "access_token": "cc-token", "token_type": "Bearer", "expires_in": 600,
            })))
            .mount(&s)
            .await;
        s
    });
    let args = [
        "token",
        "--client-credentials",
        "--issuer",
        &s.uri(),
        "--client-id",
        "cli",
        "--client-secret-stdin",
    ];
    let r = h.run_with(&args, TestIo::new().stdin("s3cret\n"));
    assert_eq!((r.code, r.stdout.as_str()), (0, "cc-token\n"), "{r:?}");
    let got = rt().block_on(s.received_requests()).unwrap();
    let auth = got
        .iter()
        .find(|r| r.url.path() == "/token")
        .and_then(|r| r.headers.get("authorization"))
        .map(|v| v.to_str().unwrap().to_string());
    use base64::Engine;
    let expected = base64::engine::general_purpose::STANDARD.encode("cli:s3cret");
    assert_eq!(auth, Some(format!("Basic {expected}")));
    // An empty stdin is a missing secret, named with its fixes.
    let h = Harness::new();
    let r = h.run_with(&args, TestIo::new());
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("the client secret is empty"),
        "{}",
        r.stderr
    );
}

#[test]
fn usage_errors_and_help_go_through_io() {
    let h = Harness::new();
    let r = h.run(&["--help"]);
    assert_eq!(r.code, 0);
    assert!(
        r.stdout.contains("Environment:\n  VMAUTH_ISSUER"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("VMAUTH_HELPER_TIMEOUT"), "{}", r.stdout);
    assert_eq!(r.stderr, "");
    let r = h.run(&["token", "--bogus"]);
    assert_eq!(r.code, 2);
    assert_eq!(
        r.stderr,
        "vmauth: error: unexpected argument '--bogus' found; see 'vmauth token --help'\n"
    );
    assert_eq!(r.stdout, "");
    let r = h.run(&["--store", "vault", "status"]);
    assert_eq!(r.code, 2);
    assert_eq!(
        r.stderr,
        "vmauth: error: invalid value 'vault' for '--store <STORE>' (possible values: auto, keyring, file, memory, helper); see 'vmauth status --help'\n"
    );
    let r = h.run(&["login", "--isuer", "x"]);
    assert!(
        r.stderr.starts_with("vmauth: error: unexpected argument '--isuer' found; a similar argument exists: '--issuer'; see 'vmauth login --help'"),
        "{}",
        r.stderr
    );
    assert_eq!(r.stderr.lines().count(), 1);
    let r = h.run(&["frobnicate"]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.ends_with("; see 'vmauth --help'\n"),
        "{}",
        r.stderr
    );
}

/// A store that reads but will not write: `put` fails, and `check_writable`
/// fails too unless `admits_writes` (a store that fails only on the real write).
struct ReadOnly {
    inner: Box<dyn CredentialStore>,
    admits_writes: bool,
}

impl CredentialStore for ReadOnly {
    fn kind(&self) -> StoreKind {
        self.inner.kind()
    }
    fn location(&self) -> String {
        self.inner.location()
    }
    fn get(&self, key: &str) -> Result<Option<Credential>> {
        self.inner.get(key)
    }
    fn put(&self, _: &str, _: &Credential) -> Result<()> {
        Err(Error::storage("the disk is read-only"))
    }
    fn delete(&self, key: &str) -> Result<bool> {
        self.inner.delete(key)
    }
    fn list(&self) -> Result<Vec<(String, Credential)>> {
        self.inner.list()
    }
    fn check_writable(&self) -> Result<()> {
        if self.admits_writes {
            Ok(())
        } else {
            Err(Error::storage(
                "cannot create a file in /vm: read-only file system",
            ))
        }
    }
}

#[test]
fn a_refresh_token_is_not_spent_when_its_successor_cannot_be_stored() {
    let h = Harness::new();
    let s = idp();
    h.store(&s.uri(), "at-old", Some("rt-old"), 30);
    let read_only = |inner| -> Box<dyn CredentialStore> {
        Box::new(ReadOnly {
            inner,
            admits_writes: false,
        })
    };
    // 30 s left, 60 s wanted: a refresh is due, but the store cannot take it. The
    // cached token is still good, so it is served with a warning.
    let r = h.run_wrapped(&["token"], read_only);
    assert_eq!((r.code, r.stdout.as_str()), (0, "at-old\n"), "{r:?}");
    assert!(
        r.stderr.contains(
            "not refreshing, because the refreshed tokens could not be saved (the login is kept)"
        ),
        "{}",
        r.stderr
    );
    assert_eq!(requests(&s, "/token"), 0, "the refresh token was not spent");
    // Once expired: an error, still without spending the refresh token.
    h.clock.advance(Duration::from_secs(60));
    let r = h.run_wrapped(&["token"], read_only);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.contains("read-only file system"), "{}", r.stderr);
    assert_eq!(requests(&s, "/token"), 0);
    assert_eq!(
        h.credentials()["credentials"][&format!("{}|cli", s.uri())]["refresh_token"],
        "rt-old"
    );
}

#[test]
fn refreshed_tokens_the_store_refuses_are_kept_for_the_next_call() {
    let h = Harness::new();
    let s = idp();
    h.store(&s.uri(), "at-old", Some("rt-old"), -5);
    let failing_put = |inner| -> Box<dyn CredentialStore> {
        Box::new(ReadOnly {
            inner,
            admits_writes: true,
        })
    };
    let r = h.run_wrapped(&["token"], failing_put);
    assert_eq!((r.code, r.stdout.as_str()), (0, "at-refreshed\n"), "{r:?}");
    assert!(
        r.stderr
            .contains("the tokens were refreshed but could not be saved"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("the next vmauth call will use them"),
        "{}",
        r.stderr
    );
    assert_eq!(requests(&s, "/token"), 1);
    // The next call (the store still refusing) uses them: no second refresh with
    // the spent refresh token.
    let r = h.run_wrapped(&["token"], failing_put);
    assert_eq!((r.code, r.stdout.as_str()), (0, "at-refreshed\n"), "{r:?}");
    assert_eq!(requests(&s, "/token"), 1);
    // When the store works again, the kept tokens move back into it.
    h.clock.advance(Duration::from_secs(290));
    let r = h.run(&["token"]);
    assert_eq!(r.code, 0, "{r:?}");
    let entry = &h.credentials()["credentials"][&format!("{}|cli", s.uri())];
    assert_eq!(entry["refresh_token"], "rt-2", "{entry}");
    assert!(
        !h.dir
            .path()
            .join("config/rescue")
            .read_dir()
            .unwrap()
            .any(|_| true)
    );
}

#[test]
fn short_lived_tokens_are_refreshed_once_not_on_every_call() {
    let h = Harness::new();
    let s = rt().block_on(async {
        let s = MockServer::start().await;
        let uri = s.uri();
        Mock::given(method("GET"))
            .and(path("/.well-known/openid-configuration"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "issuer": uri, "token_endpoint": format!("{uri}/token"),
            })))
            .mount(&s)
            .await;
        Mock::given(method("POST"))
            .and(path("/token"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "access_token": "at-short", "refresh_token": "rt-short", "expires_in": 30,
            })))
            .mount(&s)
            .await;
        s
    });
    h.store(&s.uri(), "at-old", Some("rt-old"), -1);
    for _ in 0..5 {
        let r = h.run(&["token"]);
        assert_eq!((r.code, r.stdout.as_str()), (0, "at-short\n"), "{r:?}");
    }
    assert_eq!(
        requests(&s, "/token"),
        1,
        "30 s tokens with the default 60 s min-ttl"
    );
    // Past half its life it is refreshed again.
    h.clock.advance(Duration::from_secs(16));
    h.run(&["token"]);
    assert_eq!(requests(&s, "/token"), 2);
}

#[test]
fn a_refresh_refused_without_an_oauth_error_means_log_in_again() {
    let h = Harness::new();
    let s = rt().block_on(async {
        let s = MockServer::start().await;
        let uri = s.uri();
        Mock::given(method("GET"))
            .and(path("/.well-known/openid-configuration"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "issuer": uri, "token_endpoint": format!("{uri}/token"),
            })))
            .mount(&s)
            .await;
        Mock::given(method("POST"))
            .and(path("/token"))
            .respond_with(ResponseTemplate::new(400))
            .mount(&s)
            .await;
        s
    });
    let key = h.store(&s.uri(), "at-old", Some("rt-old"), 30);
    // Still valid: served, with the reason it could not be refreshed.
    let r = h.run(&["token"]);
    assert_eq!((r.code, r.stdout.as_str()), (0, "at-old\n"), "{r:?}");
    assert!(
        r.stderr.contains("HTTP 400 without an OAuth error"),
        "{}",
        r.stderr
    );
    h.clock.advance(Duration::from_secs(31));
    let r = h.run(&["token"]);
    assert_eq!(r.code, 4, "{r:?}");
    assert!(
        r.stderr.contains(
            "refused to refresh the login (HTTP 400 without an OAuth error); run: vmauth login"
        ),
        "{}",
        r.stderr
    );
    assert_eq!(
        h.credentials()["credentials"][&key]["refresh_token"],
        "rt-old",
        "login kept"
    );
}

/// A mock identity provider whose refresh answers carry ID tokens signed by
/// `first` on the first refresh and `then` afterwards, and whose key set holds
/// `first` on the first fetch and both keys afterwards (a rotation).
fn rotating_idp(first: &TestKey, then: &TestKey) -> MockServer {
    rt().block_on(async {
        let s = MockServer::start().await;
        let uri = s.uri();
        Mock::given(method("GET"))
            .and(path("/.well-known/openid-configuration"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "issuer": uri, "token_endpoint": format!("{uri}/token"),
                "jwks_uri": format!("{uri}/jwks"),
            })))
            .mount(&s)
            .await;
        Mock::given(method("GET"))
            .and(path("/jwks"))
            .respond_with(ResponseTemplate::new(200).set_body_json(jwks(&[first])))
            .up_to_n_times(1)
            .mount(&s)
            .await;
        Mock::given(method("GET"))
            .and(path("/jwks"))
            .respond_with(ResponseTemplate::new(200).set_body_json(jwks(&[first, then])))
            .mount(&s)
            .await;
        let answer = |key: &TestKey| {
            ResponseTemplate::new(200).set_body_json(json!({
                "access_token": "at-new", "refresh_token": "rt-new", "expires_in": 3600,
                "id_token": signed_id_token(key, &uri, "alice"),
            }))
        };
        Mock::given(method("POST"))
            .and(path("/token"))
            .respond_with(answer(first))
            .up_to_n_times(1)
            .mount(&s)
            .await;
        Mock::given(method("POST"))
            .and(path("/token"))
            .respond_with(answer(then))
            .mount(&s)
            .await;
        s
    })
}

#[test]
fn id_tokens_are_verified_against_the_issuers_keys_which_are_cached() {
    let h = Harness::new();
    let (k1, k2) = (TestKey::rsa("k1"), TestKey::ec("k2"));
    let s = rotating_idp(&k1, &k2);
    let key = h.store(&s.uri(), "at-old", Some("rt-old"), -1);
    let r = h.run(&["token"]);
    assert_eq!((r.code, r.stdout.as_str()), (0, "at-new\n"), "{r:?}");
    assert_eq!(requests(&s, "/jwks"), 1);
    let status: Value = serde_json::from_str(&h.run(&["status", "--json"]).stdout).unwrap();
    assert_eq!(status["logins"][0]["id_token_verified"], true);
    // The issuer rotates to k2 right away: the cached set (fetched just now) is
    // not refetched within 5 minutes, so the new ID token is refused, the login
    // kept as it was, and its still-valid token served with the reason.
    let r = h.run(&["token", "--force-refresh"]);
    assert_eq!((r.code, r.stdout.as_str()), (0, "at-new\n"), "{r:?}");
    assert!(
        r.stderr.contains("refusing the refreshed tokens: the ID token: it was signed with a key the issuer does not publish (kid \"k2\")"),
        "{}",
        r.stderr
    );
    assert_eq!(requests(&s, "/jwks"), 1, "no refetch within 5 minutes");
    assert_eq!(
        h.credentials()["credentials"][&key]["refresh_token"],
        "rt-new"
    );
    // Six minutes later an unknown key id refetches the set once, and verifies.
    h.clock.advance(Duration::from_secs(360));
    let r = h.run(&["token", "--force-refresh"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(requests(&s, "/jwks"), 2);
}

#[test]
fn a_forged_id_token_is_refused_and_the_login_kept() {
    let h = Harness::new();
    // The issuer publishes k1; the answer is signed by another key under k1's id.
    let (k1, forger) = (TestKey::ec("k1"), TestKey::ec("k1"));
    let s = rt().block_on(async {
        let s = MockServer::start().await;
        let uri = s.uri();
        Mock::given(method("GET"))
            .and(path("/.well-known/openid-configuration"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "issuer": uri, "token_endpoint": format!("{uri}/token"),
                "jwks_uri": format!("{uri}/jwks"),
            })))
            .mount(&s)
            .await;
        Mock::given(method("GET"))
            .and(path("/jwks"))
            .respond_with(ResponseTemplate::new(200).set_body_json(jwks(&[&k1])))
            .mount(&s)
            .await;
        Mock::given(method("POST"))
            .and(path("/token"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "access_token": "at-forged", "refresh_token": "rt-forged", "expires_in": 3600,
                "id_token": signed_id_token(&forger, &uri, "alice"),
            })))
            .mount(&s)
            .await;
        s
    });
    let key = h.store(&s.uri(), "at-old", Some("rt-old"), -1);
    let r = h.run(&["token"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stderr
            .contains("the ID token: its signature does not verify"),
        "{}",
        r.stderr
    );
    assert_eq!(r.stdout, "");
    assert_eq!(
        h.credentials()["credentials"][&key]["refresh_token"],
        "rt-old"
    );
}

/// A mock provider whose device grant answers `tokens` at once, with a userinfo
/// endpoint answering `userinfo` when given.
fn device_idp(tokens: Value, userinfo: Option<Value>) -> MockServer {
    rt().block_on(async {
        let s = MockServer::start().await;
        let uri = s.uri();
        let mut meta = json!({
            "issuer": uri, "token_endpoint": format!("{uri}/token"),
            "device_authorization_endpoint": format!("{uri}/device"),
        });
        if let Some(claims) = userinfo {
            meta["userinfo_endpoint"] = format!("{uri}/userinfo").into();
            Mock::given(method("GET"))
                .and(path("/userinfo"))
                .and(wiremock::matchers::header(
                    "authorization",
                    "Bearer at-device",
                ))
                .respond_with(ResponseTemplate::new(200).set_body_json(claims))
                .mount(&s)
                .await;
        }
        Mock::given(method("GET"))
            .and(path("/.well-known/openid-configuration"))
            .respond_with(ResponseTemplate::new(200).set_body_json(meta))
            .mount(&s)
            .await;
        Mock::given(method("POST"))
            .and(path("/device"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "device_code": "dev-1", "user_code": "ABCD-EFGH",
                "verification_uri": format!("{uri}/activate"), "expires_in": 600, "interval": 5,
            })))
            .mount(&s)
            .await;
        Mock::given(method("POST"))
            .and(path("/token"))
            .respond_with(ResponseTemplate::new(200).set_body_json(tokens))
            .mount(&s)
            .await;
        s
    })
}

/// An unsigned JWT access token for `aud` (vmauth reads its claims only).
fn jwt_access_token(aud: &str) -> String {
    use base64::Engine;
    let b = |v: Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    format!(
        "{}.{}.sig",
        b(json!({"alg": "RS256"})),
        b(json!({"aud": aud, "sub": "alice"}))
    )
}

#[test]
fn a_token_for_another_audience_is_named_at_login() {
    for (aud, warned) in [("https://elsewhere", true), ("https://api.example", false)] {
        let h = Harness::new();
        let s = device_idp(
            json!({"access_token": jwt_access_token(aud), "refresh_token": "rt", "expires_in": 3600}),
            None,
        );
        let r = h.run(&[
            "login",
            "--issuer",
            &s.uri(),
            "--client-id",
            "cli",
            "--audience",
            "https://api.example",
        ]);
        assert_eq!(r.code, 0, "{r:?}");
        assert_eq!(
            r.stderr.contains(
                "the access token is for \"https://elsewhere\" (aud), not https://api.example"
            ),
            warned,
            "{}",
            r.stderr
        );
        let status: Value = serde_json::from_str(&h.run(&["status", "--json"]).stdout).unwrap();
        assert_eq!(status["logins"][0]["access_token_audience"], aud);
    }
    // Opaque tokens are not judged.
    let h = Harness::new();
    let s = device_idp(
        json!({"access_token": "opaque-at", "refresh_token": "rt"}),
        None,
    );
    let r = h.run(&[
        "login",
        "--issuer",
        &s.uri(),
        "--client-id",
        "cli",
        "--audience",
        "https://api.example",
    ]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(!r.stderr.contains("(aud)"), "{}", r.stderr);
}

#[test]
fn without_an_id_token_userinfo_says_who_logged_in() {
    let h = Harness::new();
    let s = device_idp(
        json!({"access_token": "at-device", "refresh_token": "rt", "scope": "openid profile email"}),
        Some(
            json!({"sub": "bob", "email": "bob@example.test", "name": "Bob", "address": "not kept"}),
        ),
    );
    let r = h.run(&["login", "--issuer", &s.uri(), "--client-id", "cli"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stderr.contains("Logged in as bob@example.test"),
        "{}",
        r.stderr
    );
    let status: Value = serde_json::from_str(&h.run(&["status", "--json"]).stdout).unwrap();
    assert_eq!(
        status["logins"][0]["claims"],
        json!({"sub": "bob", "email": "bob@example.test", "name": "Bob"})
    );
    // Asked once, at login; never on the cached path.
    h.run(&["token"]);
    h.run(&["status"]);
    assert_eq!(requests(&s, "/userinfo"), 1);
}

#[test]
fn the_id_token_is_given_and_refreshed_by_its_own_expiry() {
    let h = Harness::new();
    let k1 = TestKey::ec("k1");
    let s = rotating_idp(&k1, &k1);
    // The access token has an hour; the ID token only 30 s of its hour.
    let key = h.store(&s.uri(), "at-old", Some("rt-old"), 3600);
    let mut doc = h.credentials();
    let old_idt = k1.sign(
        &json!({"iss": s.uri(), "aud": "cli", "sub": "alice", "iat": NOW - 3570, "exp": NOW + 30}),
    );
    doc["credentials"][&key]["id_token"] = old_idt.clone().into();
    std::fs::write(h.dir.path().join("vm/credentials.json"), doc.to_string()).unwrap();
    // The access token is served from the cache…
    assert_eq!(h.run(&["token"]).stdout, "at-old\n");
    assert_eq!(requests(&s, "/token"), 0);
    // …the ID token is refreshed first.
    let r = h.run(&["token", "--token-type", "id"]);
    assert_eq!(r.code, 0, "{r:?}");
    let idt = r.stdout.trim_end();
    assert_ne!(idt, old_idt);
    assert_eq!(crate::oidc::jwt::claims(idt).unwrap()["exp"], NOW + 3600);
    assert_eq!(requests(&s, "/token"), 1);
    // A login without an ID token: exit 4, saying why.
    let h = Harness::new();
    h.store("https://idp.example.com", "at", Some("rt"), 3600);
    let r = h.run(&["token", "--token-type", "id"]);
    assert_eq!(r.code, 4, "{r:?}");
    assert!(
        r.stderr.contains("this login has no ID token"),
        "{}",
        r.stderr
    );
}

/// The first ```json block of README.md after `heading`, parsed.
fn readme_json(heading: &str) -> Value {
    let readme = include_str!("../../README.md");
    let after = &readme[readme.find(heading).expect("heading in README")..];
    let block = &after[after.find("```json\n").unwrap() + 8..];
    serde_json::from_str(&block[..block.find("```").unwrap()]).unwrap()
}

fn keys(v: &Value) -> Vec<String> {
    let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
    k.sort();
    k
}

#[test]
fn the_readme_documents_exactly_the_fields_vmauth_prints() {
    let h = Harness::new();
    h.store("https://idp.example.com", "at", Some("rt"), 100);
    let status: Value = serde_json::from_str(&h.run(&["status", "--json"]).stdout).unwrap();
    assert_eq!(
        keys(&readme_json("### `vmauth status [--json] [--all]`")["logins"][0]),
        keys(&status["logins"][0])
    );
    let token: Value = serde_json::from_str(&h.run(&["token", "-o", "json"]).stdout).unwrap();
    assert_eq!(keys(&readme_json("## Using the token")), keys(&token));
}

#[test]
fn a_profile_supplies_an_endpoint_the_metadata_lacks() {
    let mut h = Harness::new();
    // Like stock django-oauth-toolkit: discovery without a device endpoint.
    let s = rt().block_on(async {
        let s = MockServer::start().await;
        let uri = s.uri();
        Mock::given(method("GET"))
            .and(path("/.well-known/openid-configuration"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "issuer": uri, "token_endpoint": format!("{uri}/token"),
            })))
            .mount(&s)
            .await;
        Mock::given(method("POST"))
            .and(path("/o/device-authorization/"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "device_code": "dev-1", "user_code": "ABCD-EFGH",
                "verification_uri": format!("{uri}/activate"), "expires_in": 600, "interval": 5,
            })))
            .mount(&s)
            .await;
        Mock::given(method("POST"))
            .and(path("/token"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "access_token": "at-django", "refresh_token": "rt", "expires_in": 3600,
            })))
            .mount(&s)
            .await;
        s
    });
    let r = h.run(&["login", "--issuer", &s.uri(), "--client-id", "cli"]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(
        r.stderr.contains("does not support the device flow"),
        "{}",
        r.stderr
    );
    let config = h.dir.path().join("config");
    std::fs::create_dir_all(&config).unwrap();
    std::fs::write(
        config.join("config.toml"),
        format!(
            "[profiles.django]\nissuer = \"{0}\"\nclient_id = \"cli\"\ndevice_authorization_endpoint = \"{0}/o/device-authorization/\"\n",
            s.uri()
        ),
    )
    .unwrap();
    let r = h.run(&["login", "--profile", "django"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(
        h.run(&["token", "--profile", "django"]).stdout,
        "at-django\n"
    );
    // Overrides follow the HTTPS rule of discovered endpoints.
    std::fs::write(
        config.join("config.toml"),
        format!(
            "[profiles.django]\nissuer = \"{}\"\nclient_id = \"cli\"\ndevice_authorization_endpoint = \"http://auth.example.org/device\"\n",
            s.uri()
        ),
    )
    .unwrap();
    h.set_env("VMAUTH_PROFILE", "django");
    let r = h.run(&["login"]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(
        r.stderr.contains(
            "profile device_authorization_endpoint http://auth.example.org/device uses http"
        ),
        "{}",
        r.stderr
    );
}
