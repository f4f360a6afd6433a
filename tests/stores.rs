//! The memory store and the external credential-helper store, end to end.

mod support;

use std::path::PathBuf;

use support::cli::{Home, Run, cc_args};
use support::idp::Idp;
use support::login::*;

fn example_helper() -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("examples/vmauth-credential-helper-dir")
        .display()
        .to_string()
}

/// A helper script written for one test.
fn script(home: &Home, name: &str, body: &str) -> String {
    let path = home.dir.path().join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path.display().to_string()
}

fn with_helper(home: &Home, helper: &str, args: &[&str]) -> Run {
    let mut c = home.cmd(args);
    c.env("VMAUTH_STORE", "helper")
        .env("VMAUTH_CREDENTIAL_HELPER", helper)
        .env("VMAUTH_HELPER_DIR", home.dir.path().join("helper-store"))
        .env("VMAUTH_CLIENT_SECRET", "vmauth-ci-secret")
        .env("VMAUTH_HELPER_TIMEOUT", "2");
    Run::from(c.output().unwrap())
}

/// `vmauth token` for a login the helper is asked to `get`, with a helper script
/// made of `body`.
fn token_via(home: &Home, name: &str, body: &str) -> Run {
    let h = script(home, name, body);
    with_helper(
        home,
        &h,
        &[
            "token",
            "--issuer",
            "https://idp.example",
            "--client-id",
            "c",
        ],
    )
}

/// A helper that never answers is stopped at the deadline (2 s here).
fn assert_times_out(body: &str) {
    let home = Home::new();
    let started = std::time::Instant::now();
    token_via(&home, "hang", body)
        .expect_code(1)
        .expect_error("get failed: no answer within 2s");
    assert!(started.elapsed() < std::time::Duration::from_secs(30));
}

#[test]
fn helper_round_trip_with_the_example_helper() {
    let idp = Idp::start();
    let home = Home::new();
    let helper = example_helper();
    let cc = cc_args(&idp.issuer, "vmauth-ci");
    let first = with_helper(&home, &helper, &cc);
    first.expect_code(0);
    assert_eq!(first.stderr, "");
    // Served by the helper's copy: one token request only.
    let second = with_helper(&home, &helper, &cc);
    second.expect_code(0);
    assert_eq!(first.stdout, second.stdout);
    assert_eq!(
        idp.count("POST /token 200 grant_type=client_credentials"),
        1
    );
    assert!(!home.credentials().exists(), "nothing in the file store");
    let files: Vec<_> = std::fs::read_dir(home.dir.path().join("helper-store"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(
        files.iter().filter(|f| f.ends_with(".json")).count(),
        1,
        "{files:?}"
    );

    let status = with_helper(&home, &helper, &["status", "--all", "--json"]);
    status.expect_code(0);
    let doc: serde_json::Value = serde_json::from_str(&status.stdout).unwrap();
    assert_eq!(doc["logins"][0]["store"], "helper");
    assert_eq!(doc["logins"][0]["client_id"], "vmauth-ci");

    let out = with_helper(&home, &helper, &["logout", "--all"]);
    out.expect_code(0);
    let left = std::fs::read_dir(home.dir.path().join("helper-store"))
        .unwrap()
        .count();
    assert_eq!(left, 0, "erased");
}

#[test]
fn helper_missing() {
    let home = Home::new();
    with_helper(&home, "/nonexistent/vmauth-helper", &["status", "--all"])
        .expect_code(1)
        .expect_error(
            "credential helper \"/nonexistent/vmauth-helper\" list failed: cannot run it",
        );
}

#[test]
fn helper_that_fails_shows_its_message() {
    token_via(&Home::new(), "sealed", "echo 'vault is sealed' >&2; exit 3")
        .expect_code(1)
        .expect_error("get failed: exit status 3: vault is sealed");
}

#[test]
fn helper_that_hangs_times_out() {
    assert_times_out("exec sleep 60");
}

#[test]
fn helper_that_prints_garbage() {
    token_via(&Home::new(), "garbage", "echo 'this is not json'")
        .expect_code(1)
        .expect_error("printed something that is not a vmauth credential");
}

#[test]
fn helper_store_needs_a_program() {
    let home = Home::new();
    let r = Run::from(
        home.cmd(&["token"])
            .env("VMAUTH_STORE", "helper")
            .output()
            .unwrap(),
    );
    r.expect_code(2)
        .expect_error("--store helper needs VMAUTH_CREDENTIAL_HELPER");
}

#[test]
fn memory_login_prints_the_token_and_writes_nothing() {
    let idp = Idp::start();
    let home = Home::new();
    let args = login_args(&idp, &["--store", "memory"]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut p = PendingLogin::spawn(home.cmd(&args));
    let url = p.verification_url();
    idp.approve(&url);
    let r = p.finish();
    r.expect_code(0);
    let token = r.stdout.trim_end();
    assert_eq!(introspect(&idp, token)["active"], true);
    assert!(r.stderr.contains("nothing stored"), "{}", r.stderr);
    assert!(!home.credentials().exists());
    assert!(!home.config_dir().join("state.json").exists());
    // Another process finds nothing.
    home.run(&["token", "--store", "memory"]).expect_code(4);
}

#[test]
fn no_persist_variable_means_memory() {
    let idp = Idp::start();
    let home = Home::new();
    let cc = |h: &Home| {
        let mut c = h.cmd(&cc_args(&idp.issuer, "vmauth-ci"));
        c.env_remove("VMAUTH_STORE")
            .env("VM_OIDC_NO_PERSIST", "yes")
            .env("VMAUTH_CLIENT_SECRET", "vmauth-ci-secret");
        Run::from(c.output().unwrap())
    };
    cc(&home).expect_code(0);
    cc(&home).expect_code(0);
    // Nothing is cached between calls: every call asks the IdP.
    assert_eq!(
        idp.count("POST /token 200 grant_type=client_credentials"),
        2
    );
    assert!(!home.credentials().exists());
}

#[test]
fn helper_that_closes_its_output_and_hangs_times_out() {
    assert_times_out("exec >&- 2>&-\nexec sleep 60");
}

#[test]
fn helper_does_not_see_the_client_secret() {
    let home = Home::new();
    let seen = home.dir.path().join("helper-env");
    token_via(&home, "envdump", &format!("env > '{}'", seen.display())).expect_code(4);
    let env = std::fs::read_to_string(&seen).unwrap();
    assert!(
        env.contains("VMAUTH_HELPER_DIR"),
        "the helper ran with vmauth's environment"
    );
    assert!(
        !env.contains("vmauth-ci-secret"),
        "no client secret in the helper's environment"
    );
}
