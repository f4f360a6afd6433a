//! The keychain store against a real Secret Service (gnome-keyring on a private
//! D-Bus), and `--store auto` with the keychain present, locked and absent.

mod support;

use std::process::Command;

use serde_json::Value;
use support::cli::{Home, Run};
use support::idp::Idp;
use support::login::*;
use support::secret_service::{Keyring, SecretService, absent_env};

fn with_env(mut cmd: Command, env: &[(String, String)]) -> Command {
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd
}

/// Run vmauth with `--store`/environment for this test's keychain.
fn run(home: &Home, env: &[(String, String)], store: &str, args: &[&str]) -> Run {
    let mut cmd = with_env(home.cmd(args), env);
    cmd.env("VMAUTH_STORE", store);
    Run::from(cmd.output().unwrap())
}

fn login_keyring(
    home: &Home,
    idp: &Idp,
    env: &[(String, String)],
    store: &str,
    extra_env: &[(&str, &str)],
) -> Run {
    let args = login_args(idp, &[]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut cmd = with_env(home.cmd(&args), env);
    cmd.env("VMAUTH_STORE", store);
    for (k, v) in extra_env {
        cmd.env(k, v);
    }
    let mut p = PendingLogin::spawn(cmd);
    let url = p.verification_url();
    idp.approve(&url);
    p.finish()
}

fn secret_tool_lookup(ss: &SecretService, key: &str) -> Option<String> {
    let out = with_env(Command::new("secret-tool"), &ss.env())
        .args(["lookup", "service", "vmauth", "username", key])
        .output()
        .expect("secret-tool is needed (Debian package libsecret-tools; see .ci/run)");
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

#[test]
fn login_token_status_logout_through_the_keychain() {
    let ss = SecretService::start(Keyring::Unlocked);
    let env = ss.env();
    let idp = Idp::start();
    let home = Home::new();
    let key = format!("{}|{CLIENT}", idp.issuer);

    let r = login_keyring(&home, &idp, &env, "keyring", &[]);
    r.expect_code(0);
    assert!(
        r.stderr.contains("stored in keyring: OS keychain"),
        "{}",
        r.stderr
    );
    assert!(!home.credentials().exists(), "nothing in the file");

    // The item really is in the Secret Service (seen by another client).
    let item = secret_tool_lookup(&ss, &key).expect("the login is a Secret Service item");
    let v: Value = serde_json::from_str(&item).unwrap();
    assert_eq!(v["issuer"], idp.issuer.as_str());

    let t = run(&home, &env, "keyring", &["token"]);
    t.expect_code(0);
    assert_eq!(t.stderr, "");
    let at = t.stdout.trim_end().to_string();
    assert_eq!(introspect(&idp, &at)["active"], true);

    // Refresh writes the rotated tokens back to the keychain.
    let t2 = run(&home, &env, "keyring", &["token", "--force-refresh"]);
    t2.expect_code(0);
    assert_ne!(t2.stdout, t.stdout);
    let t3 = run(&home, &env, "keyring", &["token"]);
    assert_eq!(t3.stdout, t2.stdout);

    let j: Value =
        serde_json::from_str(&run(&home, &env, "keyring", &["status", "--json"]).stdout).unwrap();
    assert_eq!(j["logins"][0]["store"], "keyring");
    assert_eq!(j["logins"][0]["claims"]["email"], "alice@example.test");

    let o = run(&home, &env, "keyring", &["logout"]);
    o.expect_code(0);
    assert!(o.stderr.contains("refresh token revoked"), "{}", o.stderr);
    run(&home, &env, "keyring", &["token"]).expect_code(4);
    assert!(secret_tool_lookup(&ss, &key).is_none_or(|s| s.is_empty()));
}

#[test]
fn values_too_large_for_one_item_are_split_and_not_lost() {
    let ss = SecretService::start(Keyring::Unlocked);
    let env = ss.env();
    let idp = Idp::start();
    let home = Home::new();
    let small = [("VMAUTH_KEYRING_MAX_ITEM", "300")];
    login_keyring(&home, &idp, &env, "keyring", &small).expect_code(0);
    let mut token = with_env(home.cmd(&["token"]), &env);
    token
        .env("VMAUTH_STORE", "keyring")
        .env("VMAUTH_KEYRING_MAX_ITEM", "300");
    let t = Run::from(token.output().unwrap());
    t.expect_code(0);
    assert_eq!(introspect(&idp, t.stdout.trim_end())["active"], true);
    let key = format!("{}|{CLIENT}", idp.issuer);
    let head = secret_tool_lookup(&ss, &key).expect("the head item exists");
    let (n, generation) = head
        .strip_prefix("vmauth-chunked:")
        .and_then(|r| r.split_once(':'))
        .unwrap_or_else(|| panic!("a split value: {head}"));
    assert!(n.parse::<usize>().unwrap() > 1, "{head}");
    let part1 = format!("{key}#vmauth-part-{generation}-1");
    assert!(secret_tool_lookup(&ss, &part1).is_some(), "part 1 exists");
    // A refresh rewrites the split value under a new generation and drops the old parts.
    let mut refresh = with_env(home.cmd(&["token", "--force-refresh"]), &env);
    refresh
        .env("VMAUTH_STORE", "keyring")
        .env("VMAUTH_KEYRING_MAX_ITEM", "300");
    Run::from(refresh.output().unwrap()).expect_code(0);
    assert!(
        secret_tool_lookup(&ss, &part1).is_none_or(|s| s.is_empty()),
        "old generation removed"
    );
    let head2 = secret_tool_lookup(&ss, &key).unwrap();
    assert_ne!(head2, head);
    // Read back with the normal limit: chunked items are found all the same.
    run(&home, &env, "keyring", &["token"]).expect_code(0);
    let o = run(&home, &env, "keyring", &["logout"]);
    o.expect_code(0);
    let (_, generation2) = head2
        .strip_prefix("vmauth-chunked:")
        .and_then(|r| r.split_once(':'))
        .unwrap();
    let part1 = format!("{key}#vmauth-part-{generation2}-1");
    assert!(
        secret_tool_lookup(&ss, &part1).is_none_or(|s| s.is_empty()),
        "parts removed"
    );
    run(&home, &env, "keyring", &["token"]).expect_code(4);
}

#[test]
fn auto_uses_a_working_keychain_and_remembers_it() {
    let ss = SecretService::start(Keyring::Unlocked);
    let env = ss.env();
    let idp = Idp::start();
    let home = Home::new();
    let r = login_keyring(&home, &idp, &env, "auto", &[]);
    r.expect_code(0);
    assert!(!r.stderr.contains("no usable OS keychain"), "{}", r.stderr);
    assert!(!home.credentials().exists());
    let state: Value =
        serde_json::from_slice(&std::fs::read(home.config_dir().join("state.json")).unwrap())
            .unwrap();
    assert_eq!(state["auto_store"], "keyring");
    run(&home, &env, "auto", &["token"]).expect_code(0);
}

fn auto_falls_back(env: &[(String, String)]) {
    let idp = Idp::start();
    let home = Home::new();
    let r = login_keyring(&home, &idp, env, "auto", &[]);
    r.expect_code(0);
    let notices = r.stderr.matches("no usable OS keychain").count();
    assert_eq!(notices, 1, "one notice: {}", r.stderr);
    assert!(home.credentials().exists(), "login kept in the file");
    // Later calls do not probe again and print nothing extra.
    let t = run(&home, env, "auto", &["token"]);
    t.expect_code(0);
    assert_eq!(t.stderr, "");
    // Requiring the keychain is a clear configuration error, before any network.
    run(
        &home,
        env,
        "keyring",
        &[
            "login",
            "--issuer",
            "https://idp.invalid",
            "--client-id",
            "c",
        ],
    )
    .expect_code(2)
    .expect_error("--store keyring:");
}

#[test]
fn auto_falls_back_to_the_file_when_no_keychain_exists() {
    let dir = tempfile::tempdir().unwrap();
    auto_falls_back(&absent_env(dir.path()));
}

#[test]
fn auto_falls_back_to_the_file_when_the_keychain_is_locked() {
    let ss = SecretService::start(Keyring::Locked);
    auto_falls_back(&ss.env());
}

/// `auto` remembered the keychain, but it is gone now (an SSH session, no bus):
/// vmauth warns and works with the file instead of failing.
#[test]
fn auto_with_a_remembered_keychain_that_is_gone_uses_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let home = Home::new();
    std::fs::create_dir_all(home.config_dir()).unwrap();
    std::fs::write(
        home.config_dir().join("state.json"),
        r#"{"auto_store":"keyring"}"#,
    )
    .unwrap();
    let r = run(
        &home,
        &absent_env(dir.path()),
        "auto",
        &[
            "token",
            "--issuer",
            "https://idp.example",
            "--client-id",
            "c",
        ],
    );
    r.expect_code(4);
    assert!(
        r.stderr.contains("the OS keychain is not available now"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains(&home.credentials().display().to_string()),
        "{}",
        r.stderr
    );
}

/// The keychain answers reads but refuses the write after a successful token
/// request (locked): the token is kept in the file, with a warning, not lost.
#[test]
fn a_keychain_write_that_fails_goes_to_the_file() {
    let ss = SecretService::start(Keyring::Locked);
    let idp = Idp::start();
    let home = Home::new();
    std::fs::create_dir_all(home.config_dir()).unwrap();
    std::fs::write(
        home.config_dir().join("state.json"),
        r#"{"auto_store":"keyring"}"#,
    )
    .unwrap();
    let mut cmd = with_env(
        home.cmd(&[
            "token",
            "--client-credentials",
            "--issuer",
            &idp.issuer,
            "--client-id",
            "vmauth-ci",
        ]),
        &ss.env(),
    );
    cmd.env("VMAUTH_STORE", "auto")
        .env("VMAUTH_CLIENT_SECRET", "vmauth-ci-secret");
    let r = Run::from(cmd.output().unwrap());
    r.expect_code(0);
    assert!(
        r.stderr.contains("could not write to the OS keychain"),
        "{}",
        r.stderr
    );
    let doc = home.read_credentials();
    let entry = &doc["credentials"][format!("{}|vmauth-ci", idp.issuer)];
    assert_eq!(
        entry["access_token"],
        r.stdout.trim_end(),
        "the printed token is the stored one"
    );
}

/// A login made with `--store file` (the notebook login) refreshed by a plain
/// `vmauth token` while a keychain works: the refreshed login goes back to the
/// file, so the ValidMind library (which reads only the file) keeps a live
/// refresh token. The test IdP rotates refresh tokens and revokes the family on
/// reuse, so a stale copy anywhere would lose the login.
#[test]
fn a_file_login_refreshed_under_auto_stays_live_in_the_file() {
    let ss = SecretService::start(Keyring::Unlocked);
    let env = ss.env();
    let idp = Idp::start();
    let home = Home::new();
    let key = format!("{}|{CLIENT}", idp.issuer);
    login_keyring(&home, &idp, &env, "file", &[]).expect_code(0);
    let rt = |home: &Home| home.read_credentials()["credentials"][&key]["refresh_token"].clone();
    let before = rt(&home);
    run(&home, &env, "auto", &["token", "--force-refresh"]).expect_code(0);
    // (No token in a failure message: tests never print tokens.)
    assert!(rt(&home) != before, "the file holds the successor");
    assert!(secret_tool_lookup(&ss, &key).is_none(), "no second copy");
    // What the notebook reads is live: refreshing from the file works.
    run(&home, &env, "file", &["token", "--force-refresh"]).expect_code(0);
    assert_eq!(idp.count("error=invalid_grant"), 0);
}

/// Both stores hold the login, and one run has no keychain: it refreshes the
/// file's copy. The next run with the keychain takes the newer copy rather
/// than replaying the keychain's spent refresh token (which would revoke the
/// whole login at a provider that detects reuse).
#[test]
fn a_refresh_without_the_keychain_is_seen_by_the_next_run_with_it() {
    let ss = SecretService::start(Keyring::Unlocked);
    let env = ss.env();
    let idp = Idp::start();
    let home = Home::new();
    let key = format!("{}|{CLIENT}", idp.issuer);
    login_keyring(&home, &idp, &env, "auto", &[]).expect_code(0);
    // The same login in the file too (as an older vmauth left it).
    let item = secret_tool_lookup(&ss, &key).expect("in the keychain");
    let entry: Value = serde_json::from_str(&item).unwrap();
    std::fs::create_dir_all(home.credentials().parent().unwrap()).unwrap();
    std::fs::write(
        home.credentials(),
        serde_json::json!({"version": 1, "credentials": {&key: entry}}).to_string(),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(home.credentials(), std::fs::Permissions::from_mode(0o600)).unwrap();
    // No keychain for one run: auto (which remembered the keychain) uses the file.
    let gone = tempfile::tempdir().unwrap();
    let r = run(
        &home,
        &absent_env(gone.path()),
        "auto",
        &["token", "--force-refresh"],
    );
    r.expect_code(0);
    assert!(
        r.stderr.contains("the OS keychain is not available now"),
        "{}",
        r.stderr
    );
    // The keychain is back: the newer copy (the file's) is the one refreshed.
    let r = run(&home, &env, "auto", &["token", "--force-refresh"]);
    r.expect_code(0);
    assert_eq!(
        idp.count("error=invalid_grant"),
        0,
        "no spent refresh token replayed"
    );
    // Both copies are the same live login now.
    let file_rt = home.read_credentials()["credentials"][&key]["refresh_token"].clone();
    let keychain: Value = serde_json::from_str(&secret_tool_lookup(&ss, &key).unwrap()).unwrap();
    assert!(keychain["refresh_token"] == file_rt, "both copies agree");
    run(
        &home,
        &absent_env(gone.path()),
        "auto",
        &["token", "--force-refresh"],
    )
    .expect_code(0);
    run(&home, &env, "auto", &["token", "--force-refresh"]).expect_code(0);
    assert_eq!(idp.count("error=invalid_grant"), 0);
}

/// Both stores may hold the login, but the file cannot be read (damaged): a
/// refresh says so and goes on with the keychain's copy, which it keeps.
#[test]
fn a_damaged_credentials_file_does_not_stop_a_keychain_refresh() {
    let ss = SecretService::start(Keyring::Unlocked);
    let env = ss.env();
    let idp = Idp::start();
    let home = Home::new();
    let key = format!("{}|{CLIENT}", idp.issuer);
    login_keyring(&home, &idp, &env, "auto", &[]).expect_code(0);
    std::fs::create_dir_all(home.credentials().parent().unwrap()).unwrap();
    std::fs::write(home.credentials(), "{ not json").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(home.credentials(), std::fs::Permissions::from_mode(0o600)).unwrap();
    let r = run(&home, &env, "auto", &["token", "--force-refresh"]);
    r.expect_code(0);
    assert!(
        r.stderr.contains("was not read") && r.stderr.contains("using the OS keychain's copy"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr
            .contains("the login is stored in the OS keychain only"),
        "{}",
        r.stderr
    );
    // The refreshed login is the keychain's, and the damaged file is untouched.
    assert!(secret_tool_lookup(&ss, &key).is_some());
    assert_eq!(
        std::fs::read_to_string(home.credentials()).unwrap(),
        "{ not json"
    );
    run(&home, &env, "auto", &["token", "--force-refresh"]).expect_code(0);
    assert_eq!(idp.count("error=invalid_grant"), 0);
}
