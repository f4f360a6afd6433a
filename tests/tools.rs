//! Tools that ask vmauth themselves, for real: `git` (credential helper, over
//! `git http-backend` behind a loopback front that checks tokens with the test
//! IdP) and `cargo` (credential provider, a loopback sparse registry).

mod support;

use support::cli::Home;
use support::git_server::{GitServer, Scheme, git_with_helper};
use support::idp::Idp;
use support::login::{CLIENT, expire_in_file, login, stored};

/// A home whose config.toml has profile `git` (the test IdP's device client)
/// serving `host`, logged in.
fn logged_in_for(idp: &Idp, host: &str) -> Home {
    let home = Home::new();
    home.write_config(&format!(
            "[profiles.git]\nissuer = \"{}\"\nclient_id = \"{CLIENT}\"\ngit_hosts = [\"{host}\"]\n\n[profiles.other]\nissuer = \"{}\"\nclient_id = \"{CLIENT}\"\ngit_hosts = [\"git.example.com\"]\n",
            idp.issuer, idp.issuer
        ));
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

/// Whether this git takes a Bearer credential from a helper (2.46 and later).
fn git_has_authtype() -> bool {
    let out = std::process::Command::new("git")
        .arg("--version")
        .output()
        .unwrap();
    let v = String::from_utf8_lossy(&out.stdout);
    let mut n = v
        .split_whitespace()
        .nth(2)
        .unwrap_or("0")
        .split('.')
        .map(|p| p.parse::<u32>().unwrap_or(0));
    (n.next().unwrap_or(0), n.next().unwrap_or(0)) >= (2, 46)
}

/// A test IdP, a git server wanting `scheme`, and a home logged in for it;
/// `None` (with a visible note) when this git cannot take a Bearer credential.
fn git_fixture(scheme: Scheme) -> Option<(Idp, GitServer, Home)> {
    if scheme == Scheme::Bearer && !git_has_authtype() {
        eprintln!(
            "NOTE: skipped: this git is older than 2.46 and cannot take a Bearer credential from a helper (the password form is tested)"
        );
        return None;
    }
    let idp = Idp::start();
    let server = GitServer::start(&idp.issuer, scheme);
    let home = logged_in_for(&idp, &host_of(&server));
    Some((idp, server, home))
}

#[test]
fn git_gets_a_bearer_token_and_a_fresh_one_after_expiry() {
    let Some((idp, server, home)) = git_fixture(Scheme::Bearer) else {
        return;
    };
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
    let (_idp, server, home) = git_fixture(Scheme::Basic).unwrap();
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
    let Some((idp, server, home)) = git_fixture(Scheme::Bearer) else {
        return;
    };
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
    // A VMAUTH_PROFILE exported for other programs does not change that.
    let mut cmd = home.cmd(&["git-credential", "get"]);
    cmd.env("VMAUTH_PROFILE", "git")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    std::io::Write::write_all(
        child.stdin.as_mut().unwrap(),
        b"protocol=https\nhost=github.com\n\n",
    )
    .unwrap();
    drop(child.stdin.take());
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success() && out.stdout.is_empty(), "{out:?}");
    // Nor does --profile on the helper line, for a host the profile does not list.
    let mut cmd = home.cmd(&["--profile", "git", "git-credential", "get"]);
    cmd.stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    std::io::Write::write_all(
        child.stdin.as_mut().unwrap(),
        b"protocol=https\nhost=github.com\n\n",
    )
    .unwrap();
    drop(child.stdin.take());
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success() && out.stdout.is_empty(), "{out:?}");
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

/// A cargo project that depends on the registry's crate, with vmauth as the
/// registry's credential provider (`provider` after the program), and cargo's
/// own home in the project (nothing of the developer's).
fn cargo_project(
    registry: &support::cargo_registry::Registry,
    provider: &[&str],
) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("src")).unwrap();
    std::fs::create_dir_all(dir.path().join(".cargo")).unwrap();
    std::fs::write(
        dir.path().join("Cargo.toml"),
        "[package]\nname = \"uses-dep\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\nvmtest-dep = { version = \"0.1\", registry = \"vmtest\" }\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("src/lib.rs"), "").unwrap();
    let mut line = vec![format!("\"{}\"", env!("CARGO_BIN_EXE_vmauth"))];
    line.extend(provider.iter().map(|a| format!("\"{a}\"")));
    std::fs::write(
        dir.path().join(".cargo/config.toml"),
        format!(
            "[registries.vmtest]\nindex = \"{}\"\ncredential-provider = [{}]\n",
            registry.index,
            line.join(", ")
        ),
    )
    .unwrap();
    dir
}

fn cargo(home: &Home, project: &Path, args: &[&str]) -> std::process::Output {
    let mut cmd = std::process::Command::new(env!("CARGO"));
    cmd.args(args)
        .current_dir(project)
        .env("CARGO_HOME", project.join("cargo-home"))
        .env_remove("CARGO_REGISTRIES_CRATES_IO_PROTOCOL")
        .env_remove("RUSTC_WRAPPER")
        .stdin(std::process::Stdio::null());
    for (k, v) in env_of(home) {
        match v {
            Some(v) => cmd.env(k, v),
            None => cmd.env_remove(k),
        };
    }
    cmd.output().expect("run cargo")
}

