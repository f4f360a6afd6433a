//! Host names are resolved as the system resolves them (nsswitch.conf:
//! /etc/hosts, then DNS), by the binary under test: this build, or the one
//! `VMAUTH_TEST_BINARY` names (CI points it at the static build that README.md
//! documents for Linux).

mod support;

use serde_json::json;
use support::cli::{Home, Run, cc_args};
use support::mock_idp::MockIdp;
use wiremock::{MockServer, ResponseTemplate};

fn run(home: &Home, args: &[&str]) -> Run {
    let mut cmd = home.cmd(args);
    if let Some(bin) = std::env::var_os("VMAUTH_TEST_BINARY") {
        let mut other = std::process::Command::new(bin);
        other.args(cmd.get_args());
        for (k, v) in cmd.get_envs() {
            match v {
                Some(v) => other.env(k, v),
                None => other.env_remove(k),
            };
        }
        cmd = other;
    }
    cmd.env("VMAUTH_CLIENT_SECRET", "s3cret");
    Run::from(cmd.output().expect("run vmauth"))
}

#[tokio::test]
async fn host_names_resolve_through_etc_hosts_and_unknown_ones_fail_as_dns() {
    let s = MockServer::start().await;
    // `localhost` comes from /etc/hosts (the "files" source).
    let issuer = format!("http://localhost:{}", s.address().port());
    let meta = json!({"issuer": issuer, "token_endpoint": format!("{issuer}/token")});
    MockIdp::new()
        .metadata(|_| meta)
        .post("/token", |_| {
            ResponseTemplate::new(200).set_body_json(
                json!({"access_token": "at-by-name", "token_type": "Bearer", "expires_in": 60}),
            )
        })
        .mount_on(&s)
        .await;
    let home = Home::new();
    let mut args = cc_args(&issuer, "ci");
    args.extend(["--store", "memory"]);
    let r = run(&home, &args);
    r.expect_code(0);
    assert_eq!(r.stdout, "at-by-name\n");
    // A name no source knows (.invalid is reserved, RFC 6761): a DNS failure.
    let mut args = cc_args("https://vmauth-test.invalid", "ci");
    args.extend(["--store", "memory"]);
    let r = run(&home, &args);
    r.expect_code(1)
        .expect_error("host name does not resolve; check the --issuer host name");
}
