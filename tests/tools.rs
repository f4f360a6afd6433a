//! Tools that ask vmauth themselves, for real: `git` (credential helper, over
//! `git http-backend` behind a loopback front that checks tokens with the test
//! IdP) and `cargo` (credential provider, a loopback sparse registry).

mod support;

use std::os::unix::fs::PermissionsExt;

use support::cli::Home;
use support::git_server::{GitServer, Scheme, git_with_helper};
use support::idp::Idp;
use support::login::{CLIENT, expire_in_file, login, stored};

/// A home whose config.toml has profile `git` (the test IdP's device client)
/// serving `host`, logged in.
fn logged_in_for(idp: &Idp, host: &str) -> Home {
    let home = Home::new();
    std::fs::create_dir_all(home.config_dir()).unwrap();
    std::fs::set_permissions(home.config_dir(), std::fs::Permissions::from_mode(0o700)).unwrap();
    let config = home.config_dir().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[profiles.git]\nissuer = \"{}\"\nclient_id = \"{CLIENT}\"\ngit_hosts = [\"{host}\"]\n\n[profiles.other]\nissuer = \"{}\"\nclient_id = \"{CLIENT}\"\ngit_hosts = [\"git.example.com\"]\n",
            idp.issuer, idp.issuer
        ),
    )
    .unwrap();
    std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o600)).unwrap();
    login(&home, idp, &["--profile", "git"]).expect_code(0);
    home
}

fn env_of(home: &Home) -> Vec<(std::ffi::OsString, Option<std::ffi::OsString>)> {
    home.cmd(&[])
        .get_envs()
        .map(|(k, v)| (k.to_os_string(), v.map(|v| v.to_os_string())))
        .collect()
}

fn host_of(server: &GitServer) -> String {
    server.origin.trim_start_matches("http://").to_string()
}

#[test]
fn git_gets_a_bearer_token_and_a_fresh_one_after_expiry() {
    let idp = Idp::start();
    let server = GitServer::start(&idp.issuer, Scheme::Bearer);
    let home = logged_in_for(&idp, &host_of(&server));
    let env = env_of(&home);
    let dir = tempfile::tempdir().unwrap();
    let out = git_with_helper(
        dir.path(),
        &server.origin,
        "",
        &env,
        &["ls-remote", &server.url()],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("refs/heads/main"));
    // git asked without credentials, was challenged, and came back with a Bearer token.
    let seen = server.seen();
    assert_eq!(seen.first(), Some(&("none".to_string(), 401)), "{seen:?}");
    assert!(
        seen.iter().any(|s| s == &("Bearer".to_string(), 200)),
        "{seen:?}"
    );

    // The token expires between two fetches: the helper refreshes it.
    let key = format!("{}|{CLIENT}", idp.issuer);
    let before = stored(&home, &key)["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    expire_in_file(&home, &key);
    let out = git_with_helper(
        dir.path(),
        &server.origin,
        "",
        &env,
        &["clone", "-q", &server.url(), "clone"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("clone/README")).unwrap(),
        "hello from the test server\n"
    );
    let after = stored(&home, &key)["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    assert_ne!(before, after, "refreshed");
    assert!(idp.count("grant_type=refresh_token") >= 1);
}

#[test]
fn git_gets_the_token_as_a_password_when_the_server_wants_basic() {
    let idp = Idp::start();
    let server = GitServer::start(&idp.issuer, Scheme::Basic);
    let home = logged_in_for(&idp, &host_of(&server));
    let dir = tempfile::tempdir().unwrap();
    let out = git_with_helper(
        dir.path(),
        &server.origin,
        "",
        &env_of(&home),
        &["ls-remote", &server.url()],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        server
            .seen()
            .iter()
            .any(|s| s == &("Basic oauth2".to_string(), 200)),
        "{:?}",
        server.seen()
    );
}

#[test]
fn a_refused_token_is_erased_and_the_next_get_refreshes() {
    let idp = Idp::start();
    let server = GitServer::start(&idp.issuer, Scheme::Bearer);
    let home = logged_in_for(&idp, &host_of(&server));
    let env = env_of(&home);
    let key = format!("{}|{CLIENT}", idp.issuer);
    let token = stored(&home, &key)["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    // The server refuses this token (say, it wants another audience).
    server.refuse(&token);
    let dir = tempfile::tempdir().unwrap();
    let out = git_with_helper(
        dir.path(),
        &server.origin,
        "",
        &env,
        &["ls-remote", &server.url()],
    );
    assert!(!out.status.success(), "the revoked token is refused");
    // git told the helper (erase): the next get refreshes before answering.
    let out = git_with_helper(
        dir.path(),
        &server.origin,
        "",
        &env,
        &["ls-remote", &server.url()],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_ne!(stored(&home, &key)["access_token"].as_str().unwrap(), token);
}

#[test]
fn a_host_no_login_serves_gets_no_answer_and_store_keeps_nothing() {
    let idp = Idp::start();
    let home = logged_in_for(&idp, "git.example.net");
    let helper = |op: &str, input: &str| {
        let mut cmd = home.cmd(&["git-credential", op]);
        cmd.stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        let mut child = cmd.spawn().unwrap();
        std::io::Write::write_all(child.stdin.as_mut().unwrap(), input.as_bytes()).unwrap();
        drop(child.stdin.take());
        child.wait_with_output().unwrap()
    };
    let out = helper("get", "protocol=https\nhost=unknown.example\n\n");
    assert!(
        out.status.success() && out.stdout.is_empty() && out.stderr.is_empty(),
        "{out:?}"
    );
    // http to a host that is not loopback: never a token.
    let out = helper("get", "protocol=http\nhost=git.example.net\n\n");
    assert!(out.stdout.is_empty(), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("only https"),
        "{out:?}"
    );
    // The served host: the token, as a Bearer credential when git can take one.
    let out = helper(
        "get",
        "capability[]=authtype\nprotocol=https\nhost=git.example.net\n\n",
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.starts_with("capability[]=authtype\nauthtype=Bearer\ncredential="),
        "{text}"
    );
    assert!(text.contains("ephemeral=true"), "{text}");
    // store: nothing written, nothing said.
    let before = std::fs::read(home.credentials()).unwrap();
    let out = helper(
        "store",
        "protocol=https\nhost=git.example.net\nusername=x\npassword=y\n\n",
    );
    assert!(out.status.success() && out.stdout.is_empty());
    assert_eq!(std::fs::read(home.credentials()).unwrap(), before);
}
