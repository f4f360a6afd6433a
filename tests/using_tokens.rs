//! Using the token: `vmauth exec` and the shell form of `vmauth token -o env`,
//! with the real binary and real shells, on a stored login (no network).
#![cfg(unix)]

mod support;

use std::os::unix::process::ExitStatusExt;
use std::process::Command;

use serde_json::json;
use support::cli::{Home, Run};

/// Every character RFC 6750's token68 allows.
const TOKEN: &str = "Az09-._~+/Zz==";

fn home_with_login(token: &str) -> Home {
    let home = Home::new();
    let key = "https://idp.example.com|cli";
    let doc = json!({"version": 1, "credentials": {key: {
        "issuer": "https://idp.example.com", "client_id": "cli", "access_token": token,
        "refresh_token": "rt-1234", "id_token": null, "expires_at": "2999-01-01T00:00:00Z"}}});
    std::fs::create_dir_all(home.credentials().parent().unwrap()).unwrap();
    std::fs::write(home.credentials(), doc.to_string()).unwrap();
    std::fs::set_permissions(
        home.credentials(),
        std::os::unix::fs::PermissionsExt::from_mode(0o600),
    )
    .unwrap();
    std::fs::create_dir_all(home.config_dir()).unwrap();
    std::fs::write(
        home.config_dir().join("state.json"),
        json!({"current": key}).to_string(),
    )
    .unwrap();
    home
}

/// `bash -c SCRIPT` with vmauth's environment for `home` and `$VMAUTH` naming the binary.
fn bash(home: &Home, script: &str) -> Run {
    let vm = home.cmd(&[]);
    let mut c = Command::new("bash");
    c.arg("-c").arg(script);
    for (k, v) in vm.get_envs() {
        match v {
            Some(v) => c.env(k, v),
            None => c.env_remove(k),
        };
    }
    c.env("VMAUTH", env!("CARGO_BIN_EXE_vmauth"));
    Run::from(c.output().unwrap())
}

#[test]
fn the_env_form_survives_eval_with_every_token68_character() {
    let home = home_with_login(TOKEN);
    let r = bash(
        &home,
        r#"eval "$("$VMAUTH" token -o env)" && printf '%s|%s' "$VMAUTH_TOKEN" "$VMAUTH_TOKEN_EXPIRES_AT""#,
    );
    r.expect_code(0);
    assert_eq!(r.stdout, format!("{TOKEN}|2999-01-01T00:00:00Z"));
}

#[test]
fn exec_gives_the_command_the_token_in_its_environment_only() {
    let home = home_with_login(TOKEN);
    let r = home.run(&[
        "exec",
        "--",
        "sh",
        "-c",
        r#"printf '%s|%s|%s|%s' "$VMAUTH_TOKEN" "$VMAUTH_TOKEN_EXPIRES_AT" "${VMAUTH_USER_SUB-unset}" "$*""#,
        "sh",
        "plain",
        "args",
    ]);
    r.expect_code(0);
    // No verified claims in this login: no user variables; the arguments pass through.
    assert_eq!(
        r.stdout,
        format!("{TOKEN}|2999-01-01T00:00:00Z|unset|plain args")
    );
    let r = home.run(&[
        "exec",
        "--env",
        "API_TOKEN",
        "--",
        "sh",
        "-c",
        r#"printf '%s|%s' "$API_TOKEN" "${VMAUTH_TOKEN-unset}""#,
    ]);
    assert_eq!(r.stdout, format!("{TOKEN}|unset"));
    // The client secret is vmauth's, not the command's.
    let r = Run::from(
        home.cmd(&[
            "exec",
            "--",
            "sh",
            "-c",
            r#"printf '%s' "${VMAUTH_CLIENT_SECRET-unset}""#,
        ])
        .env("VMAUTH_CLIENT_SECRET", "ci-secret")
        .output()
        .unwrap(),
    );
    assert_eq!(r.stdout, "unset");
    // The token is not on the command line of the process vmauth became.
    let r = home.run(&["exec", "--", "sh", "-c", "tr '\\0' ' ' </proc/$$/cmdline"]);
    assert!(!r.stdout.contains(TOKEN), "{}", r.stdout);
    // Nested: the inner exec gets its own token.
    let vm = env!("CARGO_BIN_EXE_vmauth");
    let r = home.run(&[
        "exec",
        "--",
        vm,
        "exec",
        "--",
        "sh",
        "-c",
        r#"printf '%s' "$VMAUTH_TOKEN""#,
    ]);
    r.expect_code(0);
    assert_eq!(r.stdout, TOKEN);
}

#[test]
fn exec_passes_on_the_commands_exit_status_and_signal() {
    let home = home_with_login(TOKEN);
    home.run(&["exec", "--", "sh", "-c", "exit 7"])
        .expect_code(7);
    let out = home
        .cmd(&["exec", "--", "sh", "-c", "kill -TERM $$"])
        .output()
        .unwrap();
    assert_eq!(out.status.signal(), Some(libc::SIGTERM), "{out:?}");
}

#[test]
fn exec_reports_commands_that_cannot_run_as_shells_do() {
    let home = home_with_login(TOKEN);
    home.run(&["exec", "--", "/nonexistent/vmauth-test-command"])
        .expect_code(127)
        .expect_error("cannot run \"/nonexistent/vmauth-test-command\"");
    let script = home.dir.path().join("not-executable.sh");
    std::fs::write(&script, "#!/bin/sh\necho hi\n").unwrap();
    home.run(&["exec", "--", script.to_str().unwrap()])
        .expect_code(126)
        .expect_error("cannot run");
    home.run(&["exec"]).expect_code(2);
}

#[test]
fn exec_without_a_login_exits_4_and_starts_nothing() {
    let home = Home::new();
    let marker = home.dir.path().join("started");
    let r = home.run(&["exec", "--", "touch", marker.to_str().unwrap()]);
    r.expect_code(4).expect_error("not logged in");
    assert!(!marker.exists(), "the command must not run");
}

#[test]
fn a_claim_an_environment_cannot_hold_is_skipped_and_the_command_runs() {
    let home = home_with_login(TOKEN);
    let key = "https://idp.example.com|cli";
    let mut doc: serde_json::Value =
        serde_json::from_slice(&std::fs::read(home.credentials()).unwrap()).unwrap();
    doc["credentials"][key]["userinfo"] =
        json!({"sub": "alice", "name": "Al\u{0}ice", "email": "alice@example.com"});
    std::fs::write(home.credentials(), doc.to_string()).unwrap();
    let r = home.run(&[
        "exec",
        "--",
        "sh",
        "-c",
        r#"printf '%s|%s|%s' "$VMAUTH_USER_SUB" "${VMAUTH_USER_NAME-unset}" "$VMAUTH_USER_EMAIL""#,
    ]);
    r.expect_code(0);
    assert_eq!(r.stdout, "alice|unset|alice@example.com");
    assert_eq!(
        r.stderr,
        "vmauth: warning: the name claim holds a NUL byte, which an environment variable cannot; VMAUTH_USER_NAME is not set\n"
    );
}
