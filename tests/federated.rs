//! Secretless CI end to end: the test IdP's CI-platform stub (GitHub Actions,
//! Azure Pipelines and Google metadata contracts, signing with its own key)
//! → vmauth → the test IdP, which verifies the platform's token against the
//! platform's JWKS in each of the three shapes (a federated client assertion,
//! the RFC 7523 jwt-bearer grant, RFC 8693 token exchange) → a token the IdP
//! says is active. Fake `circleci` and `buildkite-agent` programs stand in for
//! those platforms' CLIs. And `vmauth token --exchange` for a device login.

mod support;

use std::path::Path;

use support::cli::Home;
use support::idp::Idp;
use support::login::{assert_no_secret, introspect, login, stored};

/// The audience the IdP's federated credential for `vmauth-ci-federated` expects.
const FEDERATED_AUD: &str = "api://vmauth-test-idp";
/// The subject GitHub's stub issues, which the IdP trusts.
const GITHUB_SUB: &str = "repo:octo-org/app:ref:refs/heads/main";
/// The request token the platform stub expects.
const REQUEST_TOKEN: &str = "platform-request-token-test";
/// How long a log line may take to reach the test.
const WAIT: std::time::Duration = std::time::Duration::from_secs(5);

fn github(idp: &Idp, cmd: &mut std::process::Command) {
    cmd.env(
        "ACTIONS_ID_TOKEN_REQUEST_URL",
        format!("{}/github/token?api-version=2.0", idp.platform),
    )
    .env("ACTIONS_ID_TOKEN_REQUEST_TOKEN", REQUEST_TOKEN);
}

/// `vmauth token --issuer <the IdP> --client-id CLIENT EXTRA…` in `home`.
fn ci_token(home: &Home, idp: &Idp, client: &str, extra: &[&str]) -> std::process::Command {
    let mut args = vec!["token", "--issuer", &idp.issuer, "--client-id", client];
    args.extend_from_slice(extra);
    home.cmd(&args)
}

