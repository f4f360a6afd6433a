//! The `vmauth` binary against an in-process mock identity provider (wiremock),
//! for answers a real OpenID Provider will not give: wrong issuer, missing
//! endpoints, HTML 500 pages, malformed JSON, insecure URLs.

mod support;

use serde_json::json;
use support::cli::{self, Home};
use wiremock::matchers::{body_string_contains, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use support::mock_idp::{MockIdp, metadata};

/// A mock IdP with discovery whose device authorization endpoint gives `answer`
/// (built from the server's own URL).
async fn idp_answering_device(
    answer: impl FnOnce(&str) -> ResponseTemplate + 'static,
) -> MockServer {
    MockIdp::new().post("/device/auth", answer).start().await
}

/// A mock IdP with discovery that must get no POST at all.
async fn idp_expecting_no_post() -> MockServer {
    MockIdp::new()
        .mount(|_| {
            Mock::given(method("POST"))
                .respond_with(ResponseTemplate::new(200))
                .expect(0)
        })
        .start()
        .await
}

fn login(home: &Home, issuer: &str) -> cli::Run {
    home.run(&["login", "--issuer", issuer, "--client-id", "cli", "--no-qr"])
}

#[tokio::test]
async fn http_issuer_is_refused_before_any_traffic() {
    let home = Home::new();
    login(&home, "http://idp.example.com")
        .expect_code(2)
        .expect_error("requires https");
    // Also through the environment, with the legacy variable name.
    let r = cli::Run::from(
        home.cmd(&["login", "--no-qr"])
            .env("VM_OIDC_ISSUER", "'http://idp.example.com/'")
            .env("VM_OIDC_CLIENT_ID", "cli")
            .output()
            .unwrap(),
    );
    r.expect_code(2)
        .expect_error("http://idp.example.com uses http");
}

#[tokio::test]
async fn issuer_mismatch_names_both_issuers() {
    let s = MockIdp::new()
        .metadata(|_| metadata("https://evil.example"))
        .start()
        .await;
    login(&Home::new(), &s.uri())
        .expect_code(2)
        .expect_error(&format!(
            "asked for {} but its metadata says https://evil.example",
            s.uri()
        ));
}

#[tokio::test]
async fn no_device_endpoint_is_explained() {
    let s = MockIdp::new()
        .metadata(|uri| {
            let mut m = metadata(uri);
            m.as_object_mut()
                .unwrap()
                .remove("device_authorization_endpoint");
            m
        })
        .start()
        .await;
    login(&Home::new(), &s.uri())
        .expect_code(2)
        .expect_error("does not support the device flow");
}

#[tokio::test]
async fn html_500_is_reported_without_the_page() {
    let s = MockIdp::new()
        .discovery(|_| {
            ResponseTemplate::new(500)
                .set_body_raw("<html><body>Internal error</body></html>", "text/html")
        })
        .start()
        .await;
    let r = login(&Home::new(), &s.uri());
    r.expect_code(1)
        .expect_error("answered HTTP 500 (text/html)");
    assert!(!r.stderr.contains("Internal error"));
}

#[tokio::test]
async fn malformed_json_is_reported() {
    let s = MockIdp::new()
        .discovery(|_| ResponseTemplate::new(200).set_body_raw("{\"issuer\": ", "application/json"))
        .start()
        .await;
    login(&Home::new(), &s.uri())
        .expect_code(1)
        .expect_error("malformed JSON");
}

#[tokio::test]
async fn no_metadata_anywhere_names_both_locations() {
    let s = MockIdp::bare().start().await;
    login(&Home::new(), &s.uri())
        .expect_code(2)
        .expect_error("oauth-authorization-server (HTTP 404)");
}

#[tokio::test]
async fn insecure_endpoint_in_metadata_is_refused() {
    let s = MockIdp::new()
        .metadata(|uri| {
            let mut m = metadata(uri);
            m["token_endpoint"] = json!("http://idp.example.com/token");
            m
        })
        .start()
        .await;
    login(&Home::new(), &s.uri())
        .expect_code(2)
        .expect_error("token endpoint http://idp.example.com/token uses http");
}

#[tokio::test]
async fn device_authorization_error_is_reported() {
    let s = idp_answering_device(|_| {
        ResponseTemplate::new(400).set_body_json(
            json!({"error": "invalid_request", "error_description": "missing parameter"}),
        )
    })
    .await;
    login(&Home::new(), &s.uri()).expect_code(1).expect_error(
        "device authorization failed: identity provider said: invalid_request (missing parameter)",
    );
}

/// A whole login against the mock, found through the RFC 8414 fallback: the
/// tokens land in the file, stdout stays empty, and nothing secret reaches stderr.
#[tokio::test]
async fn rfc8414_fallback_and_a_full_mock_login() {
    let s = MockIdp::bare()
        .get("/.well-known/oauth-authorization-server", |uri| {
            ResponseTemplate::new(200).set_body_json(metadata(uri))
        })
        .mount(|uri| {
            Mock::given(method("POST"))
                .and(path("/device/auth"))
                .and(body_string_contains("audience=https%3A%2F%2Fapi.example"))
                .and(body_string_contains("scope=openid+api"))
                .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                    "device_code": "DEVICE-SECRET", "user_code": "WDJB-MJHT",
                    "verification_url": format!("{uri}/activate"),
                    "expires_in": "600", "interval": 1
                })))
                .expect(1)
        })
        .mount(|_| {
            Mock::given(method("POST"))
                .and(path("/token"))
                .and(body_string_contains("device_code=DEVICE-SECRET"))
                .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                    "access_token": "AT-SECRET-1", "token_type": "Bearer", "expires_in": 3600,
                    "refresh_token": "RT-SECRET-1", "scope": "openid api"
                })))
                .expect(1)
        })
        .start()
        .await;
    let home = Home::new();
    let r = home.run(&[
        "login",
        "--issuer",
        &format!("{}/", s.uri()),
        "--client-id",
        "cli",
        "--audience",
        "https://api.example",
        "--scope",
        "openid,api",
    ]);
    r.expect_code(0);
    assert_eq!(r.stdout, "");
    assert!(
        r.stderr.contains("WDJB-MJHT"),
        "user code shown: {}",
        r.stderr
    );
    assert!(
        r.stderr.contains(&format!("{}/activate", s.uri())),
        "URL shown: {}",
        r.stderr
    );
    assert!(
        !r.stderr.contains('█') && !r.stderr.contains('▀'),
        "no QR when not a terminal"
    );
    assert!(
        !r.stderr.contains('\x1b'),
        "no ANSI codes when not a terminal"
    );
    for secret in ["AT-SECRET-1", "RT-SECRET-1", "DEVICE-SECRET"] {
        assert!(!r.stderr.contains(secret), "{secret} leaked: {}", r.stderr);
    }
    let doc = home.read_credentials();
    let key = format!("{}|cli|https://api.example", s.uri());
    assert_eq!(doc["version"], 1);
    assert_eq!(doc["credentials"][&key]["access_token"], "AT-SECRET-1");
    assert_eq!(doc["credentials"][&key]["audience"], "https://api.example");

    let t = home.run(&["token"]);
    t.expect_code(0);
    assert_eq!(t.stdout, "AT-SECRET-1\n");
    assert_eq!(t.stderr, "");
}

