//! End to end: the real `vmauth` binary against a real OpenID Provider (panva's
//! oidc-provider, tests/idp) on loopback, approved through its real pages by a
//! headless approver.

mod support;

use base64::Engine;
use serde_json::Value;
use support::cli::{self, Home};
use support::idp::Idp;
use support::login::*;

#[test]
fn login_token_status_logout_with_revocation() {
    let idp = Idp::start();
    let home = Home::new();
    let key = format!("{}|{CLIENT}", idp.issuer);

    let mut p = PendingLogin::start_with_umask_000(&home, &idp);
    let url = p.verification_url();
    assert!(
        url.starts_with(&idp.issuer) && url.contains("user_code="),
        "{url}"
    );
    idp.approve(&url);
    let r = p.finish();
    r.expect_code(0);
    assert_eq!(r.stdout, "", "login prints nothing on stdout");
    assert!(
        r.stderr.contains(&format!(
            "Logged in as alice@example.test at {}",
            idp.issuer
        )),
        "{}",
        r.stderr
    );
    assert_eq!(cli::mode(&home.credentials()), 0o600);
    assert_eq!(cli::mode(home.credentials().parent().unwrap()), 0o700);
    assert_eq!(cli::mode(&home.config_dir()), 0o700);

    let entry = stored(&home, &key);
    let at = entry["access_token"].as_str().unwrap().to_string();
    let rt = entry["refresh_token"].as_str().unwrap().to_string();
    let idt = entry["id_token"].as_str().unwrap().to_string();
    assert_eq!(entry["issuer"], idp.issuer.as_str());
    assert_eq!(entry["client_id"], CLIENT);
    assert!(entry["expires_at"].as_str().unwrap().ends_with('Z'));
    let secrets = [at.as_str(), rt.as_str(), idt.as_str()];
    assert_no_secret(&r.stderr, &secrets);

    // token: the access token and a newline on stdout, nothing else anywhere.
    let t = home.run(&["token"]);
    t.expect_code(0);
    assert_eq!(t.stdout, format!("{at}\n"));
    assert_eq!(t.stderr, "");
    assert_eq!(introspect(&idp, &at)["active"], true);

    // status, human and JSON.
    let s = home.run(&["status"]);
    s.expect_code(0);
    for needle in [
        "Alice Example <alice@example.test>",
        "subject alice",
        "admin, developer",
        "refresh:  yes",
        "store:    file: ",
    ] {
        assert!(s.stderr.contains(needle), "{needle:?} in {}", s.stderr);
    }
    assert_no_secret(&s.stderr, &secrets);
    let j = home.run(&["status", "--json"]);
    j.expect_code(0);
    let doc: Value = serde_json::from_str(&j.stdout).unwrap();
    let l = &doc["logins"][0];
    assert_eq!(l["issuer"], idp.issuer.as_str());
    assert_eq!(l["client_id"], CLIENT);
    assert_eq!(l["audience"], Value::Null);
    assert_eq!(l["current"], true);
    assert_eq!(l["store"], "file");
    assert_eq!(l["valid"], true);
    assert_eq!(l["refreshable"], true);
    assert_eq!(l["claims"]["email"], "alice@example.test");
    assert_eq!(
        l["claims"]["roles"],
        serde_json::json!(["admin", "developer"])
    );
    assert!(
        l["scopes"]
            .as_array()
            .unwrap()
            .contains(&Value::from("offline_access"))
    );
    assert_no_secret(&j.stdout, &secrets);

    // logout revokes at the IdP, then removes the login.
    let o = home.run(&["logout"]);
    o.expect_code(0);
    assert!(o.stderr.contains("refresh token revoked"), "{}", o.stderr);
    assert_no_secret(&o.stderr, &secrets);
    assert_eq!(introspect(&idp, &rt)["active"], false);
    assert_eq!(introspect(&idp, &at)["active"], false);
    assert_eq!(stored(&home, &key), Value::Null);
    let t = home.run(&["token"]);
    t.expect_code(4).expect_error("not logged in");
    assert_eq!(t.stdout, "");
}