fn run(cmd: &mut std::process::Command) -> std::process::Output {
    cmd.stdin(std::process::Stdio::null()).output().unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// An executable script at `dir/name` that records its arguments in
/// `dir/name.args` and prints the contents of `dir/name.token`.
fn fake_program(dir: &Path, name: &str, token: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(dir.join(format!("{name}.token")), token).unwrap();
    let script = dir.join(name);
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nprintf '%s\\n' \"$@\" > '{dir}/{name}.args'\nprintf '%s' \"$VMAUTH_FEDERATED_AUDIENCE\" > '{dir}/{name}.aud'\ncat /proc/$PPID/cmdline /proc/$$/cmdline > '{dir}/{name}.cmdline'\ncat '{dir}/{name}.token'\n",
            dir = dir.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
}

fn path_with(dir: &Path) -> String {
    format!(
        "{}:{}",
        dir.display(),
        std::env::var("PATH").unwrap_or_default()
    )
}

#[test]
fn github_actions_token_is_the_client_assertion_of_a_federated_credential() {
    let idp = Idp::start();
    let home = Home::new();
    let args = [
        "token",
        "--issuer",
        &idp.issuer,
        "--client-id",
        "vmauth-ci-federated",
        "--federated-token",
        "auto",
        "--federated-audience",
        FEDERATED_AUD,
    ];
    let mut cmd = home.cmd(&args);
    github(&idp, &mut cmd);
    cmd.env("GITHUB_ACTIONS", "true");
    let out = run(&mut cmd);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let token = text(&out.stdout).trim().to_string();
    assert!(introspect(&idp, &token)["active"] == true, "not active");
    assert!(
        text(&out.stderr).contains("auto chose github"),
        "{}",
        text(&out.stderr)
    );
    assert!(idp.wait_for_count("PLATFORM GET /github/token 200", 1, WAIT));
    assert!(idp.wait_for_count(
        &format!(
            "client_assertion_iss={}",
            idp.platform.replace(':', "%3A").replace('/', "%2F")
        ),
        1,
        WAIT
    ));
    let seen = idp.log().join("\n");
    assert!(
        seen.contains("auth=ok") && seen.contains("audience=api%3A%2F%2Fvmauth-test-idp"),
        "{seen}"
    );
    // Only the source (the one auto chose) is kept with the login, and a
    // second call is served from the store.
    let key = format!("{}|vmauth-ci-federated", idp.issuer);
    assert_eq!(
        stored(&home, &key)["client_credentials"]["federated_token"],
        "github"
    );
    let mut again = home.cmd(&args);
    github(&idp, &mut again);
    again.env("GITHUB_ACTIONS", "true");
    let out = run(&mut again);
    assert_eq!(text(&out.stdout).trim(), token);
    assert_eq!(idp.count("PLATFORM GET /github/token"), 1);
}

#[test]
fn the_platforms_failures_name_the_platform_and_the_fix() {
    let idp = Idp::start();
    let home = Home::new();
    let args = [
        "token",
        "--issuer",
        &idp.issuer,
        "--client-id",
        "vmauth-ci-federated",
        "--federated-token",
        "github",
        "--federated-audience",
        FEDERATED_AUD,
    ];
    // No request variables: the workflow lacks the permission.
    let out = run(&mut home.cmd(&args));
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("permissions: id-token: write"),
        "{}",
        text(&out.stderr)
    );
    // A wrong request token: refused, exit 2, the token not shown.
    let mut cmd = home.cmd(&args);
    github(&idp, &mut cmd);
    cmd.env("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "not-the-request-token");
    let out = run(&mut cmd);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("GitHub Actions refused the OIDC token request (HTTP 401)"));
    assert!(!text(&out.stderr).contains("not-the-request-token"));
    // The platform down: tried three times (GitHub's own toolkit retries), then exit 1.
    idp.platform_fail_next(3, 503);
    let mut cmd = home.cmd(&args);
    github(&idp, &mut cmd);
    let out = run(&mut cmd);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("GitHub Actions could not issue an OIDC token (HTTP 503)"));
    // A token for an audience the federated credential does not name: the
    // IdP refuses the client, exit 2.
    let mut cmd = ci_token(
        &home,
        &idp,
        "vmauth-ci-federated",
        &[
            "--federated-token",
            "github",
            "--federated-audience",
            "api://another-idp",
        ],
    );
    github(&idp, &mut cmd);
    let out = run(&mut cmd);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr)
            .contains("did not accept the CI platform's token as the client's credential"),
        "{}",
        text(&out.stderr)
    );
    // Azure Pipelines: its contract, and a token the IdP's federated credential takes.
    let mut cmd = ci_token(
        &home,
        &idp,
        "vmauth-ci-federated",
        &["--federated-token", "azure-pipelines:sc-7"],
    );
    cmd.env(
        "SYSTEM_OIDCREQUESTURI",
        format!("{}/azure/oidctoken", idp.platform),
    )
    .env("SYSTEM_ACCESSTOKEN", REQUEST_TOKEN);
    let out = run(&mut cmd);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(idp.wait_for_count("PLATFORM POST /azure/oidctoken 200", 1, WAIT));
    let seen = idp.log().join("\n");
    assert!(
        seen.contains("serviceConnectionId=sc-7") && seen.contains("api-version=7.1"),
        "{seen}"
    );
}