#[tokio::test]
async fn qr_on_request_when_not_a_terminal() {
    let s = MockIdp::new()
        .post("/device/auth", |uri| {
            ResponseTemplate::new(200).set_body_json(json!({
                "device_code": "d", "user_code": "QRQR-QRQR",
                "verification_uri": format!("{uri}/device"),
                "verification_uri_complete": format!("{uri}/device?user_code=QRQR-QRQR"),
                "expires_in": 600, "interval": 1
            }))
        })
        .post("/token", |_| {
            ResponseTemplate::new(400).set_body_json(json!({"error": "access_denied"}))
        })
        .start()
        .await;
    let r = Home::new().run(&["login", "--issuer", &s.uri(), "--client-id", "cli", "--qr"]);
    r.expect_code(5);
    assert!(
        r.stderr.contains('█') || r.stderr.contains('▀'),
        "QR shown: {}",
        r.stderr
    );
    assert!(r.stderr.contains("QRQR-QRQR"));
    assert!(
        r.stderr.lines().last().unwrap().contains("login denied"),
        "{}",
        r.stderr
    );
}

#[test]
fn token_without_login_fails_fast_with_exit_4_and_empty_stdout() {
    let home = Home::new();
    let r = home.run(&["token"]);
    r.expect_code(4)
        .expect_error("not logged in; run: vmauth login --issuer URL --client-id ID");
    assert_eq!(r.stdout, "");
    let r = home.run(&[
        "token",
        "--issuer",
        "https://idp.example",
        "--client-id",
        "cli",
    ]);
    r.expect_code(4)
        .expect_error("run: vmauth login --issuer https://idp.example --client-id cli");
}

#[test]
fn half_a_selector_is_a_usage_error() {
    Home::new()
        .run(&["token", "--issuer", "https://idp.example"])
        .expect_code(2)
        .expect_error("without --client-id");
}

#[test]
fn status_without_login() {
    let home = Home::new();
    home.run(&["status"])
        .expect_code(4)
        .expect_error("not logged in");
    let r = home.run(&["status", "--json", "--all"]);
    r.expect_code(4);
    let doc: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(doc, json!({"logins": []}));
}