use std::path::Path;

#[test]
fn cargo_fetches_from_a_registry_that_needs_the_login_and_says_when_there_is_none() {
    let idp = Idp::start();
    let registry = support::cargo_registry::Registry::start(&idp.issuer);
    let home = logged_in_for(&idp, "git.example.net");
    let project = cargo_project(&registry, &["--profile", "git"]);
    let out = cargo(&home, project.path(), &["fetch"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let seen = registry.seen();
    assert!(
        seen.iter()
            .any(|(p, s)| p == "/dl/vmtest-dep-0.1.0.crate" && *s == 200),
        "{seen:?}"
    );
    assert!(
        String::from_utf8_lossy(&std::fs::read(project.path().join("Cargo.lock")).unwrap())
            .contains("vmtest-dep")
    );

    // Logged out: cargo fails, showing vmauth's message.
    home.run(&["logout", "--all"]).expect_code(0);
    let project = cargo_project(&registry, &["--profile", "git"]);
    let out = cargo(&home, project.path(), &["generate-lockfile"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("vmauth login --profile git"), "{err}");
}

#[test]
fn the_cargo_provider_answers_by_registry_and_refuses_login() {
    let idp = Idp::start();
    let home = Home::new();
    home.write_config(&format!("[profiles.crates]\nissuer = \"{}\"\nclient_id = \"{CLIENT}\"\ncargo_registries = [\"vmtest\"]\n", idp.issuer));
    login(&home, &idp, &["--profile", "crates"]).expect_code(0);
    let talk = |lines: &str| {
        let mut cmd = home.cmd(&["--cargo-plugin"]);
        cmd.stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        let mut child = cmd.spawn().unwrap();
        std::io::Write::write_all(child.stdin.as_mut().unwrap(), lines.as_bytes()).unwrap();
        drop(child.stdin.take());
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{out:?}");
        String::from_utf8(out.stdout).unwrap()
    };
    let out = talk(concat!(
        r#"{"v":1,"kind":"get","operation":"read","registry":{"index-url":"sparse+https://crates.example/index/","name":"vmtest"},"args":[]}"#,
        "\n",
        r#"{"v":1,"kind":"get","operation":"read","registry":{"index-url":"sparse+https://other.example/index/","name":"other"},"args":[]}"#,
        "\n",
        r#"{"v":1,"kind":"login","registry":{"index-url":"sparse+https://crates.example/index/","name":"vmtest"},"args":[]}"#,
        "\n",
        r#"{"v":1,"kind":"get","operation":"read","registry":{"index-url":"sparse+http://crates.example/index/","name":"vmtest"},"args":[]}"#,
        "\n",
    ));
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], r#"{"v":[1]}"#);
    let get: serde_json::Value = serde_json::from_str(lines[1]).unwrap();
    let key = format!("{}|{CLIENT}", idp.issuer);
    let at = stored(&home, &key)["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(get["Ok"]["token"], format!("Bearer {at}"));
    assert_eq!(get["Ok"]["cache"], "expires");
    assert_eq!(get["Ok"]["operation_independent"], true);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let expiration = get["Ok"]["expiration"].as_i64().unwrap();
    assert!(
        now < expiration && expiration < now + 3600,
        "{expiration} vs {now}"
    );
    assert_eq!(lines[2], r#"{"Err":{"kind":"not-found"}}"#);
    let plain: serde_json::Value = serde_json::from_str(lines[4]).unwrap();
    assert_eq!(
        plain["Err"]["kind"], "other",
        "no token over plain http: {plain}"
    );
    assert!(
        plain["Err"]["message"]
            .as_str()
            .unwrap()
            .contains("only https"),
        "{plain}"
    );
    let login: serde_json::Value = serde_json::from_str(lines[3]).unwrap();
    assert_eq!(login["Err"]["kind"], "other");
    assert!(
        login["Err"]["message"]
            .as_str()
            .unwrap()
            .contains("vmauth login --profile crates")
    );
}

/// git writes its whole request before it reads an answer; a helper that
/// leaves without reading it would cut git off with a broken pipe (seen in
/// CI with `store`, which has nothing to answer). Every operation reads its
/// request to the end, even one larger than a pipe holds.
#[test]
fn every_operation_reads_gits_whole_request() {
    let home = Home::new();
    let mut request = String::from("protocol=https\nhost=unknown.example\n");
    while request.len() < 256 * 1024 {
        request.push_str("wwwauth[]=Bearer realm=\"padding\"\n");
    }
    request.push('\n');
    for op in ["store", "erase", "get", "some-later-operation"] {
        let mut child = home
            .cmd(&["git-credential", op])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let written = std::io::Write::write_all(child.stdin.as_mut().unwrap(), request.as_bytes());
        drop(child.stdin.take());
        let out = child.wait_with_output().unwrap();
        assert!(written.is_ok(), "{op}: {written:?} {out:?}");
        assert!(
            out.status.success() && out.stdout.is_empty(),
            "{op}: {out:?}"
        );
    }
}
