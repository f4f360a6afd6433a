//! Starting from an API, for real: a protected resource built with the
//! official MCP Python SDK (RFC 9728 metadata, 401 with `resource_metadata`,
//! tokens checked by introspection at the test IdP, audience bound to the
//! resource) and the test IdP with dynamic registration (RFC 7591/7592).
//! Only the resource URL is given: vmauth discovers, registers, logs in with
//! the device flow, and the MCP server takes the token.

mod support;

use support::cli::Home;
use support::idp::Idp;
use support::login::PendingLogin;
use support::python::McpServer;

fn idp() -> Idp {
    Idp::start_with(&[("IDP_LOOPBACK_RESOURCES", "1"), ("IDP_REGISTRATION", "1")])
}

/// `vmauth login ARGS…`, approved as alice.
fn login_approved(home: &Home, idp: &Idp, args: &[&str]) -> support::cli::Run {
    let mut all = vec!["login", "--no-qr"];
    all.extend_from_slice(args);
    let mut p = PendingLogin::spawn(home.cmd(&all));
    let url = p.verification_url();
    idp.approve(&url);
    p.finish()
}

#[test]
fn only_the_apis_url_is_given_and_the_api_takes_the_token() {
    let idp = idp();
    let mcp = McpServer::start(&idp.issuer, &[]);
    let home = Home::new();
    let run = login_approved(&home, &idp, &[&mcp.url]);
    assert_eq!(run.code, 0, "{run:?}");
    let host = |u: &str| {
        u.trim_start_matches("http://")
            .split('/')
            .next()
            .unwrap()
            .to_string()
    };
    assert!(
        run.stderr.contains(&format!(
            "{} uses the sign-in of {}.",
            host(&mcp.url),
            idp.issuer
        )),
        "{run:?}"
    );
    assert!(run.stderr.contains("Registered vmauth at"), "{run:?}");
    // The registration went to the IdP; the MCP server takes the token.
    assert!(idp.wait_for_count("POST /reg 201", 1, std::time::Duration::from_secs(5)));
    let token = home.run(&["token", "--resource", &mcp.url]);
    assert_eq!(token.code, 0, "{token:?}");
    let (status, body) = mcp.whoami(token.stdout.trim());
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("alice"), "{body}");
    let (status, _) = mcp.whoami("not-a-token");
    assert_eq!(status, 401);
    // A second login reuses the registration.
    let again = login_approved(&home, &idp, &[&mcp.url]);
    assert_eq!(again.code, 0, "{again:?}");
    assert!(!again.stderr.contains("Registered vmauth"), "{again:?}");
    assert_eq!(idp.count("POST /reg 201"), 1);
    // logout --unregister deletes it at the server (RFC 7592); the next login
    // registers again.
    let out = home.run(&["logout", "--unregister"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stderr.contains("deleted"), "{out:?}");
    assert!(idp.wait_for_count("DELETE /reg/", 1, std::time::Duration::from_secs(5)));
}

#[test]
fn a_registration_deleted_at_the_server_is_made_again_once() {
    let idp = idp();
    let mcp = McpServer::start(&idp.issuer, &[]);
    let home = Home::new();
    assert_eq!(login_approved(&home, &idp, &[&mcp.url]).code, 0);
    // The server forgets the client (its registration deleted behind vmauth's back).
    let dir = home.config_dir().join("registrations");
    let file = std::fs::read_dir(&dir)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let kept: serde_json::Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    let uri = kept["registration_client_uri"].as_str().unwrap();
    let rat = kept["registration_access_token"].as_str().unwrap();
    let out = std::process::Command::new("curl")
        .args([
            "-s",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "-X",
            "DELETE",
            "-H",
        ])
        .arg(format!("Authorization: Bearer {rat}"))
        .arg(uri)
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "204");
    let run = login_approved(&home, &idp, &[&mcp.url]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stderr.contains("registering again"), "{run:?}");
    // The login of the forgotten client is gone: the API's token is the new one.
    let token = home.run(&["token", "--resource", &mcp.url]);
    assert_eq!(token.code, 0, "{token:?}");
    assert_eq!(mcp.whoami(token.stdout.trim()).0, 200);
    assert!(idp.wait_for_count("POST /reg 201", 2, std::time::Duration::from_secs(5)));
    // The file is 0600: it holds the registration access token.
    use std::os::unix::fs::PermissionsExt;
    let file = std::fs::read_dir(&dir)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    assert_eq!(
        std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
        0o600
    );
}

#[test]
fn a_resource_mismatch_and_several_servers_are_handled_before_any_sign_in() {
    let idp = idp();
    let home = Home::new();
    let wrong = McpServer::start(&idp.issuer, &["--wrong-resource"]);
    let out = home.run(&["login", &wrong.url]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("RFC 9728"), "{out:?}");
    let two = McpServer::start(&idp.issuer, &["--extra-server", "https://other-as.example"]);
    let out = home.run(&["login", &two.url]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr.contains("several authorization servers"),
        "{out:?}"
    );
    assert!(out.stderr.contains("https://other-as.example"), "{out:?}");
    let run = login_approved(
        &home,
        &idp,
        &[&two.url, "--authorization-server", &idp.issuer],
    );
    assert_eq!(run.code, 0, "{run:?}");
}

#[test]
fn the_registered_client_signs_in_with_the_browser_too() {
    let idp = idp();
    let mcp = McpServer::start(&idp.issuer, &[]);
    let home = Home::new();
    let mut cmd = home.cmd(&["login", &mcp.url, "--browser", "--no-open", "--no-qr"]);
    cmd.stdin(std::process::Stdio::null());
    let mut p = PendingLogin::spawn(cmd);
    let url = p.verification_url();
    assert!(url.starts_with(&format!("{}/auth?", idp.issuer)), "{url}");
    let a = idp.run_authorize(&[&url]);
    assert_eq!(a.status, Some(0), "{a:?}");
    let run = p.finish();
    assert_eq!(run.code, 0, "{run:?}");
    let token = home.run(&["token", "--resource", &mcp.url]);
    let (status, body) = mcp.whoami(token.stdout.trim());
    assert_eq!(status, 200, "{body}");
}