#[test]
fn logout_without_login_is_a_no_op() {
    let r = Home::new().run(&["logout"]);
    r.expect_code(0);
    assert!(r.stderr.contains("nothing to remove"));
}

#[test]
fn corrupt_credentials_file_is_reported_and_kept() {
    let home = Home::new();
    std::fs::create_dir_all(home.credentials().parent().unwrap()).unwrap();
    std::fs::write(home.credentials(), "{oops").unwrap();
    set_mode(&home.credentials(), 0o600);
    home.run(&["token", "--issuer", "https://i.example", "--client-id", "c"])
        .expect_code(1)
        .expect_error("is not a valid credentials file");
    assert_eq!(
        std::fs::read_to_string(home.credentials()).unwrap(),
        "{oops"
    );
}

#[test]
fn bad_min_ttl_is_a_usage_error() {
    let r = Home::new().run(&["token", "--min-ttl", "soon"]);
    r.expect_code(2);
    assert!(r.stderr.contains("is not a duration"), "{}", r.stderr);
}

#[test]
fn help_documents_exit_codes_and_version_works() {
    let home = Home::new();
    let r = home.run(&["--help"]);
    r.expect_code(0);
    assert!(
        r.stdout.contains("Exit codes:") && r.stdout.contains("130"),
        "{}",
        r.stdout
    );
    home.run(&["--version"]).expect_code(0);
    home.run(&[]).expect_code(2);
}

fn set_mode(p: &std::path::Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
}

#[test]
fn world_readable_credentials_are_tightened_with_a_warning() {
    let home = Home::new();
    let dir = home.credentials().parent().unwrap().to_path_buf();
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        home.credentials(),
        r#"{"version":1,"credentials":{"https://i.example|c":{"issuer":"https://i.example","client_id":"c","access_token":"AT","refresh_token":null,"id_token":null,"expires_at":"2999-01-01T00:00:00+00:00"}}}"#,
    )
    .unwrap();
    set_mode(&home.credentials(), 0o644);
    let r = home.run(&["token", "--issuer", "https://i.example", "--client-id", "c"]);
    r.expect_code(0);
    assert_eq!(r.stdout, "AT\n");
    assert!(
        r.stderr
            .contains("was readable by other users (mode 644); changed it to 600"),
        "{}",
        r.stderr
    );
    assert_eq!(cli::mode(&home.credentials()), 0o600);
}

#[tokio::test]
async fn verification_url_must_be_a_web_page() {
    let s = idp_answering_device(|_| {
        ResponseTemplate::new(200).set_body_json(json!({
            "device_code": "d", "user_code": "U-1",
            "verification_uri": "file:///etc/passwd", "expires_in": 600
        }))
    })
    .await;
    let r = login(&Home::new(), &s.uri());
    r.expect_code(1)
        .expect_error("verification_uri file:///etc/passwd has scheme \"file\"");
}

#[tokio::test]
async fn redirects_that_would_resend_a_body_are_not_followed() {
    let other = MockIdp::bare()
        .mount(|_| {
            Mock::given(method("POST"))
                .respond_with(
                    ResponseTemplate::new(200).set_body_json(json!({"device_code": "stolen"})),
                )
                .expect(0)
        })
        .start()
        .await;
    let elsewhere = format!("{}/elsewhere", other.uri());
    let s = idp_answering_device(move |_| {
        ResponseTemplate::new(307).insert_header("location", elsewhere)
    })
    .await;
    login(&Home::new(), &s.uri())
        .expect_code(1)
        .expect_error("answered HTTP 307");
}

#[test]
fn server_text_in_status_cannot_drive_the_terminal() {
    let home = Home::new();
    std::fs::create_dir_all(home.credentials().parent().unwrap()).unwrap();
    std::fs::write(
        home.credentials(),
        r#"{"version":1,"credentials":{"https://i.example|c":{"issuer":"https://i.example","client_id":"c","access_token":"AT","refresh_token":"RT","id_token":null,"expires_at":"2999-01-01T00:00:00Z","scope":"openid \u001b]0;PWNED\u0007 \u202eevil"}}}"#,
    )
    .unwrap();
    set_mode(&home.credentials(), 0o600);
    let r = home.run(&[
        "status",
        "--issuer",
        "https://i.example",
        "--client-id",
        "c",
    ]);
    r.expect_code(0);
    assert!(r.stderr.contains("scopes:   openid"), "{}", r.stderr);
    assert!(
        !r.stderr.contains('\x1b') && !r.stderr.contains('\x07') && !r.stderr.contains('\u{202e}'),
        "{:?}",
        r.stderr
    );
}

