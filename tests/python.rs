//! The Python package (python/): its own unit tests, and the real MLflow,
//! `requests` and `httpx` clients getting fresh tokens from vmauth against
//! the test IdP (tests/python/clients.py). The clients come from PyPI into a
//! virtual environment: `VMAUTH_TEST_PYTHON` names its python (CI caches it),
//! else one is made under target/ on first use.

mod support;

use std::process::Command;

use support::cli::Home;
use support::idp::Idp;
use support::login::login;
use support::python::{python, root};

#[test]
fn the_python_packages_own_tests_pass() {
    let out = Command::new(python())
        .args(["-m", "unittest", "discover", "-s"])
        .arg(root().join("python/tests"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("OK"));
}

#[test]
fn mlflow_requests_and_httpx_get_fresh_tokens_from_vmauth() {
    // Access tokens live 4 s: the first one expires during the MLflow calls.
    let idp = Idp::start_with(&[("IDP_ACCESS_TOKEN_TTL", "4")]);
    let home = Home::new();
    home.write_config(&format!(
            "[profiles.ml]\nissuer = \"{i}\"\nclient_id = \"vmauth-cli\"\n\n[profiles.nobody]\nissuer = \"{i}\"\nclient_id = \"vmauth-cli-es256\"\n",
            i = idp.issuer
        ));
    login(&home, &idp, &["--profile", "ml"]).expect_code(0);

    let mut cmd = Command::new(python());
    cmd.arg(root().join("tests/python/clients.py"));
    for (k, v) in home.cmd(&[]).get_envs() {
        match v {
            Some(v) => cmd.env(k, v),
            None => cmd.env_remove(k),
        };
    }
    let out = cmd
        .env("VMAUTH_BIN", env!("CARGO_BIN_EXE_vmauth"))
        .env("VMAUTH_PROFILE", "ml")
        .env("MLFLOW_TRACKING_AUTH", "vmauth")
        .env("IDP_ISSUER", &idp.issuer)
        .env_remove("MLFLOW_TRACKING_TOKEN")
        .env_remove("MLFLOW_TRACKING_USERNAME")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let seen: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    assert!(
        seen["mlflow_tokens"].as_u64().unwrap() >= 2,
        "refreshed between calls: {seen}"
    );
    assert_eq!(
        seen["emails"],
        serde_json::json!(["alice@example.test"]),
        "{seen}"
    );
    assert_eq!(seen["requests_status"], 200);
    assert_eq!(seen["httpx_status"], 200);
    assert_eq!(seen["not_logged_in"]["exit_code"], 4, "{seen}");
    assert!(
        seen["not_logged_in"]["message"]
            .as_str()
            .unwrap()
            .contains("vmauth login --profile nobody"),
        "{seen}"
    );
    assert!(idp.count("grant_type=refresh_token") >= 1);
    // The token never reached the client's output.
    let at = support::login::stored(&home, &format!("{}|vmauth-cli", idp.issuer))["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(!stdout.contains(&at) && !String::from_utf8_lossy(&out.stderr).contains(&at));
}
