//! The in-process test harness of the commands: one isolated vmauth "machine"
//! (credentials file, config directory, environment, fake clock) that runs
//! command lines through `crate::run_with` with a test `Io`, and mock identity
//! providers to run them against.
#![allow(dead_code)]

use std::rc::Rc;

use serde_json::{Value, json};
use wiremock::matchers::{body_string_contains, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::clock::{CountingRng, FakeClock};
use crate::commands::Context;
use crate::io::TestIo;
use crate::settings::MapEnv;
use crate::store::CredentialStore;
use crate::testing::keys::{TestKey, jwks};

/// 2033-05-18: the fake clock's "now".
pub(crate) const NOW: i64 = 2_000_000_000;

/// One isolated vmauth "machine": its credentials file, config directory,
/// environment and clock.
pub(crate) struct Harness {
    pub(crate) dir: tempfile::TempDir,
    pub(crate) env: MapEnv,
    pub(crate) clock: Rc<FakeClock>,
}

/// What a command run gave.
#[derive(Debug)]
pub(crate) struct Outcome {
    pub(crate) code: i32,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

impl Harness {
    pub(crate) fn new() -> Harness {
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

    pub(crate) fn set_env(&mut self, k: &str, v: &str) {
        self.env.0.insert(k.into(), v.into());
    }

    pub(crate) fn run(&self, args: &[&str]) -> Outcome {
        self.run_with(args, TestIo::new())
    }

    pub(crate) fn run_with(&self, args: &[&str], io: TestIo) -> Outcome {
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
    pub(crate) fn run_wrapped(
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
            crate::context::open_store(&settings.common, &state, &ui, rng.clone(), false).unwrap();
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

    /// Replace the credentials file with `doc` (planted or edited entries).
    pub(crate) fn put_credentials(&self, doc: &Value) {
        std::fs::write(self.dir.path().join("vm/credentials.json"), doc.to_string()).unwrap();
    }

    pub(crate) fn credentials(&self) -> Value {
        let p = self.dir.path().join("vm/credentials.json");
        serde_json::from_slice(&std::fs::read(p).unwrap_or_else(|_| b"{}".to_vec())).unwrap()
    }

    /// Store a login as the ValidMind library would, expiring `ttl` seconds from now.
    pub(crate) fn store(
        &self,
        issuer: &str,
        access: &str,
        refresh: Option<&str>,
        ttl: i64,
    ) -> String {
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

impl Harness {
    /// Add a login to the credentials file, keeping the others.
    pub(crate) fn add(&self, issuer: &str, access: &str, ttl: i64) {
        let mut doc = self.credentials();
        doc["version"] = 1.into();
        doc["credentials"][format!("{issuer}|cli")] = json!({
            "issuer": issuer, "client_id": "cli", "access_token": access,
            "expires_at": crate::credential::timestamp::format(NOW + ttl),
        });
        self.put_credentials(&doc);
    }
}

/// A store that counts the reads of the store it wraps (`get` and `list`).
pub(crate) struct CountingReads {
    pub(crate) inner: Box<dyn CredentialStore>,
    pub(crate) reads: Rc<std::cell::Cell<usize>>,
}

impl CredentialStore for CountingReads {
    fn kind(&self) -> crate::store::StoreKind {
        self.inner.kind()
    }
    fn location(&self) -> String {
        self.inner.location()
    }
    fn get(&self, key: &str) -> crate::error::Result<Option<crate::credential::Credential>> {
        self.reads.set(self.reads.get() + 1);
        self.inner.get(key)
    }
    fn put(&self, key: &str, c: &crate::credential::Credential) -> crate::error::Result<()> {
        self.inner.put(key, c)
    }
    fn delete(&self, key: &str) -> crate::error::Result<bool> {
        self.inner.delete(key)
    }
    fn list(&self) -> crate::error::Result<Vec<(String, crate::credential::Credential)>> {
        self.reads.set(self.reads.get() + 1);
        self.inner.list()
    }
}

thread_local! {
    /// The mock identity provider's signing key.
    pub(crate) static IDP_KEY: TestKey = TestKey::ec("idp-key-1");
}

/// An ID token for `sub`, signed by the mock identity provider's key, issued at
/// the fake clock's [`NOW`].
pub(crate) fn id_token(issuer: &str, sub: &str) -> String {
    IDP_KEY.with(|k| signed_id_token(k, issuer, sub))
}

/// [`id_token`] for the client `aud`.
pub(crate) fn id_token_for(issuer: &str, sub: &str, aud: &str) -> String {
    IDP_KEY.with(|k| {
        k.sign(&json!({"iss": issuer, "aud": aud, "sub": sub,
                       "email": format!("{sub}@example.test"), "iat": NOW, "exp": NOW + 3600}))
    })
}

pub(crate) fn signed_id_token(key: &TestKey, issuer: &str, sub: &str) -> String {
    key.sign(&json!({"iss": issuer, "aud": "cli", "sub": sub,
                     "email": format!("{sub}@example.test"), "iat": NOW, "exp": NOW + 3600}))
}

pub(crate) fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// A mock identity provider: discovery, device authorization, a token endpoint
/// that approves the device code and refreshes, and revocation.
pub(crate) fn idp() -> MockServer {
    rt().block_on(
        MockIdp::new()
            .get("/jwks", |_| {
                ResponseTemplate::new(200).set_body_json(IDP_KEY.with(|k| jwks(&[k])))
            })
            .device_authorization()
            .mount(|uri| {
                Mock::given(method("POST"))
                    .and(path("/token"))
                    .and(body_string_contains("device_code=dev-1"))
                    .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                        "access_token": "at-login", "refresh_token": "rt-login",
                        "id_token": id_token(uri, "alice"), "token_type": "Bearer",
                        "expires_in": 3600, "scope": "openid profile email offline_access",
                    })))
            })
            .mount(|_| {
                Mock::given(method("POST"))
                    .and(path("/token"))
                    .and(body_string_contains("grant_type=refresh_token"))
                    .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                        "access_token": "at-refreshed", "refresh_token": "rt-2",
                        "token_type": "Bearer", "expires_in": 300,
                    })))
            })
            .post("/revoke", |_| ResponseTemplate::new(200))
            .start(),
    )
}