#[test]
fn a_named_directory_writable_by_others_is_refused_and_left_alone() {
    let home = Home::new();
    let shared = home.dir.path().join("shared");
    std::fs::create_dir_all(&shared).unwrap();
    set_mode(&shared, 0o777);
    let r = cli::Run::from(
        home.cmd(&["logout", "--all"])
            .env("VMAUTH_CONFIG_DIR", &shared)
            .output()
            .unwrap(),
    );
    // Refused for reads too: the directory could hold a planted config.toml.
    r.expect_code(1)
        .expect_error("is writable by other users (mode 777)");
    let r = cli::Run::from(
        home.cmd(&[
            "token",
            "--client-credentials",
            "--issuer",
            "https://idp.invalid",
            "--client-id",
            "c",
        ])
        .env("VMAUTH_CONFIG_DIR", &shared)
        .env("VMAUTH_CLIENT_SECRET", "s")
        .output()
        .unwrap(),
    );
    r.expect_code(1)
        .expect_error("is writable by other users (mode 777)");
    assert_eq!(cli::mode(&shared), 0o777, "never chmod-ed");
}

/// private_key_jwt with --assertion-audience issuer: the assertion's `aud` is the
/// issuer exactly as the metadata publishes it (Auth0 keeps a trailing slash).
#[tokio::test]
async fn assertion_audience_can_be_the_published_issuer() {
    let s = MockIdp::new()
        .metadata(|uri| {
            let mut m = metadata(uri);
            m["issuer"] = json!(format!("{uri}/"));
            m
        })
        .mount(|_| {
            Mock::given(method("POST"))
                .and(path("/token"))
                .and(body_string_contains("client_assertion_type="))
                .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                    "access_token": "AT-1", "token_type": "Bearer", "expires_in": 60
                })))
                .expect(1)
        })
        .start()
        .await;
    let key = format!(
        "{}/tests/idp/keys/vmauth-ci-jwt.private.pem",
        env!("CARGO_MANIFEST_DIR")
    );
    let r = Home::new().run(&[
        "token",
        "--client-credentials",
        "--issuer",
        &s.uri(),
        "--client-id",
        "ci",
        "--private-key",
        &key,
        "--assertion-audience",
        "issuer",
    ]);
    r.expect_code(0);
    let requests = s.received_requests().await.unwrap();
    let body = String::from_utf8(requests.last().unwrap().body.clone()).unwrap();
    let assertion = url::form_urlencoded::parse(body.as_bytes())
        .find(|(k, _)| k == "client_assertion")
        .map(|(_, v)| v.into_owned())
        .unwrap();
    let payload = assertion.split('.').nth(1).unwrap();
    use base64::Engine;
    let claims: serde_json::Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap();
    assert_eq!(claims["aud"], format!("{}/", s.uri()));
    assert_eq!(claims["iss"], "ci");
    assert_eq!(claims["sub"], "ci");
    assert!(claims["jti"].as_str().is_some_and(|j| j.len() >= 16));
    assert!(claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap() <= 120);
}

/// An unsigned JWT with these claims (vmauth reads ID-token claims without the
/// signature; the tests only need the payload).
/// A JWT of `claims` (with `iat` and `exp` around now unless given), signed
/// RS256 with the project's test key, whose public half [`serve_jwks`] publishes.
fn jwt(mut claims: serde_json::Value) -> String {
    use base64::Engine;
    use rustls_pki_types::PrivateKeyDer;
    use rustls_pki_types::pem::PemObject;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    claims["iat"] = claims.get("iat").cloned().unwrap_or(now.into());
    claims["exp"] = claims.get("exp").cloned().unwrap_or((now + 3600).into());
    let b64 = |b: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b);
    let input = format!(
        "{}.{}",
        b64(json!({"alg": "RS256", "kid": "test-key"})
            .to_string()
            .as_bytes()),
        b64(claims.to_string().as_bytes())
    );
    let pem = std::fs::read("tests/idp/keys/vmauth-ci-jwt.private.pem").unwrap();
    let key = match PrivateKeyDer::from_pem_slice(&pem).unwrap() {
        PrivateKeyDer::Pkcs8(k) => ring::signature::RsaKeyPair::from_pkcs8(k.secret_pkcs8_der()),
        PrivateKeyDer::Pkcs1(k) => ring::signature::RsaKeyPair::from_der(k.secret_pkcs1_der()),
        _ => panic!("the test key is RSA"),
    }
    .unwrap();
    let mut sig = vec![0; key.public().modulus_len()];
    key.sign(
        &ring::signature::RSA_PKCS1_SHA256,
        &ring::rand::SystemRandom::new(),
        input.as_bytes(),
        &mut sig,
    )
    .unwrap();
    format!("{input}.{}", b64(&sig))
}