#[test]
fn jwt_bearer_from_the_google_metadata_server_with_a_vendor_parameter() {
    let idp = Idp::start();
    let home = Home::new();
    let host = idp.platform.trim_start_matches("http://").to_string();
    let args = |rule: &str| {
        let mut cmd = ci_token(
            &home,
            &idp,
            "vmauth-ci-grant",
            &[
                "--grant",
                "jwt-bearer",
                "--federated-token",
                "gcp",
                "--federated-audience",
                &idp.issuer,
                "--param",
                &format!("federation_rule_id={rule}"),
                "--force-refresh",
            ],
        );
        cmd.env("GCE_METADATA_HOST", &host);
        cmd
    };
    let out = run(&mut args("fdrl_test"));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let token = text(&out.stdout).trim().to_string();
    let info = introspect(&idp, &token);
    assert_eq!(info["active"], true, "{info}");
    assert_eq!(info["sub"], "112233445566778899", "{info}");
    assert!(idp.wait_for_count(
        "PLATFORM GET /computeMetadata/v1/instance/service-accounts/default/identity 200",
        1,
        WAIT
    ));
    assert!(idp.wait_for_count("federation_rule_id=fdrl_test", 1, WAIT));
    let seen = idp.log().join("\n");
    assert!(
        seen.contains("metadata-flavor=yes") && seen.contains("format=full"),
        "{seen}"
    );
    // A rule the provider does not know: invalid_grant, exit 2.
    let out = run(&mut args("fdrl_other"));
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("refused the CI platform's token"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn token_exchange_of_a_gitlab_id_token_with_an_actor_from_a_program() {
    let idp = Idp::start();
    let home = Home::new();
    let bin = tempfile::tempdir().unwrap();
    let subject = idp.mint(FEDERATED_AUD, GITHUB_SUB, 300);
    let actor = idp.mint(FEDERATED_AUD, "system:serviceaccount:ci:builder", 300);
    fake_program(bin.path(), "actor-token", &actor);
    let mut cmd = ci_token(
        &home,
        &idp,
        "vmauth-ci-grant",
        &[
            "--audience",
            "https://opaque-api.example.test",
            "--grant",
            "token-exchange",
            "--federated-token",
            "auto",
            "--federated-audience",
            "api://asked",
            "--actor-token",
            &format!("exec:{}/actor-token --for vmauth", bin.path().display()),
        ],
    );
    cmd.env("GITLAB_CI", "true")
        .env("VMAUTH_ID_TOKEN", &subject);
    let out = run(&mut cmd);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let token = text(&out.stdout).trim().to_string();
    let info = introspect(&idp, &token);
    assert_eq!(info["active"], true, "{info}");
    assert_eq!(info["sub"], GITHUB_SUB, "{info}");
    assert!(
        info["aud"]
            .to_string()
            .contains("https://opaque-api.example.test"),
        "{info}"
    );
    assert!(idp.wait_for_count("actor_token=yes", 1, WAIT));
    let seen = idp.log().join("\n");
    assert!(
        seen.contains("subject_token_type=urn:ietf:params:oauth:token-type:jwt"),
        "{seen}"
    );
    // The program ran without a shell, with its own arguments.
    let args = std::fs::read_to_string(bin.path().join("actor-token.args")).unwrap();
    assert_eq!(args, "--for\nvmauth\n");
    // It is told the audience asked for; GitLab's token cannot be, and vmauth says so.
    let aud = std::fs::read_to_string(bin.path().join("actor-token.aud")).unwrap();
    assert_eq!(aud, "api://asked");
    assert!(
        text(&out.stderr).contains("GitLab fixes the audience"),
        "{}",
        text(&out.stderr)
    );
    // The platform's tokens are nowhere but on the wire.
    let all = format!(
        "{}{}{}",
        text(&out.stdout),
        text(&out.stderr),
        std::fs::read_to_string(home.credentials()).unwrap()
    );
    assert_no_secret(&all, &[&subject, &actor]);
    // Nor in the command lines of vmauth (the program's parent) or the program.
    let cmdlines = std::fs::read(bin.path().join("actor-token.cmdline")).unwrap();
    let cmdlines = String::from_utf8_lossy(&cmdlines).replace('\0', " ");
    assert!(cmdlines.contains("--actor-token"), "{cmdlines}");
    assert_no_secret(&cmdlines, &[&subject, &actor]);
}

#[test]
fn circleci_and_buildkite_are_asked_through_their_clis() {
    let idp = Idp::start();
    let home = Home::new();
    let bin = tempfile::tempdir().unwrap();
    let token = idp.mint(FEDERATED_AUD, GITHUB_SUB, 300);
    fake_program(bin.path(), "circleci", &token);
    fake_program(bin.path(), "buildkite-agent", &token);
    for (source, key, expected) in [
        (
            "circleci",
            "circleci",
            format!("run\noidc\nget\n--claims\n{{\"aud\":\"{FEDERATED_AUD}\"}}\n"),
        ),
        (
            "buildkite",
            "buildkite-agent",
            format!("oidc\nrequest-token\n--audience\n{FEDERATED_AUD}\n"),
        ),
    ] {
        let mut cmd = ci_token(
            &home,
            &idp,
            "vmauth-ci-federated",
            &[
                "--federated-token",
                source,
                "--federated-audience",
                FEDERATED_AUD,
                "--force-refresh",
            ],
        );
        cmd.env("PATH", path_with(bin.path()));
        let out = run(&mut cmd);
        assert!(out.status.success(), "{source}: {}", text(&out.stderr));
        assert_eq!(introspect(&idp, text(&out.stdout).trim())["active"], true);
        let args = std::fs::read_to_string(bin.path().join(format!("{key}.args"))).unwrap();
        assert_eq!(args, expected, "{source}");
    }
    // CircleCI without an audience: its own variable.
    let mut cmd = ci_token(
        &home,
        &idp,
        "vmauth-ci-federated",
        &["--federated-token", "circleci", "--force-refresh"],
    );
    cmd.env("CIRCLE_OIDC_TOKEN_V2", &token)
        .env("PATH", "/nonexistent");
    let out = run(&mut cmd);
    assert!(out.status.success(), "{}", text(&out.stderr));
}

#[test]
fn a_kubernetes_token_file_is_read_on_every_use_and_an_expired_one_is_refused() {
    let idp = Idp::start();
    let home = Home::new();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("token");
    let args = [
        "token",
        "--issuer",
        &idp.issuer,
        "--client-id",
        "vmauth-ci-federated",
        "--federated-token",
        "kubernetes",
        "--force-refresh",
    ];
    let with_file = |cmd: &mut std::process::Command| {
        cmd.env("AZURE_FEDERATED_TOKEN_FILE", &file);
    };
    std::fs::write(
        &file,
        idp.mint(FEDERATED_AUD, "system:serviceaccount:ci:builder", 300),
    )
    .unwrap();
    // Writable by its owner only, whatever the umask (vmauth refuses others).
    std::fs::set_permissions(&file, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    let mut cmd = home.cmd(&args);
    with_file(&mut cmd);
    let out = run(&mut cmd);
    assert!(out.status.success(), "{}", text(&out.stderr));
    // The kubelet rotated it, to one that has expired: refused before it is sent.
    std::fs::write(
        &file,
        idp.mint(FEDERATED_AUD, "system:serviceaccount:ci:builder", -60),
    )
    .unwrap();
    let before = idp.count("POST /token");
    let mut cmd = home.cmd(&args);
    with_file(&mut cmd);
    let out = run(&mut cmd);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("the token from Kubernetes expired"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(idp.count("POST /token"), before);
}

#[test]
fn a_device_login_is_exchanged_for_another_audience() {
    let idp = Idp::start();
    let home = Home::new();
    login(&home, &idp, &[]).expect_code(0);
    let out = run(&mut home.cmd(&[
        "token",
        "--exchange",
        "--audience",
        "https://opaque-api.example.test",
    ]));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let token = text(&out.stdout).trim().to_string();
    let info = introspect(&idp, &token);
    assert_eq!(info["active"], true, "{info}");
    assert!(
        info["aud"]
            .to_string()
            .contains("https://opaque-api.example.test"),
        "{info}"
    );
    assert_eq!(info["sub"], "alice", "{info}");
    let key = format!("{}|vmauth-cli|https://opaque-api.example.test", idp.issuer);
    assert_eq!(
        stored(&home, &key)["exchanged_from"],
        format!("{}|vmauth-cli", idp.issuer)
    );
    // An audience the IdP does not know: exit 2, named.
    let out = run(&mut home.cmd(&[
        "token",
        "--exchange",
        "--audience",
        "https://unknown.example",
    ]));
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("does not know that audience"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn a_token_program_gets_no_client_secret_and_runs_in_its_own_process_group() {
    use std::os::unix::fs::PermissionsExt;
    let home = Home::new();
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("token-program");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nenv > '{d}/env'\ncut -d' ' -f5 /proc/$$/stat > '{d}/pgid'\necho $$ > '{d}/pid'\nexit 3\n",
            d = dir.path().display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let source = format!("exec:{}", script.display());
    let out = run(home
        .cmd(&[
            "token",
            "--issuer",
            "https://idp.invalid",
            "--client-id",
            "ci",
            "--grant",
            "jwt-bearer",
            "--federated-token",
            &source,
        ])
        .env("VMAUTH_CLIENT_SECRET", "client-secret-0123456789"));
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("failed"),
        "{}",
        text(&out.stderr)
    );
    let env = std::fs::read_to_string(dir.path().join("env")).unwrap();
    assert!(env.contains("PATH="), "the program ran with an environment");
    assert!(!env.contains("client-secret-0123456789"), "{env}");
    // Its own process group: its group id is its pid.
    let pgid = std::fs::read_to_string(dir.path().join("pgid")).unwrap();
    let pid = std::fs::read_to_string(dir.path().join("pid")).unwrap();
    assert_eq!(pgid.trim(), pid.trim());
}
