//! CI mode end to end: the client credentials grant against the real test IdP
//! with every client authentication method, caching, expiry and the errors a CI
//! job sees. The secret must never show up on stderr, in the store or in `ps`.

mod support;

use std::io::Write;
use std::process::Stdio;

use serde_json::Value;
use support::cli::{Home, Run, cc_args};
use support::idp::{self as idp, Idp};
use support::login::jwt_payload;

use support::login::API;
const SECRET: &str = "vmauth-ci-secret";

fn key_path() -> String {
    idp::idp_dir()
        .join("keys/vmauth-ci-jwt.private.pem")
        .display()
        .to_string()
}

/// `vmauth token --client-credentials` for `client` with `VMAUTH_CLIENT_SECRET`.
fn cc_token(home: &Home, idp: &Idp, client: &str, secret: Option<&str>, extra: &[&str]) -> Run {
    let mut args = cc_args(&idp.issuer, client);
    args.extend_from_slice(extra);
    let mut cmd = home.cmd(&args);
    if let Some(s) = secret {
        cmd.env("VMAUTH_CLIENT_SECRET", s);
    }
    Run::from(cmd.output().unwrap())
}

fn file_text(home: &Home) -> String {
    std::fs::read_to_string(home.credentials()).unwrap_or_default()
}

#[test]
fn secret_basic_with_audience_is_cached_then_renewed() {
    let idp = Idp::start();
    let home = Home::new();
    let r = cc_token(&home, &idp, "vmauth-ci", Some(SECRET), &["--audience", API]);
    r.expect_code(0);
    assert_eq!(r.stderr, "");
    let token = r.stdout.trim_end().to_string();
    let claims = jwt_payload(&token);
    assert_eq!(claims["aud"], API);
    assert_eq!(claims["sub"], "vmauth-ci");
    assert_eq!(
        idp.count("POST /token 200 grant_type=client_credentials"),
        1
    );

    // Served from the cache: no second request.
    let again = cc_token(&home, &idp, "vmauth-ci", Some(SECRET), &["--audience", API]);
    again.expect_code(0);
    assert_eq!(again.stdout.trim_end(), token);
    assert_eq!(idp.count("grant_type=client_credentials"), 1);

    // Near expiry: a new token (there is no refresh token in this grant).
    let renewed = cc_token(
        &home,
        &idp,
        "vmauth-ci",
        Some(SECRET),
        &["--audience", API, "--force-refresh"],
    );
    renewed.expect_code(0);
    assert_ne!(renewed.stdout.trim_end(), token);
    assert_eq!(jwt_payload(renewed.stdout.trim_end())["aud"], API);
    assert_eq!(
        idp.count("POST /token 200 grant_type=client_credentials"),
        2
    );

    let stored = file_text(&home);
    assert!(!stored.contains(SECRET), "secret in the store: {stored}");
    assert!(stored.contains("\"client_secret_basic\""), "{stored}");
}