/// Publish the test key's public half at `/jwks` (as `metadata` names it).
/// The test key set, with the test key under `test-key`.
fn test_jwks() -> serde_json::Value {
    let mut set: serde_json::Value = serde_json::from_slice(
        &std::fs::read("tests/idp/keys/vmauth-ci-jwt.public.jwks.json").unwrap(),
    )
    .unwrap();
    set["keys"][0]["kid"] = "test-key".into();
    set
}

/// A stored login for `issuer` whose access token has expired.
fn expired_login(home: &Home, issuer: &str) {
    let id_token = jwt(json!({"iss": issuer, "aud": "cli", "sub": "alice"}));
    let doc = json!({"version": 1, "credentials": {format!("{issuer}|cli"): {
        "issuer": issuer, "client_id": "cli", "access_token": "AT-OLD",
        "refresh_token": "RT-OLD", "id_token": id_token,
        "expires_at": "2000-01-01T00:00:00Z"
    }}});
    std::fs::create_dir_all(home.credentials().parent().unwrap()).unwrap();
    std::fs::write(home.credentials(), doc.to_string()).unwrap();
    set_mode(&home.credentials(), 0o600);
}

async fn idp_answering_refresh(
    answer: impl FnOnce(&str) -> ResponseTemplate + 'static,
) -> MockServer {
    MockIdp::new()
        .get("/jwks", |_| {
            ResponseTemplate::new(200).set_body_json(test_jwks())
        })
        .mount(|uri| {
            Mock::given(method("POST"))
                .and(path("/token"))
                .and(body_string_contains("grant_type=refresh_token"))
                .and(body_string_contains("refresh_token=RT-OLD"))
                .respond_with(answer(uri))
                .expect(1)
        })
        .start()
        .await
}

#[tokio::test]
async fn refresh_refused_for_interaction_needs_a_new_login() {
    let s = idp_answering_refresh(|_| {
        ResponseTemplate::new(400).set_body_json(
            json!({"error": "interaction_required", "error_description": "MFA required"}),
        )
    })
    .await;
    let home = Home::new();
    expired_login(&home, &s.uri());
    let r = home.run(&["token", "--issuer", &s.uri(), "--client-id", "cli"]);
    r.expect_code(4).expect_error(&format!(
        "the login has expired or was revoked (interaction_required); run: vmauth login --issuer {} --client-id cli",
        s.uri()
    ));
    assert_eq!(r.stdout, "");
}

#[tokio::test]
async fn refreshed_id_token_for_another_subject_is_refused() {
    let s = idp_answering_refresh(|uri| {
        ResponseTemplate::new(200).set_body_json(json!({
            "access_token": "AT-NEW", "token_type": "Bearer", "expires_in": 3600,
            "refresh_token": "RT-NEW",
            "id_token": jwt(json!({"iss": uri, "aud": "cli", "sub": "mallory"}))
        }))
    })
    .await;
    let home = Home::new();
    expired_login(&home, &s.uri());
    let r = home.run(&["token", "--issuer", &s.uri(), "--client-id", "cli"]);
    r.expect_code(1).expect_error(
        "refusing the refreshed tokens: the ID token: its subject differs from the logged-in user",
    );
    assert_eq!(r.stdout, "");
    // The stored login is left as it was, not replaced by the other subject's tokens.
    assert!(
        std::fs::read_to_string(home.credentials())
            .unwrap()
            .contains("RT-OLD")
    );
}

#[tokio::test]
async fn refresh_without_a_new_refresh_token_keeps_the_old_one() {
    let s = idp_answering_refresh(|_| {
        ResponseTemplate::new(200).set_body_json(json!({
            "access_token": "AT-NEW", "token_type": "Bearer", "expires_in": 3600
        }))
    })
    .await;
    let home = Home::new();
    expired_login(&home, &s.uri());
    let r = home.run(&["token", "--issuer", &s.uri(), "--client-id", "cli"]);
    r.expect_code(0);
    assert_eq!(r.stdout, "AT-NEW\n");
    let doc = home.read_credentials();
    let entry = &doc["credentials"][format!("{}|cli", s.uri())];
    assert_eq!(entry["refresh_token"], "RT-OLD", "RFC 6749 6: keep it");
    assert!(
        entry["id_token"].as_str().is_some(),
        "the old ID token is kept too"
    );
}