pub(crate) use super::mock_idp::MockIdp;

pub(crate) fn requests(s: &MockServer, p: &str) -> usize {
    bodies(s, p).len()
}

/// The bodies of the requests `s` received at the path `p`, in order.
pub(crate) fn bodies(s: &MockServer, p: &str) -> Vec<String> {
    rt().block_on(s.received_requests())
        .unwrap_or_default()
        .iter()
        .filter(|r| r.url.path() == p)
        .map(|r| String::from_utf8_lossy(&r.body).into_owned())
        .collect()
}

/// A mock provider whose device grant answers `tokens` at once, with a userinfo
/// endpoint answering `userinfo` when given.
pub(crate) fn device_idp(tokens: Value, userinfo: Option<Value>) -> MockServer {
    let with_userinfo = userinfo.is_some();
    let mut idp = MockIdp::new()
        .metadata(move |uri| {
            let mut meta = json!({
                "issuer": uri, "token_endpoint": format!("{uri}/token"),
                "device_authorization_endpoint": format!("{uri}/device/auth"),
            });
            if with_userinfo {
                meta["userinfo_endpoint"] = format!("{uri}/userinfo").into();
            }
            meta
        })
        .post("/device/auth", |uri| {
            ResponseTemplate::new(200).set_body_json(json!({
                "device_code": "dev-1", "user_code": "ABCD-EFGH",
                "verification_uri": format!("{uri}/activate"), "expires_in": 600, "interval": 5,
            }))
        })
        .post("/token", move |_| {
            ResponseTemplate::new(200).set_body_json(tokens)
        });
    if let Some(claims) = userinfo {
        idp = idp.mount(move |_| {
            Mock::given(method("GET"))
                .and(path("/userinfo"))
                .and(wiremock::matchers::header(
                    "authorization",
                    "Bearer at-device",
                ))
                .respond_with(ResponseTemplate::new(200).set_body_json(claims))
        });
    }
    rt().block_on(idp.start())
}

/// An unsigned JWT access token for `aud` (vmauth reads its claims only).
pub(crate) fn jwt_access_token(aud: &str) -> String {
    use base64::Engine;
    let b = |v: Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    format!(
        "{}.{}.sig",
        b(json!({"alg": "RS256"})),
        b(json!({"aud": aud, "sub": "alice"}))
    )
}

/// A token endpoint that rotates refresh tokens and, like Auth0, Okta,
/// Keycloak and oidc-provider, revokes the whole family when a spent refresh
/// token comes back: after any lost successor, every refresh is `invalid_grant`.
/// Refresh `n` (from 1) answers `rt-n` and the ID token `id_token(n)` gives.
pub(crate) struct RotatingTokens {
    state: std::sync::Mutex<(String, bool, u32)>,
    id_token: Box<dyn Fn(u32) -> Option<String> + Send + Sync>,
}

impl RotatingTokens {
    /// Starting from the refresh token `first`.
    pub(crate) fn new(
        first: &str,
        id_token: impl Fn(u32) -> Option<String> + Send + Sync + 'static,
    ) -> RotatingTokens {
        RotatingTokens {
            state: std::sync::Mutex::new((first.to_string(), false, 0)),
            id_token: Box::new(id_token),
        }
    }
}

impl wiremock::Respond for RotatingTokens {
    fn respond(&self, req: &wiremock::Request) -> ResponseTemplate {
        let body = String::from_utf8_lossy(&req.body).into_owned();
        let sent = url::form_urlencoded::parse(body.as_bytes())
            .find(|(k, _)| k == "refresh_token")
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default();
        let mut st = self.state.lock().unwrap();
        let (current, revoked, n) = &mut *st;
        if *revoked || sent != *current {
            *revoked = true;
            return ResponseTemplate::new(400).set_body_json(json!({
                "error": "invalid_grant", "error_description": "grant revoked (refresh token reuse)"
            }));
        }
        *n += 1;
        *current = format!("rt-{n}");
        let mut answer = json!({
            "access_token": format!("at-{n}"), "refresh_token": current.clone(),
            "token_type": "Bearer", "expires_in": 3600,
        });
        if let Some(idt) = (self.id_token)(*n) {
            answer["id_token"] = idt.into();
        }
        ResponseTemplate::new(200).set_body_json(answer)
    }
}

/// A mock provider (discovery, `jwks` as its key set, revocation) whose token
/// endpoint is `tokens`.
pub(crate) fn rotating_provider(jwks: Value, tokens: RotatingTokens) -> MockServer {
    rt().block_on(
        MockIdp::new()
            .get("/jwks", move |_| {
                ResponseTemplate::new(200).set_body_json(jwks)
            })
            .post_with("/token", tokens)
            .post("/revoke", |_| ResponseTemplate::new(200))
            .start(),
    )
}