#[test]
fn refresh_after_expiry_rotates_three_times_in_a_row() {
    let idp = Idp::start();
    let home = Home::new();
    let key = format!("{}|{CLIENT}", idp.issuer);
    login(&home, &idp, &[]).expect_code(0);
    let first = stored(&home, &key);

    // Make the stored access token expired, as time would.
    expire_in_file(&home, &key);

    let mut seen_at = vec![first["access_token"].as_str().unwrap().to_string()];
    let mut seen_rt = vec![first["refresh_token"].as_str().unwrap().to_string()];
    for i in 0..3 {
        // First round: expired token; later rounds: --force-refresh.
        let r = if i == 0 {
            home.run(&["token"])
        } else {
            home.run(&["token", "--force-refresh"])
        };
        r.expect_code(0);
        assert_eq!(r.stderr, "");
        let at = r.stdout.trim_end().to_string();
        let e = stored(&home, &key);
        assert_eq!(
            e["access_token"],
            at.as_str(),
            "the printed token was saved"
        );
        let rt = e["refresh_token"].as_str().unwrap().to_string();
        assert!(!seen_at.contains(&at), "a new access token each time");
        assert!(!seen_rt.contains(&rt), "the refresh token rotated");
        assert_eq!(introspect(&idp, &at)["active"], true);
        seen_at.push(at);
        seen_rt.push(rt);
    }
    assert_eq!(idp.count("POST /token 200 grant_type=refresh_token"), 3);
    // Old refresh tokens are dead; the newest works, and a cached call does no request.
    assert_eq!(introspect(&idp, &seen_rt[0])["active"], false);
    let r = home.run(&["token"]);
    r.expect_code(0);
    assert_eq!(r.stdout.trim_end(), seen_at[3]);
    assert_eq!(idp.count("grant_type=refresh_token"), 3);
}

#[test]
fn audience_gives_a_jwt_access_token_for_that_api() {
    let idp = Idp::start();
    let home = Home::new();
    let r = login(
        &home,
        &idp,
        &[
            "--audience",
            API,
            "--scope",
            "openid email offline_access api:read",
        ],
    );
    r.expect_code(0);
    let t = home.run(&["token"]);
    t.expect_code(0);
    let claims = jwt_payload(t.stdout.trim_end());
    assert_eq!(claims["aud"], API);
    assert_eq!(claims["sub"], "alice");
    // The selector with audience finds the same login, and refresh keeps the audience.
    let t2 = home.run(&[
        "token",
        "--issuer",
        &idp.issuer,
        "--client-id",
        CLIENT,
        "--audience",
        API,
        "--force-refresh",
    ]);
    t2.expect_code(0);
    assert_ne!(t2.stdout, t.stdout);
    assert_eq!(jwt_payload(t2.stdout.trim_end())["aud"], API);
    let j: Value = serde_json::from_str(&home.run(&["status", "--json"]).stdout).unwrap();
    assert_eq!(j["logins"][0]["audience"], API);
    // Logout: the refresh token is revoked; the JWT cannot be, and vmauth says so.
    let o = home.run(&["logout"]);
    o.expect_code(0);
    assert!(o.stderr.contains("refresh token revoked"), "{}", o.stderr);
    assert!(o.stderr.contains("self-contained (JWT)"), "{}", o.stderr);
}

#[test]
fn denied_login_exits_5_and_stores_nothing() {
    let idp = Idp::start();
    let home = Home::new();
    let mut p = PendingLogin::start(&home, &idp, &[]);
    let url = p.verification_url();
    idp.deny(&url);
    let r = p.finish();
    r.expect_code(5);
    assert!(
        r.stderr
            .ends_with("vmauth: error: login denied at the identity provider"),
        "{}",
        r.stderr
    );
    assert!(!home.credentials().exists());
    // vmauth stopped at the first non-pending answer (a second poll would be invalid_grant).
    assert_eq!(idp.count("error=access_denied"), 1);
    assert_eq!(idp.count("error=invalid_grant"), 0);
}