#[test]
fn closed_standard_streams_are_opened_on_dev_null() {
    // Started with stdin and stdout closed, vmauth must not let a file it opens
    // take descriptor 0 or 1 (the token printed "on stdout" would land in it):
    // they are opened on /dev/null at start, as `vmauth exec`'s command sees.
    let home = Home::new();
    let issuer = "https://idp.example.com";
    let doc = json!({"version": 1, "credentials": {format!("{issuer}|cli"): {
        "issuer": issuer, "client_id": "cli", "access_token": "AT",
        "expires_at": "2999-01-01T00:00:00Z"
    }}});
    std::fs::create_dir_all(home.credentials().parent().unwrap()).unwrap();
    std::fs::write(home.credentials(), doc.to_string()).unwrap();
    set_mode(&home.credentials(), 0o600);
    let cmd = home.cmd(&[]);
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(r#"exec "$0" exec --issuer "$1" --client-id cli -- readlink /proc/self/fd/0 /proc/self/fd/1 <&- >&-"#)
        .arg(cmd.get_program())
        .arg(issuer)
        .envs(cmd.get_envs().filter_map(|(k, v)| Some((k, v?))))
        .stderr(std::process::Stdio::piped())
        .output()
        .unwrap();
    // readlink (quiet on failure) succeeds only if both descriptors are open:
    // its output goes to /dev/null.
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
}

#[tokio::test]
async fn a_refused_redirect_says_so() {
    let s = MockIdp::new()
        .discovery(|_| {
            ResponseTemplate::new(302).insert_header(
                "location",
                "http://idp.example.com/.well-known/openid-configuration",
            )
        })
        .start()
        .await;
    login(&Home::new(), &s.uri())
        .expect_code(1)
        .expect_error("redirect to http://idp.example.com/.well-known/openid-configuration refused: vmauth follows redirects only to https");
}

/// Store one login for `issuer` in `home`'s credentials file.
fn store_login(home: &Home, key: &str, entry: serde_json::Value) {
    std::fs::create_dir_all(home.credentials().parent().unwrap()).unwrap();
    std::fs::write(
        home.credentials(),
        json!({"version": 1, "credentials": {key: entry}}).to_string(),
    )
    .unwrap();
    set_mode(&home.credentials(), 0o600);
}

/// Assert that none of `secrets` reached stderr (or stdout) and that the
/// redaction marker did.
fn assert_scrubbed(r: &cli::Run, secrets: &[&str]) {
    for s in secrets {
        assert!(
            !r.stderr.contains(s) && !r.stdout.contains(s),
            "{s:?} leaked:\n{}{}",
            r.stdout,
            r.stderr
        );
    }
    assert!(r.stderr.contains("[redacted]"), "{}", r.stderr);
}

#[tokio::test]
async fn a_client_secret_echoed_by_the_server_is_scrubbed() {
    let secret = "s3cr3t+with/specials=";
    let encoded = "s3cr3t%2Bwith%2Fspecials%3D";
    use base64::Engine;
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("ci:{encoded}"));
    let header = format!(
        r#"Basic error="invalid_client", error_description="got {secret} as Basic {basic}""#
    );
    let s = MockIdp::new()
        .post("/token", |_| {
            ResponseTemplate::new(401)
                .insert_header("www-authenticate", header)
                .set_body_string("no")
        })
        .start()
        .await;
    let home = Home::new();
    let r = cli::Run::from(
        home.cmd(&cli::cc_args(&s.uri(), "ci"))
            .env("VMAUTH_CLIENT_SECRET", secret)
            .output()
            .unwrap(),
    );
    r.expect_code(2);
    assert_scrubbed(&r, &[secret, encoded, &basic]);
    // The same in an OAuth JSON error, with client_secret_post.
    let s2 = MockIdp::new()
        .post("/token", move |_| {
            ResponseTemplate::new(400).set_body_json(json!({
                "error": "invalid_client",
                "error_description": format!("client_secret={encoded} ({secret}) is wrong"),
            }))
        })
        .start()
        .await;
    let uri2 = s2.uri();
    let mut args = cli::cc_args(&uri2, "ci");
    args.extend(["--client-auth", "client_secret_post"]);
    let r = cli::Run::from(
        home.cmd(&args)
            .env("VMAUTH_CLIENT_SECRET", secret)
            .output()
            .unwrap(),
    );
    r.expect_code(2);
    assert_scrubbed(&r, &[secret, encoded]);
}

