//! In-process tests of every command through the test `Io`: captured stdout and
//! stderr, terminal or not, a fake clock, a fixed environment and a file store in
//! a temporary directory; an in-process mock identity provider where the network
//! is needed (the harness is in `src/testing/harness.rs`).

use std::rc::Rc;
use std::time::Duration;

use serde_json::{Value, json};
use wiremock::matchers::{body_string_contains, header_exists, method, path};
use wiremock::{Mock, ResponseTemplate};

use crate::io::TestIo;
use crate::testing::harness::*;

/// Discovery naming only a token endpoint (no device, revocation or key set).
fn token_only_metadata(uri: &str) -> Value {
    json!({"issuer": uri, "token_endpoint": format!("{uri}/token")})
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
            .contains("To sign in, open this page in a browser (it is on 127.0.0.1):"),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains("warning"), "{}", r.stderr);
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
fn a_stored_login_whose_key_no_login_can_have_is_not_used() {
    // Written by hand (not by `vmauth login`, which refuses such an issuer):
    // a tab in the issuer, which URL parsing would silently drop.
    let h = Harness::new();
    h.store("http://127.0.\t0.1:9", "at-planted", Some("rt"), 3600);
    let r = h.run(&["token"]);
    assert_eq!((r.code, r.stdout.as_str()), (1, ""), "{r:?}");
    assert!(
        r.stderr.contains("is stored under a key no login can have"),
        "{}",
        r.stderr
    );
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
fn status_reads_the_store_once() {
    let h = Harness::new();
    h.store("https://a.example.com", "at", Some("rt"), 125);
    for i in 0..5 {
        h.add(&format!("https://b{i}.example.com"), "at", 60);
    }
    let count = |args: &[&str]| {
        let reads = Rc::new(std::cell::Cell::new(0));
        let r = h.run_wrapped(args, |inner| {
            Box::new(CountingReads {
                inner,
                reads: reads.clone(),
            })
        });
        assert_eq!(r.code, 0, "{r:?}");
        (reads.get(), r.stdout)
    };
    let (reads, out) = count(&["status", "--all", "--json"]);
    assert_eq!(reads, 1, "one read for six logins");
    let doc: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(doc["logins"].as_array().map(Vec::len), Some(6));
    assert!(
        doc["logins"]
            .as_array()
            .unwrap()
            .iter()
            .all(|l| l["store"] == "file")
    );
    let (reads, _) = count(&["status", "--json"]);
    assert_eq!(reads, 1, "one read for the current login");
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
    let s = rt().block_on(
        MockIdp::new()
            .metadata(token_only_metadata)
            .mount(|_| {
                Mock::given(method("POST"))
                    .and(path("/token"))
                    .and(header_exists("authorization"))
                    .and(body_string_contains("grant_type=client_credentials"))
                    .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                        "access_token": "cc-token", "token_type": "Bearer", "expires_in": 600,
                    })))
            })
            .start(),
    );
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
    let s = rt().block_on(
        MockIdp::new()
            .metadata(token_only_metadata)
            .post("/o/device-authorization/", |uri| {
                ResponseTemplate::new(200).set_body_json(json!({
                    "device_code": "dev-1", "user_code": "ABCD-EFGH",
                    "verification_uri": format!("{uri}/activate"), "expires_in": 600, "interval": 5,
                }))
            })
            .post("/token", |_| {
                ResponseTemplate::new(200).set_body_json(json!({
                    "access_token": "at-django", "refresh_token": "rt", "expires_in": 3600,
                }))
            })
            .start(),
    );
    let r = h.run(&["login", "--issuer", &s.uri(), "--client-id", "cli"]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(
        r.stderr.contains("does not support the device flow")
            && r.stderr
                .contains("set device_authorization_endpoint in a profile")
            && !r.stderr.contains("enable the device code grant"),
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

#[test]
fn a_token_echoed_by_the_userinfo_endpoint_is_scrubbed() {
    let h = Harness::new();
    let long = format!("at-{}", "x".repeat(300));
    let challenge =
        format!(r#"Bearer error="invalid_token", error_description="token {long} expired""#);
    let s = rt().block_on(
        MockIdp::new()
            .metadata(|uri| {
                json!({
                    "issuer": uri, "token_endpoint": format!("{uri}/token"),
                    "device_authorization_endpoint": format!("{uri}/device"),
                    "userinfo_endpoint": format!("{uri}/userinfo"),
                })
            })
            .post("/device", |uri| {
                ResponseTemplate::new(200).set_body_json(json!({
                    "device_code": "dev-1", "user_code": "ABCD-EFGH",
                    "verification_uri": format!("{uri}/activate"), "expires_in": 600, "interval": 5,
                }))
            })
            .post("/token", move |_| {
                ResponseTemplate::new(200).set_body_json(json!({
                    "access_token": long, "refresh_token": "rt-secret-123", "scope": "openid",
                }))
            })
            .get("/userinfo", |_| {
                ResponseTemplate::new(401).insert_header("www-authenticate", challenge)
            })
            .start(),
    );
    let r = h.run(&["login", "--issuer", &s.uri(), "--client-id", "cli"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stderr.contains("cannot tell who logged in"),
        "{}",
        r.stderr
    );
    assert!(
        !r.stderr.contains("xxxxxxxxxxxx"),
        "a piece of the token leaked: {}",
        r.stderr
    );
    assert!(r.stderr.contains("[redacted]"), "{}", r.stderr);
}

#[test]
fn argument_errors_do_not_repeat_a_stray_value() {
    let h = Harness::new();
    let r = h.run(&["token", "--client-secret-stdin", "s3cr3t-value"]);
    assert_eq!(r.code, 2);
    assert!(!r.stderr.contains("s3cr3t-value"), "{}", r.stderr);
    assert!(
        r.stderr
            .contains("unexpected argument (a value where none belongs"),
        "{}",
        r.stderr
    );
}

#[test]
fn endpoint_overrides_apply_only_to_the_selected_profiles_login_and_host() {
    let h = Harness::new();
    let s = idp();
    let uri = s.uri();
    rt().block_on(async {
        Mock::given(method("POST"))
            .and(path("/elsewhere"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "access_token": "at-elsewhere", "refresh_token": "rt-e", "expires_in": 3600,
            })))
            .mount(&s)
            .await;
    });
    h.store(&uri, "at-old", Some("rt-old"), -1);
    let config = h.dir.path().join("config/config.toml");
    let profile = |endpoint: &str, trusted: &str| {
        std::fs::write(
            &config,
            format!(
                "[profiles.other]\nissuer = \"{uri}\"\nclient_id = \"cli\"\ntoken_endpoint = \"{endpoint}\"\n{trusted}"
            ),
        )
        .unwrap();
    };
    // A profile that was not selected does not redirect the login's refresh,
    // even though it names the same issuer and client.
    profile(&format!("{uri}/elsewhere"), "");
    let r = h.run(&[
        "token",
        "--force-refresh",
        "--issuer",
        &uri,
        "--client-id",
        "cli",
    ]);
    assert_eq!((r.code, r.stdout.as_str()), (0, "at-refreshed\n"), "{r:?}");
    assert_eq!(requests(&s, "/elsewhere"), 0);
    // Selected, it does (same host as the issuer: no notice).
    let r = h.run(&["token", "--force-refresh", "--profile", "other"]);
    assert_eq!((r.code, r.stdout.as_str()), (0, "at-elsewhere\n"), "{r:?}");
    assert_eq!(requests(&s, "/elsewhere"), 1);
    assert!(!r.stderr.contains("trusted_endpoint_hosts"), "{}", r.stderr);
    // On another host than the issuer's: refused unless the profile trusts it.
    let other_host = uri.replace("127.0.0.1", "localhost");
    profile(&format!("{other_host}/elsewhere"), "");
    let r = h.run(&["token", "--force-refresh", "--profile", "other"]);
    assert_eq!((r.code, r.stdout.as_str()), (2, ""), "{r:?}");
    assert!(
        r.stderr.contains(
            "profile \"other\" sets token_endpoint on localhost, not on the issuer's host 127.0.0.1"
        ) && r
            .stderr
            .contains("add trusted_endpoint_hosts = [\"localhost\"] to [profiles.other]"),
        "{}",
        r.stderr
    );
    assert_eq!(requests(&s, "/elsewhere"), 1);
    // The issuer's host on another port (which another user may own): refused too.
    profile("http://127.0.0.1:1/elsewhere", "");
    let r = h.run(&["token", "--force-refresh", "--profile", "other"]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(
        r.stderr
            .contains("sets token_endpoint on 127.0.0.1:1, not on the issuer's port")
            && r.stderr
                .contains("trusted_endpoint_hosts = [\"127.0.0.1:1\"]"),
        "{}",
        r.stderr
    );
    profile(
        &format!("{other_host}/elsewhere"),
        "trusted_endpoint_hosts = [\"localhost\"]\n",
    );
    let r = h.run(&["token", "--force-refresh", "--profile", "other"]);
    assert_eq!((r.code, r.stdout.as_str()), (0, "at-elsewhere\n"), "{r:?}");
    assert!(
        r.stderr
            .contains("the token_endpoint is on localhost, not on the issuer's host 127.0.0.1"),
        "{}",
        r.stderr
    );
}

#[test]
fn an_access_token_revoked_with_its_refresh_token_is_reported_as_already_invalid() {
    let h = Harness::new();
    // Revoking the refresh token revokes its access tokens; the provider then
    // calls the access token itself invalid (RFC 7009 §2.2: as good as revoked).
    let s = rt().block_on(
        MockIdp::new()
            .mount(|_| {
                Mock::given(method("POST"))
                    .and(path("/revoke"))
                    .and(body_string_contains("token_type_hint=access_token"))
                    .respond_with(ResponseTemplate::new(400).set_body_json(
                        json!({"error": "invalid_request", "error_description": "Invalid access token"}),
                    ))
            })
            .post("/revoke", |_| ResponseTemplate::new(200))
            .start(),
    );
    h.store(&s.uri(), "at", Some("rt"), 3600);
    let r = h.run(&["logout"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stderr.contains(
            "refresh token revoked, access token already invalid (revoked with the refresh token), removed locally"
        ),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains("NOT revoked"), "{}", r.stderr);
    // Without a refresh token revoked first, the same answer is a failure.
    h.store(&s.uri(), "at", None, 3600);
    let r = h.run(&["logout"]);
    assert!(
        r.stderr.contains("access token NOT revoked"),
        "{}",
        r.stderr
    );
}

#[test]
fn logout_all_names_the_audience_of_each_login() {
    let h = Harness::new();
    let s = idp();
    let uri = s.uri();
    let mut doc = json!({"version": 1, "credentials": {}});
    for aud in ["https://a.example", "https://b.example"] {
        doc["credentials"][format!("{uri}|cli|{aud}")] = json!({
            "issuer": uri, "client_id": "cli", "audience": aud, "access_token": "at",
            "expires_at": crate::credential::timestamp::format(NOW + 3600),
        });
    }
    std::fs::create_dir_all(h.dir.path().join("vm")).unwrap();
    h.put_credentials(&doc);
    let r = h.run(&["logout", "--all"]);
    assert_eq!(r.code, 0, "{r:?}");
    for aud in ["https://a.example", "https://b.example"] {
        assert!(
            r.stderr
                .contains(&format!("Logged out of {uri} (client cli, audience {aud})")),
            "{}",
            r.stderr
        );
    }
}

#[test]
fn sign_in_pages_on_two_hosts_are_warned_about_before_the_qr_code() {
    let h = Harness::new();
    let s = rt().block_on(
        MockIdp::new()
            .post("/device/auth", |uri| {
                ResponseTemplate::new(200).set_body_json(json!({
                    "device_code": "dev-1", "user_code": "WDJB-MJHT",
                    "verification_uri": format!("{uri}/activate"),
                    "verification_uri_complete": "https://login.example.net/activate?user_code=WDJB-MJHT",
                    "expires_in": 600, "interval": 5,
                }))
            })
            .post("/token", |_| {
                ResponseTemplate::new(200).set_body_json(json!({
                    "access_token": "at", "refresh_token": "rt", "expires_in": 3600,
                }))
            })
            .start(),
    );
    let r = h.run(&["login", "--issuer", &s.uri(), "--client-id", "cli", "--qr"]);
    assert_eq!(r.code, 0, "{r:?}");
    let warning = "vmauth: warning: the identity provider names sign-in pages on two hosts, login.example.net and 127.0.0.1; sign in only if both are your provider's";
    let at = r
        .stderr
        .find(warning)
        .unwrap_or_else(|| panic!("{}", r.stderr));
    let qr = r
        .stderr
        .find('\u{2588}')
        .or_else(|| r.stderr.find('\u{2580}'));
    assert!(
        qr.is_some_and(|q| at < q),
        "the warning comes before the QR code: {}",
        r.stderr
    );
    assert!(
        r.stderr.contains("(it is on login.example.net)"),
        "{}",
        r.stderr
    );
}

#[test]
fn a_missing_argument_is_named_and_global_options_come_last_in_help() {
    let h = Harness::new();
    let r = h.run(&["exec"]);
    assert_eq!(
        (r.code, r.stderr.as_str()),
        (
            2,
            "vmauth: error: the following required arguments were not provided: <COMMAND>...; see 'vmauth exec --help'\n"
        )
    );
    let r = h.run(&["completions"]);
    assert_eq!(
        (r.code, r.stderr.as_str()),
        (
            2,
            "vmauth: error: the following required arguments were not provided: <SHELL>; see 'vmauth completions --help'\n"
        )
    );
    let help = h.run(&["login", "--help"]).stdout;
    let at = |o: &str| help.find(o).unwrap_or_else(|| panic!("{o}: {help}"));
    assert!(at("--issuer") < at("--client-id") && at("--client-id") < at("--store <STORE>"));
    assert!(
        at("--save-profile") < at("--store <STORE>")
            && at("--store <STORE>") < at("--profile <NAME>")
    );
}

#[test]
fn a_slow_issuer_is_named_on_a_terminal_while_vmauth_waits() {
    let h = Harness::new();
    let s = rt().block_on(
        MockIdp::new()
            .discovery(|uri| {
                ResponseTemplate::new(200)
                    .set_body_json(token_only_metadata(uri))
                    .set_delay(Duration::from_millis(2500))
            })
            .start(),
    );
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
    assert_eq!(r.code, 2, "no device endpoint: {r:?}");
    assert!(
        r.stderr
            .contains("Waiting for 127.0.0.1 to answer (its metadata); giving up after 30s …"),
        "{}",
        r.stderr
    );
    // Off a terminal (a script's log), nothing extra.
    let r = h.run(&["login", "--issuer", &s.uri(), "--client-id", "cli"]);
    assert!(!r.stderr.contains("Waiting for"), "{}", r.stderr);
}

#[test]
fn not_logged_in_with_a_profile_suggests_logging_in_with_the_profile() {
    let h = Harness::new();
    let config = h.dir.path().join("config");
    std::fs::create_dir_all(&config).unwrap();
    std::fs::write(
        config.join("config.toml"),
        "[profiles.api]\nissuer = \"https://idp.example.com\"\nclient_id = \"cli\"\naudience = \"https://api.example.com\"\nscope = \"openid offline_access api\"\n",
    )
    .unwrap();
    let r = h.run(&["token", "--profile", "api"]);
    assert_eq!(
        (r.code, r.stderr.as_str()),
        (
            4,
            "vmauth: error: not logged in; run: vmauth login --profile api\n"
        )
    );
    // Without the profile, the login's own parts.
    let r = h.run(&[
        "token",
        "--issuer",
        "https://idp.example.com",
        "--client-id",
        "cli",
    ]);
    assert!(
        r.stderr
            .contains("run: vmauth login --issuer https://idp.example.com --client-id cli"),
        "{}",
        r.stderr
    );
}

#[test]
fn the_star_of_status_and_profiles_marks_what_a_plain_token_serves() {
    let h = Harness::new();
    // The current login is A, but the default profile names B.
    h.store("https://a.example.com", "at-a", None, 3600);
    h.add("https://b.example.com", "at-b", 3600);
    std::fs::write(
        h.dir.path().join("config/config.toml"),
        "default_profile = \"b\"\n[profiles.b]\nissuer = \"https://b.example.com\"\nclient_id = \"cli\"\n",
    )
    .unwrap();
    assert_eq!(h.run(&["token"]).stdout, "at-b\n");
    let r = h.run(&["status", "--all"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stderr
            .contains("* https://b.example.com (client cli) [profile b]"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("  https://a.example.com (client cli)"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr
            .contains("(* the login a plain `vmauth token` uses)"),
        "{}",
        r.stderr
    );
    let r = h.run(&["profiles"]);
    assert!(r.stdout.starts_with("* b "), "{}", r.stdout);
    assert!(
        r.stdout
            .contains("(* the default profile: a plain `vmauth token` uses its login)"),
        "{}",
        r.stdout
    );
}

#[test]
fn tokens_put_aside_stay_until_the_provider_confirms_their_revocation() {
    let h = Harness::new();
    // The revocation endpoint fails the first two calls (the put-aside refresh
    // and access tokens), then works.
    let s = rt().block_on(
        MockIdp::new()
            .mount(|_| {
                Mock::given(method("POST"))
                    .and(path("/revoke"))
                    .and(body_string_contains("token=rt-aside"))
                    .respond_with(ResponseTemplate::new(503))
                    .up_to_n_times(1)
            })
            .post("/revoke", |_| ResponseTemplate::new(200))
            .start(),
    );
    let uri = s.uri();
    let key = h.store(&uri, "at", Some("rt"), 3600);
    let aside: crate::credential::Credential = serde_json::from_value(json!({
        "issuer": uri, "client_id": "cli", "access_token": "at-aside",
        "refresh_token": "rt-aside", "expires_at": "2999-01-01T00:00:00Z",
    }))
    .unwrap();
    let state = crate::state::StateDir::new(h.dir.path().join("config"), false, Box::new(|_| {}));
    let kept = state.set_aside(&key, &aside).unwrap();
    let r = h.run(&["logout"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stderr.contains("refresh token NOT revoked")
            && r.stderr
                .contains("(kept, to be revoked by the next vmauth login or logout)"),
        "{}",
        r.stderr
    );
    assert!(kept.exists(), "kept until revoked");
    assert!(!r.stderr.contains("rt-aside") && !r.stderr.contains("at-aside"));
    // The login is gone; a later logout for it still revokes what was put aside.
    let r = h.run(&["logout", "--issuer", &uri, "--client-id", "cli"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stderr
            .contains("Tokens put aside after a refused refresh: refresh token revoked"),
        "{}",
        r.stderr
    );
    assert!(!kept.exists());
}

#[test]
fn a_login_revokes_what_a_refused_refresh_put_aside_whatever_the_store() {
    for store in ["file", "memory"] {
        let h = Harness::new();
        let s = idp();
        let uri = s.uri();
        let key = crate::credential::LoginId::new(&uri, "cli", None)
            .unwrap()
            .cache_key();
        let aside: crate::credential::Credential = serde_json::from_value(json!({
            "issuer": uri, "client_id": "cli", "access_token": "at-aside",
            "refresh_token": "rt-aside", "expires_at": "2999-01-01T00:00:00Z",
        }))
        .unwrap();
        let state =
            crate::state::StateDir::new(h.dir.path().join("config"), false, Box::new(|_| {}));
        let kept = state.set_aside(&key, &aside).unwrap();
        let r = h.run(&[
            "--store",
            store,
            "login",
            "--issuer",
            &uri,
            "--client-id",
            "cli",
        ]);
        assert_eq!(r.code, 0, "{store}: {r:?}");
        assert!(
            r.stderr
                .contains("Tokens put aside after a refused refresh: refresh token revoked"),
            "{store}: {}",
            r.stderr
        );
        assert!(!kept.exists(), "{store}: forgotten once revoked");
        assert!(
            bodies(&s, "/revoke")
                .iter()
                .any(|b| b.contains("token=rt-aside")),
            "{store}: the put-aside refresh token went to /revoke"
        );
    }
}

#[test]
fn auto_takes_the_device_flow_when_offered_else_the_browser() {
    use super::login::choose_flow;
    use crate::cli::FlowChoice;
    assert_eq!(choose_flow(true, true), (FlowChoice::Device, None));
    assert_eq!(choose_flow(true, false), (FlowChoice::Device, None));
    let (flow, why) = choose_flow(false, true);
    assert_eq!(flow, FlowChoice::Browser);
    assert!(why.unwrap().contains("offers no device flow"));
    // Neither: the device flow, whose error says what is missing.
    assert_eq!(choose_flow(false, false), (FlowChoice::Device, None));
}

/// A provider that offers both flows and refuses the device flow with `answer`
/// (at the device authorization request, or at the first poll).
fn idp_refusing_device(at_poll: bool, answer: Value) -> wiremock::MockServer {
    let both = |uri: &str| {
        let mut m = crate::testing::mock_idp::metadata(uri);
        m["authorization_endpoint"] = json!(format!("{uri}/auth"));
        m
    };
    let refusal = move |_: &str| ResponseTemplate::new(400).set_body_json(answer.clone());
    let idp = MockIdp::new().metadata(both);
    let idp = if at_poll {
        idp.device_authorization().post("/token", refusal)
    } else {
        idp.post("/device/auth", refusal)
    };
    rt().block_on(idp.start())
}

#[test]
fn a_device_flow_refused_by_policy_says_to_use_the_browser() {
    let h = Harness::new();
    for (at_poll, answer) in [
        (false, json!({"error": "unauthorized_client"})),
        (
            true,
            json!({"error": "access_denied", "error_description": "AADSTS53003: Access has been blocked by Conditional Access policies."}),
        ),
        (
            true,
            json!({"error": "invalid_grant", "error_description": "AADSTS50199: user confirmation is required"}),
        ),
    ] {
        let s = idp_refusing_device(at_poll, answer.clone());
        // --flow device: exit 5 with the fix.
        let r = h.run(&[
            "login",
            "--device",
            "--issuer",
            &s.uri(),
            "--client-id",
            "cli",
        ]);
        assert_eq!(r.code, 5, "{answer}: {r:?}");
        assert!(
            r.stderr.contains("does not allow the device flow"),
            "{}",
            r.stderr
        );
        assert!(
            r.stderr.contains("vmauth login --flow browser"),
            "{}",
            r.stderr
        );
        // auto, with no browser to open and nothing to paste into: the same, and why.
        let r = h.run(&["login", "--issuer", &s.uri(), "--client-id", "cli"]);
        assert_eq!(r.code, 5, "{answer}: {r:?}");
        assert!(
            r.stderr.contains("no browser can be opened here"),
            "{}",
            r.stderr
        );
        assert!(
            h.credentials().get("credentials").is_none(),
            "nothing stored"
        );
    }
    // A person who says no is not a policy.
    let s = idp_refusing_device(true, json!({"error": "access_denied"}));
    let r = h.run(&["login", "--issuer", &s.uri(), "--client-id", "cli"]);
    assert_eq!(r.code, 5, "{r:?}");
    assert!(
        r.stderr.contains("login denied at the identity provider"),
        "{}",
        r.stderr
    );
}

#[test]
fn auto_goes_on_in_the_browser_when_the_device_flow_is_refused_and_a_person_can_paste() {
    let h = Harness::new();
    let s = idp_refusing_device(false, json!({"error": "unauthorized_client"}));
    let io = TestIo::new().stdin_terminal();
    let r = h.run_with(
        &[
            "login",
            "--issuer",
            &s.uri(),
            "--client-id",
            "cli",
            "--timeout",
            "1s",
            "--no-open",
        ],
        io,
    );
    // The browser flow started (the pushed request is absent: a plain URL) and,
    // with nobody answering, timed out.
    assert_eq!(r.code, 5, "{r:?}");
    assert!(
        r.stderr
            .contains("The device flow is not allowed for this sign-in"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains(&format!("{}/auth?", s.uri())),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("code_challenge_method=S256"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("paste here the address"), "{}", r.stderr);
    assert!(
        r.stderr.contains("no answer from the browser within 1s"),
        "{}",
        r.stderr
    );
}