#[test]
fn expired_code_exits_5() {
    let idp = Idp::start_with(&[("IDP_DEVICE_CODE_TTL", "2")]);
    let home = Home::new();
    let mut p = PendingLogin::start(&home, &idp, &[]);
    let _ = p.verification_url();
    let r = p.finish();
    r.expect_code(5);
    assert!(
        r.stderr
            .contains("the code expired before it was approved; run vmauth login again"),
        "{}",
        r.stderr
    );
    assert!(!home.credentials().exists());
}

#[test]
fn revoked_refresh_token_means_exit_4_at_once() {
    let idp = Idp::start();
    let home = Home::new();
    let key = format!("{}|{CLIENT}", idp.issuer);
    login(&home, &idp, &[]).expect_code(0);
    let rt = stored(&home, &key)["refresh_token"]
        .as_str()
        .unwrap()
        .to_string();
    let rev = idp.post_form(
        "/token/revocation",
        &[
            ("client_id", CLIENT),
            ("token", &rt),
            ("token_type_hint", "refresh_token"),
        ],
    );
    assert_eq!(rev.status, 200);
    let r = home.run(&["token", "--force-refresh"]);
    r.expect_code(4).expect_error(&format!(
        "the login has expired or was revoked (invalid_grant); run: vmauth login --issuer {} --client-id {CLIENT}",
        idp.issuer
    ));
    assert_eq!(r.stdout, "");
    // status agrees that a new login is needed only once the token is actually expired;
    // the stored entry is kept, not silently deleted.
    assert!(stored(&home, &key).is_object());
}

#[test]
fn two_logins_and_the_current_one() {
    let idp = Idp::start();
    let home = Home::new();
    login(&home, &idp, &[]).expect_code(0);
    login(
        &home,
        &idp,
        &[
            "--audience",
            API,
            "--scope",
            "openid email offline_access api:read",
        ],
    )
    .expect_code(0);
    // The most recent login is current.
    let t = home.run(&["token"]);
    assert_eq!(jwt_payload(t.stdout.trim_end())["aud"], API);
    let j: Value = serde_json::from_str(&home.run(&["status", "--json", "--all"]).stdout).unwrap();
    let logins = j["logins"].as_array().unwrap();
    assert_eq!(logins.len(), 2);
    assert_eq!(logins.iter().filter(|l| l["current"] == true).count(), 1);
    // The first is still selectable explicitly.
    let t1 = home.run(&[
        "token",
        "--issuer",
        &format!("{}/", idp.issuer),
        "--client-id",
        CLIENT,
    ]);
    t1.expect_code(0);
    assert!(
        !t1.stdout.trim_end().contains('.'),
        "opaque token without audience"
    );
    home.run(&["logout", "--all"]).expect_code(0);
    assert_eq!(
        home.read_credentials()["credentials"],
        serde_json::json!({})
    );
}

#[test]
fn ctrl_c_while_waiting_exits_130_and_stores_nothing() {
    let idp = Idp::start();
    let home = Home::new();
    let mut p = PendingLogin::start(&home, &idp, &[]);
    let _ = p.verification_url();
    let pid = p.pid().to_string();
    let status = std::process::Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .unwrap();
    assert!(status.success());
    let r = p.finish();
    r.expect_code(130);
    assert_eq!(r.stdout, "");
    assert!(!home.credentials().exists());
    assert!(!home.config_dir().join("state.json").exists());
}