#[tokio::test]
async fn tokens_echoed_in_refresh_and_revocation_errors_are_scrubbed() {
    let (at, rt, idt) = (
        "access-token-AAAA",
        "refresh-token-RRRR",
        "e30.e30.id-token-IIII",
    );
    let s = MockIdp::new()
        .post("/token", move |_| {
            ResponseTemplate::new(400).set_body_json(json!({
                "error": format!("weird_{rt}"),
                "error_description": format!("refresh {rt} for {at} and {idt} refused"),
            }))
        })
        .post("/revoke", move |_| {
            ResponseTemplate::new(400).set_body_json(json!({
                "error": "invalid_request",
                "error_description": format!("cannot revoke {rt} / {at}"),
            }))
        })
        .start()
        .await;
    let home = Home::new();
    let key = format!("{}|cli", s.uri());
    let entry = json!({
        "issuer": s.uri(), "client_id": "cli", "access_token": at, "refresh_token": rt,
        "id_token": idt, "expires_at": "2000-01-01T00:00:00Z",
    });
    store_login(&home, &key, entry);
    let r = home.run(&["token", "--issuer", &s.uri(), "--client-id", "cli"]);
    r.expect_code(1);
    assert_scrubbed(&r, &[at, rt, idt]);
    let r = home.run(&["logout", "--issuer", &s.uri(), "--client-id", "cli"]);
    r.expect_code(0);
    assert!(r.stderr.contains("NOT revoked"), "{}", r.stderr);
    assert_scrubbed(&r, &[at, rt]);
}

#[tokio::test]
async fn an_entry_that_disagrees_with_its_key_is_refused() {
    // A planted entry under the key of a real login, naming another issuer.
    let evil = idp_expecting_no_post().await;
    let home = Home::new();
    let key = "https://idp.example.com|cli";
    store_login(
        &home,
        key,
        json!({"issuer": evil.uri(), "client_id": "cli", "access_token": "at-1234",
               "refresh_token": "rt-1234", "id_token": null, "expires_at": "2000-01-01T00:00:00Z"}),
    );
    let sel = ["--issuer", "https://idp.example.com", "--client-id", "cli"];
    let mut args = vec!["token"];
    args.extend(sel);
    home.run(&args)
        .expect_code(1)
        .expect_error(&format!("the stored login \"{key}\""))
        .expect_error("which does not match its key, so it was not used; log in again (vmauth login --issuer https://idp.example.com --client-id cli) or remove it");
    // status skips it with a warning; logout removes it without revoking at its issuer.
    let r = home.run(&["status", "--all"]);
    assert!(
        r.stderr.contains("skipping the stored login"),
        "{}",
        r.stderr
    );
    let mut args = vec!["logout"];
    args.extend(sel);
    home.run(&args).expect_code(0);
    assert_eq!(home.read_credentials()["credentials"], json!({}));
    // A client id that disagrees is refused too.
    store_login(
        &home,
        key,
        json!({"issuer": "https://idp.example.com", "client_id": "other", "access_token": "at-1234",
               "refresh_token": null, "id_token": null, "expires_at": "2999-01-01T00:00:00Z"}),
    );
    let mut args = vec!["token"];
    args.extend(sel);
    home.run(&args)
        .expect_code(1)
        .expect_error("names the client \"other\"");
}

#[test]
fn a_credentials_directory_others_can_write_is_refused_for_reads() {
    let home = Home::new();
    let key = "https://idp.example.com|cli";
    store_login(
        &home,
        key,
        json!({"issuer": "https://idp.example.com", "client_id": "cli", "access_token": "at-1234",
               "refresh_token": null, "id_token": null, "expires_at": "2999-01-01T00:00:00Z"}),
    );
    set_mode(home.credentials().parent().unwrap(), 0o777);
    home.run(&[
        "token",
        "--issuer",
        "https://idp.example.com",
        "--client-id",
        "cli",
    ])
    .expect_code(1)
    .expect_error("is writable by other users (mode 777)");
    // With the sticky bit (like /tmp) others cannot replace its files.
    set_mode(home.credentials().parent().unwrap(), 0o1777);
    let r = home.run(&[
        "token",
        "--issuer",
        "https://idp.example.com",
        "--client-id",
        "cli",
    ]);
    r.expect_code(0);
    assert_eq!(r.stdout, "at-1234\n");
}

#[tokio::test]
async fn logout_keeps_its_time_bound_for_the_whole_revocation() {
    // Each revocation takes 3 s: under the 5 s per-request timeout, but both
    // together are over the 5 s the whole logout may take.
    let s = MockIdp::new()
        .post("/revoke", |_| {
            ResponseTemplate::new(200).set_delay(std::time::Duration::from_secs(3))
        })
        .start()
        .await;
    let home = Home::new();
    store_login(
        &home,
        &format!("{}|cli", s.uri()),
        json!({"issuer": s.uri(), "client_id": "cli", "access_token": "at-1234",
               "refresh_token": "rt-1234", "id_token": null, "expires_at": "2999-01-01T00:00:00Z"}),
    );
    let started = std::time::Instant::now();
    let r = home.run(&["logout", "--issuer", &s.uri(), "--client-id", "cli"]);
    r.expect_code(0);
    assert!(
        started.elapsed() < std::time::Duration::from_millis(5900),
        "{:?}",
        started.elapsed()
    );
    assert!(
        r.stderr.contains("revocation timed out; removed locally"),
        "{}",
        r.stderr
    );
    assert_eq!(home.read_credentials()["credentials"], json!({}));
}