#[test]
fn secret_post_from_a_file_and_from_stdin() {
    let idp = Idp::start();
    let home = Home::new();
    let secret_file = home.dir.path().join("secret");
    std::fs::write(&secret_file, "vmauth-ci-post-secret\n").unwrap();
    let r = cc_token(
        &home,
        &idp,
        "vmauth-ci-post",
        None,
        &[
            "--client-auth",
            "client_secret_post",
            "--client-secret-file",
            secret_file.to_str().unwrap(),
        ],
    );
    r.expect_code(0);
    assert!(!r.stdout.trim_end().is_empty());

    let home2 = Home::new();
    let mut child = home2
        .cmd(&[
            "token",
            "--client-credentials",
            "--issuer",
            &idp.issuer,
            "--client-id",
            "vmauth-ci-post",
            "--client-auth",
            "client_secret_post",
            "--client-secret-stdin",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // While vmauth waits for the secret, its command line shows no secret (ps).
    let cmdline = std::fs::read(format!("/proc/{}/cmdline", child.id())).unwrap();
    assert!(!String::from_utf8_lossy(&cmdline).contains("vmauth-ci-post-secret"));
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"vmauth-ci-post-secret\n")
        .unwrap();
    let r = Run::from(child.wait_with_output().unwrap());
    r.expect_code(0);
    assert_eq!(r.stderr, "");
}

#[test]
fn private_key_jwt_signs_a_fresh_assertion_each_time() {
    let idp = Idp::start();
    let home = Home::new();
    let key = key_path();
    let args = [
        "--private-key",
        key.as_str(),
        "--key-id",
        "vmauth-ci-jwt-key-1",
        "--resource",
        API,
    ];
    let r = cc_token(&home, &idp, "vmauth-ci-jwt", None, &args);
    r.expect_code(0);
    assert_eq!(jwt_payload(r.stdout.trim_end())["sub"], "vmauth-ci-jwt");
    // A second request needs a new jti (the IdP refuses replays).
    let mut again = args.to_vec();
    again.extend_from_slice(&["--force-refresh"]);
    cc_token(&home, &idp, "vmauth-ci-jwt", None, &again).expect_code(0);
    assert_eq!(
        idp.count("POST /token 200 grant_type=client_credentials"),
        2
    );
}

#[test]
fn assertion_file_is_reread_on_every_request() {
    let idp = Idp::start();
    let home = Home::new();
    let file = home.dir.path().join("assertion.jwt");
    let mint = || {
        let out = std::process::Command::new("node")
            .arg(idp::idp_dir().join("client-assertion.mjs"))
            .args(["--aud", &idp.url("/token")])
            .output()
            .unwrap();
        assert!(out.status.success());
        std::fs::write(&file, out.stdout).unwrap();
        // As a platform puts it: writable by its owner only, whatever the umask.
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
    };
    let path = file.to_str().unwrap().to_string();
    mint();
    let r = cc_token(
        &home,
        &idp,
        "vmauth-ci-jwt",
        None,
        &["--client-assertion-file", &path],
    );
    r.expect_code(0);
    // The CI platform rotates the file; the next request reads the new one.
    mint();
    let r2 = cc_token(
        &home,
        &idp,
        "vmauth-ci-jwt",
        None,
        &["--client-assertion-file", &path, "--force-refresh"],
    );
    r2.expect_code(0);
    assert_ne!(r.stdout, r2.stdout);
    // Not rotated: the replayed assertion is refused, with a clear message.
    let r3 = cc_token(
        &home,
        &idp,
        "vmauth-ci-jwt",
        None,
        &["--client-assertion-file", &path, "--force-refresh"],
    );
    r3.expect_code(2)
        .expect_error("rejected the client credentials");
}

#[test]
fn wrong_secret_is_exit_2_and_never_echoed() {
    let idp = Idp::start();
    let home = Home::new();
    let r = cc_token(&home, &idp, "vmauth-ci", Some("wrong-secret-value"), &[]);
    r.expect_code(2)
        .expect_error("the identity provider rejected the client credentials: identity provider said: invalid_client");
    assert!(!r.stderr.contains("wrong-secret-value"));
    assert_eq!(r.stdout, "");
    assert!(!home.credentials().exists(), "nothing stored");
}

#[test]
fn missing_secret_names_the_three_ways() {
    let idp = Idp::start();
    cc_token(&Home::new(), &idp, "vmauth-ci", None, &[])
        .expect_code(2)
        .expect_error("no client secret; set VMAUTH_CLIENT_SECRET, or use --client-secret-file PATH or --client-secret-stdin");
}

#[test]
fn unknown_audience_is_exit_2() {
    let idp = Idp::start();
    cc_token(
        &Home::new(),
        &idp,
        "vmauth-ci",
        Some(SECRET),
        &["--audience", "https://unknown.example.test"],
    )
    .expect_code(2)
    .expect_error("does not know that audience or resource");
}

#[test]
fn a_secret_on_the_command_line_is_refused() {
    let home = Home::new();
    let r = home.run(&[
        "token",
        "--client-credentials",
        "--issuer",
        "https://idp.example",
        "--client-id",
        "c",
        "--client-secret",
        "hunter2-value",
    ]);
    r.expect_code(2)
        .expect_error("--client-secret is not accepted");
    assert!(!r.stderr.contains("hunter2-value"));
    let help = home.run(&["token", "--help"]);
    help.expect_code(0);
    assert!(
        !help.stdout.contains("--client-secret <"),
        "no secret option in help"
    );
    assert!(help.stdout.contains("--client-secret-file"));
    assert!(help.stdout.contains("VMAUTH_CLIENT_SECRET"));
}

#[test]
fn login_then_plain_token_and_status_for_a_client() {
    let idp = Idp::start();
    let home = Home::new();
    let login = Run::from(
        home.cmd(&[
            "login",
            "--issuer",
            &idp.issuer,
            "--client-id",
            "vmauth-ci",
            "--audience",
            API,
        ])
        .env("VMAUTH_GRANT", "client_credentials")
        .env("VMAUTH_CLIENT_SECRET", SECRET)
        .output()
        .unwrap(),
    );
    login.expect_code(0);
    assert!(
        login.stderr.contains("Logged in as vmauth-ci"),
        "{}",
        login.stderr
    );
    assert!(!login.stderr.contains(SECRET));

    // The current login is a client login; `vmauth token` serves it from the cache…
    let t = home.run(&["token"]);
    t.expect_code(0);
    assert_eq!(jwt_payload(t.stdout.trim_end())["sub"], "vmauth-ci");
    // …and renews it with the stored method when the secret is in the environment.
    let renewed = Run::from(
        home.cmd(&["token", "--force-refresh"])
            .env("VMAUTH_CLIENT_SECRET", SECRET)
            .output()
            .unwrap(),
    );
    renewed.expect_code(0);
    assert_ne!(renewed.stdout, t.stdout);
    assert_eq!(jwt_payload(renewed.stdout.trim_end())["aud"], API);
    // Without the secret it says how to give one.
    home.run(&["token", "--force-refresh"])
        .expect_code(2)
        .expect_error("no client secret");

    let s = home.run(&["status"]);
    s.expect_code(0);
    assert!(
        s.stderr
            .contains("client:   vmauth-ci (client credentials, client_secret_basic)"),
        "{}",
        s.stderr
    );
    let j: Value = serde_json::from_str(&home.run(&["status", "--json"]).stdout).unwrap();
    assert_eq!(j["logins"][0]["grant"], "client_credentials");
    assert_eq!(j["logins"][0]["claims"]["sub"], "vmauth-ci");

    // Logout revokes as the confidential client it is (RFC 7009 §2.1).
    let o = Run::from(
        home.cmd(&["logout"])
            .env("VMAUTH_CLIENT_SECRET", SECRET)
            .output()
            .unwrap(),
    );
    o.expect_code(0);
    // The provider authenticated the client and judged the token: a JWT it cannot
    // revoke (before, it answered 401 invalid_client to an unauthenticated request).
    assert!(
        o.stderr.contains("access token is self-contained (JWT)"),
        "{}",
        o.stderr
    );
    assert_eq!(
        idp.count("POST /token/revocation 400 error=unsupported_token_type"),
        1,
        "{:?}",
        idp.log()
    );
    assert_eq!(
        idp.count("POST /token/revocation 401"),
        0,
        "{:?}",
        idp.log()
    );
}

#[test]
fn bad_grant_variable_and_unreadable_key() {
    let home = Home::new();
    let r = Run::from(
        home.cmd(&[
            "token",
            "--issuer",
            "https://idp.example",
            "--client-id",
            "c",
        ])
        .env("VMAUTH_GRANT", "password")
        .output()
        .unwrap(),
    );
    r.expect_code(2).expect_error("VMAUTH_GRANT=\"password\"");
    let idp = Idp::start();
    cc_token(
        &home,
        &idp,
        "vmauth-ci-jwt",
        None,
        &["--private-key", "/nonexistent/key.pem"],
    )
    .expect_code(2)
    .expect_error("cannot read the private key /nonexistent/key.pem");
}

#[test]
fn a_cached_token_only_serves_the_same_scopes() {
    let idp = Idp::start();
    let home = Home::new();
    let read = cc_token(
        &home,
        &idp,
        "vmauth-ci",
        Some(SECRET),
        &["--resource", API, "--scope", "api:read"],
    );
    read.expect_code(0);
    assert_eq!(jwt_payload(read.stdout.trim_end())["scope"], "api:read");
    // Another scope set: not the cached token, a new request.
    let write = cc_token(
        &home,
        &idp,
        "vmauth-ci",
        Some(SECRET),
        &["--resource", API, "--scope", "api:write api:read"],
    );
    write.expect_code(0);
    assert_ne!(write.stdout, read.stdout);
    assert_eq!(
        idp.count("POST /token 200 grant_type=client_credentials"),
        2
    );
    // The same set in another order is the same request: served from the cache.
    let again = cc_token(
        &home,
        &idp,
        "vmauth-ci",
        Some(SECRET),
        &["--resource", API, "--scope", "api:read,api:write"],
    );
    assert_eq!(again.stdout, write.stdout);
    assert_eq!(
        idp.count("POST /token 200 grant_type=client_credentials"),
        2
    );
}
