//! Many `vmauth token` processes at once on an expired token, against the real
//! test IdP with refresh-token rotation: exactly one refresh, everyone prints the
//! same new token, and the login survives. File store and keychain.

mod support;

use std::process::{Child, Command, Stdio};

use serde_json::Value;
use support::cli::{Home, Run, cc_args};
use support::idp::Idp;
use support::login::*;
use support::secret_service::{Keyring, SecretService};

const PROCESSES: usize = 50;

fn spawn(mut cmd: Command) -> Child {
    cmd.stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Start every process first, then collect them all.
fn run_all(cmds: Vec<Command>) -> Vec<Run> {
    let children: Vec<Child> = cmds.into_iter().map(spawn).collect();
    children
        .into_iter()
        .map(|c| Run::from(c.wait_with_output().unwrap()))
        .collect()
}

fn assert_single_refresh(idp: &Idp, runs: &[Run], old: &str) {
    for r in runs {
        r.expect_code(0);
        assert_eq!(r.stderr, "", "quiet on stderr");
    }
    let first = runs[0].stdout.clone();
    assert!(
        runs.iter().all(|r| r.stdout == first),
        "all print the same token"
    );
    assert_ne!(first.trim_end(), old, "a refreshed token");
    assert_eq!(
        idp.count("POST /token 200 grant_type=refresh_token"),
        1,
        "exactly one refresh"
    );
    assert_eq!(
        idp.count("error=invalid_grant"),
        0,
        "no spent refresh token was replayed"
    );
    assert_eq!(introspect(idp, first.trim_end())["active"], true);
}

/// A device login in the credentials file of a new home, its access token
/// expired: the IdP, the home, and the old access token.
fn expired_file_login() -> (Idp, Home, String) {
    let idp = Idp::start();
    let home = Home::new();
    let key = format!("{}|{CLIENT}", idp.issuer);
    login(&home, &idp, &[]).expect_code(0);
    let old = stored(&home, &key)["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    expire_in_file(&home, &key);
    (idp, home, old)
}

#[test]
fn fifty_parallel_tokens_refresh_once_with_the_file_store() {
    let (idp, home, old) = expired_file_login();

    let runs = run_all((0..PROCESSES).map(|_| home.cmd(&["token"])).collect());
    assert_single_refresh(&idp, &runs, &old);
    // The login still works afterwards: the stored refresh token is the live one.
    home.run(&["token", "--force-refresh"]).expect_code(0);
    assert_eq!(idp.count("POST /token 200 grant_type=refresh_token"), 2);
}

/// Processes that share the credentials file but not a config directory (snap
/// or flatpak terminals, containers mounting ~/.validmind) take the same lock:
/// it sits beside the credentials file.
#[test]
fn processes_with_different_config_directories_sharing_the_file_refresh_once() {
    let (idp, home, old) = expired_file_login();
    let runs = run_all(
        (0..PROCESSES)
            .map(|i| {
                let mut c = home.cmd(&["token", "--issuer", &idp.issuer, "--client-id", CLIENT]);
                c.env(
                    "VMAUTH_CONFIG_DIR",
                    home.dir.path().join(format!("config-{i}")),
                );
                c
            })
            .collect(),
    );
    assert_single_refresh(&idp, &runs, &old);
    home.run(&["token", "--force-refresh"]).expect_code(0);
}

#[test]
fn fifty_parallel_tokens_refresh_once_with_the_keychain() {
    let ss = SecretService::start(Keyring::Unlocked);
    let idp = Idp::start();
    let home = Home::new();
    let with_keyring = |args: &[&str]| {
        let mut c = home.cmd(args);
        c.envs(ss.env()).env("VMAUTH_STORE", "keyring");
        c
    };
    let args = login_args(&idp, &["--no-qr"]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut p = PendingLogin::spawn(with_keyring(&args));
    let url = p.verification_url();
    idp.approve(&url);
    p.finish().expect_code(0);
    let key = format!("{}|{CLIENT}", idp.issuer);

    // Expire the stored token, as time would, by rewriting the Secret Service item
    // with another client (secret-tool replaces the item with the same attributes).
    let current = Command::new("secret-tool")
        .envs(ss.env())
        .args(["lookup", "service", "vmauth", "username", &key])
        .output()
        .expect("secret-tool (Debian libsecret-tools) is needed");
    let mut item: Value = serde_json::from_slice(&current.stdout).expect("the login's item");
    let old = item["access_token"].as_str().unwrap().to_string();
    item["expires_at"] = Value::from("2000-01-01T00:00:00Z");
    let mut store = Command::new("secret-tool")
        .envs(ss.env())
        .args([
            "store",
            "--label",
            "vmauth test",
            "service",
            "vmauth",
            "username",
            &key,
        ])
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(
        &mut store.stdin.take().unwrap(),
        item.to_string().as_bytes(),
    )
    .unwrap();
    assert!(store.wait().unwrap().success());

    let runs = run_all((0..PROCESSES).map(|_| with_keyring(&["token"])).collect());
    assert_single_refresh(&idp, &runs, &old);
    Run::from(
        with_keyring(&["token", "--force-refresh"])
            .output()
            .unwrap(),
    )
    .expect_code(0);
    assert_eq!(idp.count("POST /token 200 grant_type=refresh_token"), 2);
}

#[test]
fn parallel_logins_for_different_clients_are_all_kept() {
    let idp = Idp::start();
    let home = Home::new();
    let clients = [
        ("vmauth-ci", "vmauth-ci-secret", None),
        ("vmauth-ci", "vmauth-ci-secret", Some(API)),
        ("vmauth-ci-post", "vmauth-ci-post-secret", None),
        ("vmauth-ci-post", "vmauth-ci-post-secret", Some(API)),
    ];
    let cmds = clients
        .iter()
        .flat_map(|(id, secret, aud)| {
            (0..5)
                .map(|_| {
                    let mut args = cc_args(&idp.issuer, id);
                    if let Some(a) = aud {
                        args.extend_from_slice(&["--audience", a]);
                    }
                    let mut c = home.cmd(&args);
                    c.env("VMAUTH_CLIENT_SECRET", secret);
                    c
                })
                .collect::<Vec<_>>()
        })
        .collect();
    for r in run_all(cmds) {
        r.expect_code(0);
    }
    let creds = home.read_credentials()["credentials"].clone();
    assert_eq!(creds.as_object().unwrap().len(), 4, "{creds}");
    // One request per login: the others waited on the lock and used its token.
    assert_eq!(
        idp.count("POST /token 200 grant_type=client_credentials"),
        4
    );
}

/// Tokens that live less than --min-ttl (30 s here, against the default 60 s):
/// 20 parallel calls on an expired login share one refresh, and the calls after
/// it use the new token instead of refreshing again (the margin is at most half
/// the granted lifetime).
#[test]
fn short_lived_tokens_are_shared_not_refreshed_by_every_caller() {
    let idp = Idp::start_with(&[("IDP_ACCESS_TOKEN_TTL", "30")]);
    let home = Home::new();
    let key = format!("{}|{CLIENT}", idp.issuer);
    login(&home, &idp, &[]).expect_code(0);
    expire_in_file(&home, &key);
    let runs = run_all((0..20).map(|_| home.cmd(&["token"])).collect());
    let first = &runs[0].stdout;
    assert!(
        runs.iter().all(|r| r.code == 0 && &r.stdout == first),
        "one token for all"
    );
    for _ in 0..5 {
        let r = home.run(&["token"]);
        assert_eq!(&r.stdout, first, "later calls use it too");
    }
    assert_eq!(
        idp.count("POST /token 200 grant_type=refresh_token"),
        1,
        "{:?}",
        idp.log()
    );
}