#[tokio::test]
async fn a_damaged_private_key_is_named_when_loaded() {
    let s = idp_expecting_no_post().await;
    let home = Home::new();
    let pem = std::fs::read_to_string("tests/idp/keys/vmauth-ci-jwt.private.pem").unwrap();
    // Flip characters in the middle of the key material (the PEM stays well-formed).
    let mut lines: Vec<String> = pem.lines().map(str::to_string).collect();
    let mid = lines.len() / 2;
    lines[mid] = lines[mid].chars().rev().collect();
    let path = home.dir.path().join("damaged.pem");
    std::fs::write(&path, lines.join("\n")).unwrap();
    let uri = s.uri();
    let mut args = cli::cc_args(&uri, "ci");
    let p = path.to_str().unwrap();
    args.extend(["--private-key", p]);
    // Refused when loaded, before any token request.
    home.run(&args)
        .expect_code(2)
        .expect_error("key is damaged or not usable");
}

#[test]
fn the_keychain_notice_names_the_cause_in_a_few_words() {
    let run = |home: &Home, args: &[&str]| {
        cli::Run::from(
            home.cmd(args)
                .env("VMAUTH_STORE", "auto")
                .env(
                    "DBUS_SESSION_BUS_ADDRESS",
                    "unix:path=/nonexistent/vmauth-test-bus",
                )
                .output()
                .unwrap(),
        )
    };
    // A command that only reads says nothing about where logins would go
    // (the choice is remembered, so the keychain is not probed again).
    let home = Home::new();
    let r = run(
        &home,
        &[
            "token",
            "--issuer",
            "https://idp.example",
            "--client-id",
            "c",
        ],
    );
    r.expect_code(4);
    assert!(!r.stderr.contains("keychain"), "{}", r.stderr);
    let state = std::fs::read_to_string(home.config_dir().join("state.json")).unwrap();
    assert!(state.contains("\"auto_store\": \"file\""), "{state}");
    // A login, the command that stores something, says it.
    let r = run(
        &Home::new(),
        &[
            "login",
            "--issuer",
            "https://idp.invalid",
            "--client-id",
            "c",
        ],
    );
    assert!(
        r.stderr
            .contains("no usable OS keychain (no D-Bus session bus)"),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains("zbus"), "{}", r.stderr);
}

#[tokio::test]
async fn a_loopback_issuer_is_never_reached_through_a_proxy() {
    let s = idp_answering_refresh(|_| {
        ResponseTemplate::new(200).set_body_json(json!({
            "access_token": "AT-NEW", "token_type": "Bearer", "expires_in": 3600,
            "refresh_token": "RT-NEW"
        }))
    })
    .await;
    // A "proxy" that would see the refresh token in cleartext and answer for
    // the issuer: it must get nothing.
    let proxy = MockIdp::bare()
        .mount(|_| {
            Mock::given(wiremock::matchers::any()).respond_with(
                ResponseTemplate::new(200).set_body_json(json!({
                    "access_token": "FROM-PROXY", "token_type": "Bearer", "expires_in": 3600
                })),
            )
        })
        .start()
        .await;
    let home = Home::new();
    expired_login(&home, &s.uri());
    for var in ["http_proxy", "HTTP_PROXY", "ALL_PROXY", "all_proxy"] {
        let r = cli::Run::from(
            home.cmd(&[
                "token",
                "--force-refresh",
                "--issuer",
                &s.uri(),
                "--client-id",
                "cli",
            ])
            .env(var, proxy.uri())
            .env_remove("NO_PROXY")
            .env_remove("no_proxy")
            .output()
            .unwrap(),
        );
        r.expect_code(0);
        assert_eq!(r.stdout, "AT-NEW\n", "{var}");
    }
    assert_eq!(proxy.received_requests().await.unwrap().len(), 0);
}

#[tokio::test]
async fn an_unknown_client_id_is_a_configuration_error_with_what_to_check() {
    let s = idp_answering_device(|_| {
        ResponseTemplate::new(401).set_body_json(json!({
            "error": "invalid_client", "error_description": "client authentication failed"
        }))
    })
    .await;
    let r = Home::new().run(&[
        "login",
        "--issuer",
        &s.uri(),
        "--client-id",
        "no-such-client",
        "--no-qr",
    ]);
    r.expect_code(2).expect_error(
        "the identity provider refused client \"no-such-client\" (identity provider said: invalid_client (client authentication failed)); check that it is the client id registered at the provider, and that the client is a public client (no secret) with the device code grant enabled",
    );
}