#[test]
fn identity_provider_down_token_and_logout_still_behave() {
    let idp = Idp::start();
    let home = Home::new();
    let key = format!("{}|{CLIENT}", idp.issuer);
    login(&home, &idp, &[]).expect_code(0);
    let at = stored(&home, &key)["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    drop(idp); // the provider is gone: connections are refused

    // Still valid, a refresh forced: the cached token, with a warning.
    let r = home.run(&["token", "--force-refresh"]);
    r.expect_code(0);
    assert_eq!(r.stdout, format!("{at}\n"));
    assert!(
        r.stderr.contains("connection refused") && r.stderr.contains("using the cached token"),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains(&at));

    // Expired: a clear failure, exit 1, nothing on stdout.
    expire_in_file(&home, &key);
    let r = home.run(&["token"]);
    r.expect_code(1)
        .expect_error("cannot refresh the access token: cannot reach");
    assert_eq!(r.stdout, "");
    // status is offline: the login is expired but refreshable.
    let s = home.run(&["status", "--json"]);
    s.expect_code(0);
    let j: Value = serde_json::from_str(&s.stdout).unwrap();
    assert_eq!(j["logins"][0]["valid"], false);
    assert_eq!(j["logins"][0]["refreshable"], true);

    // logout removes the login even though revocation cannot happen. (The
    // refresh above found the cached token endpoint gone and the issuer
    // unreachable, so the cached metadata was dropped: logout asks for it.)
    let o = home.run(&["logout"]);
    o.expect_code(0);
    assert!(
        o.stderr.contains("tokens not revoked (cannot reach")
            && o.stderr
                .contains("/.well-known/openid-configuration: connection refused")
            && o.stderr.contains("removed locally"),
        "{}",
        o.stderr
    );
    assert_eq!(stored(&home, &key), Value::Null);
}

#[test]
fn expired_login_without_refresh_token_needs_a_new_login() {
    let idp = Idp::start();
    let home = Home::new();
    let key = format!("{}|{CLIENT}", idp.issuer);
    // Without offline_access the IdP issues no refresh token.
    let r = login(&home, &idp, &["--scope", "openid email"]);
    r.expect_code(0);
    assert!(r.stderr.contains("sent no refresh token"), "{}", r.stderr);
    expire_in_file(&home, &key);
    home.run(&["token"]).expect_code(4).expect_error(
        "the access token has expired and there is no refresh token; run: vmauth login",
    );
    let s = home.run(&["status"]);
    s.expect_code(4);
    assert!(s.stderr.contains("refresh:  no"), "{}", s.stderr);
    assert!(
        s.stderr.trim_end().ends_with(&format!(
            "vmauth: error: the login has expired and cannot be refreshed; run: vmauth login --issuer {} --client-id {CLIENT}",
            idp.issuer
        )),
        "{}",
        s.stderr
    );
}

#[test]
fn confidential_device_client_authenticates_on_login_and_refresh() {
    const CONFIDENTIAL: &str = "vmauth-cli-confidential";
    const SECRET: &str = "vmauth-cli-confidential-secret";
    let idp = Idp::start();
    let home = Home::new();
    let key = format!("{}|{CONFIDENTIAL}", idp.issuer);
    let mut cmd = home.cmd(&[
        "login",
        "--issuer",
        &idp.issuer,
        "--client-id",
        CONFIDENTIAL,
        "--client-auth",
        "client_secret_post",
    ]);
    cmd.env("VMAUTH_CLIENT_SECRET", SECRET);
    let mut p = PendingLogin::spawn(cmd);
    let url = p.verification_url();
    idp.approve(&url);
    let r = p.finish();
    r.expect_code(0);
    assert!(!r.stderr.contains(SECRET));
    let entry = stored(&home, &key);
    assert_eq!(entry["client_auth"]["auth"], "client_secret_post");
    assert!(
        !home.read_credentials().to_string().contains(SECRET),
        "the secret is not stored"
    );

    // Refresh authenticates the client again with the secret from the environment…
    let t = cli::Run::from(
        home.cmd(&["token", "--force-refresh"])
            .env("VMAUTH_CLIENT_SECRET", SECRET)
            .output()
            .unwrap(),
    );
    t.expect_code(0);
    assert_eq!(idp.count("POST /token 200 grant_type=refresh_token"), 1);
    // …and says how to give it when it is missing.
    home.run(&["token", "--force-refresh"])
        .expect_code(2)
        .expect_error("no client secret");
    // VMAUTH_CLIENT_SECRET alone does not make a device login confidential: without
    // --client-auth the client is not authenticated, and this one is refused.
    let plain = cli::Run::from(
        Home::new()
            .cmd(&[
                "login",
                "--issuer",
                &idp.issuer,
                "--client-id",
                CONFIDENTIAL,
            ])
            .env("VMAUTH_CLIENT_SECRET", SECRET)
            .output()
            .unwrap(),
    );
    plain.expect_code(2).expect_error(&format!(
        "the identity provider refused client \"{CONFIDENTIAL}\" (identity provider said: invalid_client"
    ));
}

/// OIDC Core §3.1.3.7: the ID token's signature is checked with the issuer's
/// published keys, RS256 and ES256 alike, at login and again at refresh.
#[test]
fn id_token_signatures_are_verified_for_rs256_and_es256() {
    let idp = Idp::start();
    for (client, alg) in [(CLIENT, "RS256"), ("vmauth-cli-es256", "ES256")] {
        let home = Home::new();
        let fetched_before = idp.count("GET /jwks");
        let mut p = PendingLogin::spawn(home.cmd(&[
            "login",
            "--issuer",
            &idp.issuer,
            "--client-id",
            client,
            "--no-qr",
        ]));
        let url = p.verification_url();
        idp.approve(&url);
        p.finish().expect_code(0);
        let key = format!("{}|{client}", idp.issuer);
        let idt = stored(&home, &key)["id_token"]
            .as_str()
            .unwrap()
            .to_string();
        let header: Value = serde_json::from_slice(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(idt.split('.').next().unwrap())
                .unwrap(),
        )
        .unwrap();
        assert_eq!(header["alg"], alg);
        let status = |home: &Home| -> Value {
            serde_json::from_str(&home.run(&["status", "--json"]).stdout).unwrap()
        };
        assert_eq!(
            status(&home)["logins"][0]["id_token_verified"],
            true,
            "{client}"
        );
        // A refresh brings a new ID token, verified with the cached key set.
        expire_in_file(&home, &key);
        home.run(&["token"]).expect_code(0);
        assert_eq!(status(&home)["logins"][0]["id_token_verified"], true);
        let jwks_fetches = idp.count("GET /jwks") - fetched_before;
        assert_eq!(jwks_fetches, 1, "{client}: {:?}", idp.log());
    }
}

/// Profiles end to end: log in with --save-profile, then use the profile by name.
#[test]
fn a_saved_profile_serves_token_status_and_logout() {
    let idp = Idp::start();
    let home = Home::new();
    std::fs::create_dir_all(home.config_dir()).unwrap();
    std::fs::write(home.config_dir().join("config.toml"), "# my profiles\n").unwrap();
    login(&home, &idp, &["--audience", API, "--save-profile", "work"]).expect_code(0);
    let config = std::fs::read_to_string(home.config_dir().join("config.toml")).unwrap();
    assert!(config.starts_with("# my profiles\n"), "{config}");
    assert!(
        config.contains("[profiles.work]") && config.contains(API),
        "{config}"
    );
    // Another login becomes the current one; the profile still selects its own.
    login(&home, &idp, &[]).expect_code(0);
    let t = home.run(&["token", "--profile", "work"]);
    t.expect_code(0);
    assert_eq!(jwt_payload(t.stdout.trim_end())["aud"], API);
    let s: Value =
        serde_json::from_str(&home.run(&["status", "--profile", "work", "--json"]).stdout).unwrap();
    assert_eq!(s["logins"][0]["profile"], "work");
    assert_eq!(s["logins"][0]["audience"], API);
    let p = home.run(&["profiles"]);
    p.expect_code(0);
    assert!(
        p.stdout.contains("work") && p.stdout.contains("[logged in]"),
        "{}",
        p.stdout
    );
    home.run(&["logout", "--profile", "work"]).expect_code(0);
    home.run(&["token", "--profile", "work"]).expect_code(4);
    // The other login is untouched.
    home.run(&["token"]).expect_code(0);
}
