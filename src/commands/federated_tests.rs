//! In-process tests of secretless CI and token exchange against mock
//! providers and mock CI platforms: what goes on the wire, what is kept, and
//! each failure's message and exit code.

use serde_json::{Value, json};
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, ResponseTemplate};

use crate::testing::harness::*;

/// A platform token (unsigned: the mock provider does not check it) that
/// expires `ttl` seconds after the harness's now.
fn platform_jwt(sub: &str, ttl: i64) -> String {
    use base64::Engine;
    let b = |v: Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    format!(
        "{}.{}.c2lnbmF0dXJl",
        b(json!({"alg": "ES256", "typ": "JWT"})),
        b(json!({"iss": "https://ci.example", "sub": sub, "aud": "api://idp", "exp": NOW + ttl}))
    )
}

/// A provider whose token endpoint answers every request with `answer`.
fn provider(answer: Value) -> wiremock::MockServer {
    rt().block_on(
        MockIdp::new()
            .post("/token", move |_| {
                ResponseTemplate::new(200).set_body_json(answer)
            })
            .start(),
    )
}

/// The form bodies the provider's token endpoint received.
fn token_forms(s: &wiremock::MockServer) -> Vec<Vec<(String, String)>> {
    rt().block_on(s.received_requests())
        .unwrap_or_default()
        .iter()
        .filter(|r| r.url.path() == "/token")
        .map(|r| {
            url::form_urlencoded::parse(&r.body)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect()
        })
        .collect()
}

fn field<'a>(form: &'a [(String, String)], k: &str) -> Option<&'a str> {
    form.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str())
}

fn ci(h: &mut Harness, token: &str) {
    h.set_env("CI_OIDC", token);
}

#[test]
fn the_platform_token_is_the_client_assertion_by_default_and_is_never_kept() {
    let s = provider(json!({"access_token": "at-ci", "token_type": "Bearer", "expires_in": 600}));
    let mut h = Harness::new();
    let jwt = platform_jwt("repo:o/r", 300);
    ci(&mut h, &jwt);
    let args = [
        "token",
        "--issuer",
        &s.uri(),
        "--client-id",
        "ci-app",
        "--federated-token",
        "env:CI_OIDC",
        "--param",
        "tenant_hint=t1",
    ];
    let out = h.run(&args);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(out.stdout.trim(), "at-ci");
    let forms = token_forms(&s);
    assert_eq!(forms.len(), 1);
    let f = &forms[0];
    assert_eq!(field(f, "grant_type"), Some("client_credentials"));
    assert_eq!(field(f, "client_assertion"), Some(jwt.as_str()));
    assert_eq!(
        field(f, "client_assertion_type"),
        Some("urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
    );
    assert_eq!(field(f, "client_id"), Some("ci-app"));
    assert_eq!(field(f, "tenant_hint"), Some("t1"));
    // Kept: the token and the source, never the platform's token.
    let file = h.credentials().to_string();
    assert!(!file.contains(&jwt), "{file}");
    assert!(
        file.contains("\"federated_token\":\"env:CI_OIDC\""),
        "{file}"
    );
    // Cached: no second request while the token is good.
    let out = h.run(&args);
    assert_eq!((out.code, out.stdout.trim()), (0, "at-ci"));
    assert_eq!(token_forms(&s).len(), 1);
}

#[test]
fn jwt_bearer_and_token_exchange_trade_the_platform_token() {
    let s = provider(
        json!({"access_token": "at-traded", "token_type": "Bearer", "expires_in": 600,
        "issued_token_type": "urn:ietf:params:oauth:token-type:access_token"}),
    );
    let mut h = Harness::new();
    let jwt = platform_jwt("repo:o/r", 300);
    ci(&mut h, &jwt);
    h.set_env("CI_ACTOR", &platform_jwt("actor", 300));
    let out = h.run(&[
        "token",
        "--issuer",
        &s.uri(),
        "--client-id",
        "ci",
        "--grant",
        "jwt-bearer",
        "--federated-token",
        "env:CI_OIDC",
        "--param",
        "federation_rule_id=fdrl_1",
        "--scope",
        "api:read",
    ]);
    assert_eq!((out.code, out.stdout.trim()), (0, "at-traded"), "{out:?}");
    let out = h.run(&[
        "token",
        "--issuer",
        &s.uri(),
        "--client-id",
        "ci",
        "--audience",
        "https://api.example",
        "--grant",
        "token-exchange",
        "--federated-token",
        "env:CI_OIDC",
        "--actor-token",
        "env:CI_ACTOR",
    ]);
    assert_eq!((out.code, out.stdout.trim()), (0, "at-traded"), "{out:?}");
    let forms = token_forms(&s);
    let (bearer, exchange) = (&forms[0], &forms[1]);
    assert_eq!(
        field(bearer, "grant_type"),
        Some("urn:ietf:params:oauth:grant-type:jwt-bearer")
    );
    assert_eq!(field(bearer, "assertion"), Some(jwt.as_str()));
    assert_eq!(field(bearer, "federation_rule_id"), Some("fdrl_1"));
    assert_eq!(field(bearer, "scope"), Some("api:read"));
    assert_eq!(field(bearer, "client_assertion"), None, "a public client");
    assert_eq!(
        field(exchange, "grant_type"),
        Some("urn:ietf:params:oauth:grant-type:token-exchange")
    );
    assert_eq!(field(exchange, "subject_token"), Some(jwt.as_str()));
    assert_eq!(
        field(exchange, "subject_token_type"),
        Some("urn:ietf:params:oauth:token-type:jwt")
    );
    assert_eq!(
        field(exchange, "requested_token_type"),
        Some("urn:ietf:params:oauth:token-type:access_token")
    );
    assert_eq!(
        field(exchange, "actor_token_type"),
        Some("urn:ietf:params:oauth:token-type:jwt")
    );
    assert_eq!(field(exchange, "audience"), Some("https://api.example"));
}

#[test]
fn an_exchange_that_issues_no_access_token_is_refused() {
    let s = provider(json!({"access_token": "rt-x", "token_type": "Bearer",
        "issued_token_type": "urn:ietf:params:oauth:token-type:refresh_token"}));
    let mut h = Harness::new();
    ci(&mut h, &platform_jwt("s", 300));
    let out = h.run(&[
        "token",
        "--issuer",
        &s.uri(),
        "--client-id",
        "ci",
        "--grant",
        "token-exchange",
        "--federated-token",
        "env:CI_OIDC",
    ]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr.contains("not an access token") && out.stdout.is_empty(),
        "{out:?}"
    );
}

#[test]
fn a_provider_echoing_the_platform_token_does_not_show_it() {
    let jwt = platform_jwt("repo:o/r", 300);
    let echoed = jwt.clone();
    let s = rt().block_on(
        MockIdp::new()
            .post("/token", move |_| {
                ResponseTemplate::new(400).set_body_json(json!({
                    "error": "invalid_grant", "error_description": format!("bad assertion {echoed}"),
                }))
            })
            .start(),
    );
    let mut h = Harness::new();
    ci(&mut h, &jwt);
    let out = h.run(&[
        "token",
        "--issuer",
        &s.uri(),
        "--client-id",
        "ci",
        "--grant",
        "jwt-bearer",
        "--federated-token",
        "env:CI_OIDC",
    ]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr.contains("refused the CI platform's token"),
        "{out:?}"
    );
    assert!(!out.stderr.contains(&jwt[20..60]), "{out:?}");
}

#[test]
fn a_token_pasted_after_the_source_name_is_refused_and_never_shown() {
    let s = provider(json!({"access_token": "never"}));
    let h = Harness::new();
    let jwt = platform_jwt("s", 600);
    for source in ["env", "gitlab", "file", "kubernetes", "exec"] {
        let spec = format!("{source}:{jwt}");
        let out = h.run(&[
            "token",
            "--issuer",
            &s.uri(),
            "--client-id",
            "ci",
            "--federated-token",
            &spec,
        ]);
        assert_eq!(out.code, 2, "{source}: {out:?}");
        assert!(
            out.stderr
                .contains(&format!("what follows {source}: is a token itself")),
            "{source}: {}",
            out.stderr
        );
        assert!(
            !out.stderr.contains(&jwt[10..40]),
            "{source}: {}",
            out.stderr
        );
    }
    // Not a JWT, but not a variable's name either: not shown.
    for source in ["env", "gitlab"] {
        let spec = format!("{source}:ghp-SECRET/0123456789abcdef");
        let out = h.run(&[
            "token",
            "--issuer",
            &s.uri(),
            "--client-id",
            "ci",
            "--federated-token",
            &spec,
        ]);
        assert_eq!(out.code, 2, "{source}: {out:?}");
        assert!(
            out.stderr.contains("is not one"),
            "{source}: {}",
            out.stderr
        );
        assert!(!out.stderr.contains("SECRET"), "{source}: {}", out.stderr);
    }
    assert_eq!(requests(&s, "/token"), 0);
}

#[test]
fn bad_platform_tokens_and_parameters_are_refused_before_any_request() {
    let s = provider(json!({"access_token": "never"}));
    let mut h = Harness::new();
    ci(&mut h, &platform_jwt("s", -30));
    h.set_env("NOT_A_JWT", "hello");
    let base = ["token", "--issuer", &s.uri(), "--client-id", "ci"];
    let cases: &[(&[&str], i32, &str)] = &[
        (&["--federated-token", "env:CI_OIDC"], 2, "expired 30 s ago"),
        (&["--federated-token", "env:NOT_A_JWT"], 2, "is not a JWT"),
        (
            &["--federated-token", "env:UNSET_VAR"],
            2,
            "UNSET_VAR is unset",
        ),
        (
            &["--federated-token", "travis"],
            2,
            "\"travis\" is not a source vmauth knows",
        ),
        (
            // An opaque secret pasted as the source is not echoed.
            &["--federated-token", "ghs_SECRET0123456789abcdef"],
            2,
            "takes a source, and what was given is none",
        ),
        (&["--federated-token", "file:"], 2, "needs file:PATH"),
        (
            &["--federated-token", "github"],
            2,
            "permissions: id-token: write",
        ),
        (
            &["--federated-token", "gcp"],
            2,
            "needs --federated-audience",
        ),
        (
            &["--federated-token", "gitlab"],
            2,
            "no *_ID_TOKEN variable",
        ),
        (&["--federated-token", "auto"], 2, "found no CI platform"),
        (
            &[
                "--federated-token",
                "env:CI_OIDC",
                "--param",
                "grant_type=password",
            ],
            2,
            "set by vmauth itself",
        ),
        (
            &["--federated-token", "env:CI_OIDC", "--param", "novalue"],
            2,
            "is not KEY=VALUE",
        ),
        (
            &["--grant", "jwt-bearer"],
            2,
            "give --federated-token SOURCE",
        ),
        (
            &[
                "--federated-token",
                "env:CI_OIDC",
                "--actor-token",
                "env:CI_OIDC",
            ],
            2,
            "for --grant token-exchange only",
        ),
        (
            &[
                "--federated-token",
                "env:CI_OIDC",
                "--client-secret-file",
                "/nonexistent",
            ],
            2,
            "is the client's credential",
        ),
        (
            &["--federated-audience", "x"],
            2,
            "go with --federated-token",
        ),
    ];
    for (extra, code, says) in cases {
        let mut args = base.to_vec();
        args.extend_from_slice(extra);
        let out = h.run(&args);
        assert_eq!(out.code, *code, "{extra:?}: {out:?}");
        assert!(out.stderr.contains(says), "{extra:?}: {out:?}");
        assert_eq!(out.stderr.lines().count(), 1, "{extra:?}: {out:?}");
        assert!(!out.stderr.contains("SECRET0123"), "{extra:?}: {out:?}");
    }
    assert!(token_forms(&s).is_empty());
}

#[test]
fn a_stored_federated_login_asks_for_its_source_again() {
    let s = provider(json!({"access_token": "at-1", "token_type": "Bearer", "expires_in": 60}));
    let mut h = Harness::new();
    ci(&mut h, &platform_jwt("s", 3000));
    let args = ["token", "--issuer", &s.uri(), "--client-id", "ci"];
    let mut with_source = args.to_vec();
    with_source.extend(["--federated-token", "env:CI_OIDC"]);
    assert_eq!(h.run(&with_source).code, 0);
    h.clock.advance(std::time::Duration::from_secs(120));
    let out = h.run(&args);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr.contains("give --federated-token env:CI_OIDC"),
        "{out:?}"
    );
    // The same source again: a fresh platform token, a new request.
    let out = h.run(&with_source);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(token_forms(&s).len(), 2);
}

/// A GitHub Actions token service on the mock server: the request token as a
/// bearer, the audience added to the URL's own query.
#[test]
fn github_actions_is_asked_as_its_toolkit_does() {
    let jwt = platform_jwt("repo:o/r:ref:refs/heads/main", 300);
    let answer = jwt.clone();
    let s = rt().block_on(
        MockIdp::new()
            .post("/token", |_| {
                ResponseTemplate::new(200)
                    .set_body_json(json!({"access_token": "at-gh", "expires_in": 600}))
            })
            .mount(move |_| {
                Mock::given(method("GET"))
                    .and(path("/_apis/idtoken"))
                    .and(query_param("api-version", "2.0"))
                    .and(query_param("audience", "api://AzureADTokenExchange"))
                    .and(header("authorization", "bearer gh-request-token"))
                    .respond_with(
                        ResponseTemplate::new(200)
                            .set_body_json(json!({"count": 1, "value": answer})),
                    )
            })
            .start(),
    );
    let mut h = Harness::new();
    h.set_env("GITHUB_ACTIONS", "true");
    h.set_env(
        "ACTIONS_ID_TOKEN_REQUEST_URL",
        &format!("{}/_apis/idtoken?api-version=2.0&audience=old", s.uri()),
    );
    h.set_env("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "gh-request-token");
    let out = h.run(&[
        "token",
        "--issuer",
        &s.uri(),
        "--client-id",
        "ci",
        "--federated-token",
        "auto",
        "--federated-audience",
        "api://AzureADTokenExchange",
    ]);
    assert_eq!((out.code, out.stdout.trim()), (0, "at-gh"), "{out:?}");
    assert!(
        out.stderr.contains(
            "using the OIDC token of GitHub Actions (--federated-token auto chose github)"
        ),
        "{out:?}"
    );
    assert_eq!(
        field(&token_forms(&s)[0], "client_assertion"),
        Some(jwt.as_str())
    );
    // A refusal and an outage: exit 2 and exit 1, the platform named.
    h.set_env("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "wrong");
    let out = h.run(&[
        "token",
        "--issuer",
        &s.uri(),
        "--client-id",
        "ci2",
        "--federated-token",
        "github",
    ]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr.contains("GitHub Actions refused") && !out.stderr.contains("wrong"),
        "{out:?}"
    );
}

#[test]
fn a_platform_outage_is_exit_1() {
    let s = rt().block_on(
        MockIdp::new()
            .mount(|_| {
                Mock::given(method("POST"))
                    .and(path("/oidc"))
                    .and(query_param("api-version", "7.1"))
                    .and(query_param("serviceConnectionId", "sc-1"))
                    .and(header("authorization", "Bearer az-job-token"))
                    .respond_with(ResponseTemplate::new(503))
            })
            .start(),
    );
    let mut h = Harness::new();
    h.set_env("SYSTEM_OIDCREQUESTURI", &format!("{}/oidc", s.uri()));
    h.set_env("SYSTEM_ACCESSTOKEN", "az-job-token");
    let out = h.run(&[
        "token",
        "--issuer",
        &s.uri(),
        "--client-id",
        "ci",
        "--federated-token",
        "azure-pipelines:sc-1",
    ]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr
            .contains("Azure Pipelines could not issue an OIDC token (HTTP 503)"),
        "{out:?}"
    );
    let out = h.run(&[
        "token",
        "--issuer",
        &s.uri(),
        "--client-id",
        "ci",
        "--federated-token",
        "azure-pipelines",
    ]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr.contains("needs the service connection"),
        "{out:?}"
    );
}

#[test]
fn a_persons_login_is_exchanged_for_another_audience_and_exchanged_again() {
    let s = provider(
        json!({"access_token": "at-for-b", "token_type": "Bearer", "expires_in": 600,
        "issued_token_type": "urn:ietf:params:oauth:token-type:access_token"}),
    );
    let h = Harness::new();
    h.store(&s.uri(), "at-person", Some("rt-person"), 3600);
    let args = ["token", "--exchange", "--audience", "https://b.example"];
    let out = h.run(&args);
    assert_eq!((out.code, out.stdout.trim()), (0, "at-for-b"), "{out:?}");
    let forms = token_forms(&s);
    assert_eq!(forms.len(), 1);
    let f = &forms[0];
    assert_eq!(field(f, "subject_token"), Some("at-person"));
    assert_eq!(
        field(f, "subject_token_type"),
        Some("urn:ietf:params:oauth:token-type:access_token")
    );
    assert_eq!(field(f, "audience"), Some("https://b.example"));
    assert_eq!(field(f, "client_id"), Some("cli"));
    let key = format!("{}|cli|https://b.example", s.uri());
    let stored = &h.credentials()["credentials"][&key];
    assert_eq!(
        stored["exchanged_from"],
        format!("{}|cli", s.uri()),
        "{stored}"
    );
    assert!(
        stored.get("refresh_token").is_none_or(Value::is_null),
        "{stored}"
    );
    // Cached, then exchanged again once it runs out (by --audience alone too).
    assert_eq!(h.run(&args).stdout.trim(), "at-for-b");
    assert_eq!(token_forms(&s).len(), 1);
    h.clock.advance(std::time::Duration::from_secs(590));
    let out = h.run(&[
        "token",
        "--issuer",
        &s.uri(),
        "--client-id",
        "cli",
        "--audience",
        "https://b.example",
    ]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(token_forms(&s).len(), 2);
    // Not logged in: exit 4; no audience: exit 2.
    let empty = Harness::new();
    assert_eq!(empty.run(&args).code, 4);
    assert_eq!(h.run(&["token", "--exchange"]).code, 2);
}

#[test]
fn a_planted_exchanged_login_cannot_send_a_token_to_another_issuer() {
    let s = provider(json!({"access_token": "never"}));
    let h = Harness::new();
    h.store(&s.uri(), "at-person", Some("rt"), 3600);
    let key = format!("{}|cli|https://b.example", s.uri());
    let mut doc = h.credentials();
    doc["credentials"][&key] = json!({
        "issuer": s.uri(), "client_id": "cli", "audience": "https://b.example",
        "access_token": "old", "expires_at": crate::credential::timestamp::format(NOW - 10),
        "exchanged_from": "https://evil.example|cli",
    });
    h.put_credentials(&doc);
    let out = h.run(&[
        "token",
        "--issuer",
        &s.uri(),
        "--client-id",
        "cli",
        "--audience",
        "https://b.example",
    ]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr
            .contains("not a login of the same issuer and client"),
        "{out:?}"
    );
    assert!(token_forms(&s).is_empty());
}

#[test]
fn a_public_clients_ci_login_is_kept_as_one_and_asks_for_its_source_again() {
    let s = provider(json!({"access_token": "at-pub", "token_type": "Bearer", "expires_in": 60}));
    let mut h = Harness::new();
    ci(&mut h, &platform_jwt("s", 3000));
    let args = ["token", "--issuer", &s.uri(), "--client-id", "pub"];
    let mut first = args.to_vec();
    first.extend(["--grant", "jwt-bearer", "--federated-token", "env:CI_OIDC"]);
    assert_eq!(h.run(&first).code, 0);
    let key = format!("{}|pub", s.uri());
    let kept = &h.credentials()["credentials"][&key]["client_credentials"];
    assert_eq!(kept["grant"], "jwt_bearer", "{kept}");
    assert_eq!(kept["auth"], "none", "{kept}");
    let status = h.run(&[
        "status",
        "--json",
        "--issuer",
        &s.uri(),
        "--client-id",
        "pub",
    ]);
    assert!(
        status.stdout.contains("\"grant\": \"jwt-bearer\""),
        "{status:?}"
    );
    h.clock.advance(std::time::Duration::from_secs(120));
    let out = h.run(&args);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr.contains("give --federated-token env:CI_OIDC"),
        "{out:?}"
    );
}

#[test]
fn parameters_and_exchange_belong_to_the_grants_that_use_them() {
    let s = provider(json!({"access_token": "never"}));
    let mut h = Harness::new();
    h.store(&s.uri(), "at-person", Some("rt"), 3600);
    let out = h.run(&["token", "--param", "a=b"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("a person's login has none"), "{out:?}");
    let out = h.run(&[
        "login",
        "--issuer",
        &s.uri(),
        "--client-id",
        "cli",
        "--param",
        "a=b",
    ]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr
            .contains("a person's login (device or browser) sends none"),
        "{out:?}"
    );
    ci(&mut h, &platform_jwt("s", 300));
    h.set_env("VMAUTH_FEDERATED_TOKEN", "env:CI_OIDC");
    let out = h.run(&["token", "--exchange", "--audience", "https://b.example"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr.contains("--exchange exchanges a person's login"),
        "{out:?}"
    );
    assert!(token_forms(&s).is_empty());
}

#[test]
fn logout_of_a_federated_ci_login_removes_it_without_a_platform_token() {
    let s = provider(json!({"access_token": "at-ci", "token_type": "Bearer", "expires_in": 600}));
    let mut h = Harness::new();
    ci(&mut h, &platform_jwt("s", 300));
    let id = ["--issuer", &s.uri(), "--client-id", "ci"];
    let mut token = vec!["token", "--federated-token", "env:CI_OIDC"];
    token.extend(id);
    assert_eq!(h.run(&token).code, 0);
    let mut logout = vec!["logout"];
    logout.extend(id);
    let out = h.run(&logout);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        out.stderr.contains("is not revoked; it expires in 600 s"),
        "{out:?}"
    );
    assert!(
        h.credentials()["credentials"]
            .as_object()
            .is_none_or(|m| m.is_empty())
    );
}

#[test]
fn a_cached_federated_token_serves_only_the_same_request_from_the_same_job() {
    let s = provider(json!({"access_token": "at-ci", "token_type": "Bearer", "expires_in": 600}));
    let jwt = platform_jwt("repo:o/r", 300);
    let answer = jwt.clone();
    rt().block_on(
        Mock::given(method("GET"))
            .and(path("/gh"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": answer})))
            .mount(&s),
    );
    let mut h = Harness::new();
    h.set_env(
        "ACTIONS_ID_TOKEN_REQUEST_URL",
        &format!("{}/gh?api-version=2.0", s.uri()),
    );
    h.set_env("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "req");
    h.set_env("GITHUB_RUN_ID", "100");
    let uri = s.uri();
    let run = |h: &Harness, extra: &[&str]| {
        let mut args = vec![
            "token",
            "--issuer",
            &uri,
            "--client-id",
            "ci",
            "--federated-token",
            "github",
        ];
        args.extend_from_slice(extra);
        h.run(&args)
    };
    assert_eq!(run(&h, &[]).code, 0);
    assert_eq!(run(&h, &[]).code, 0);
    assert_eq!(
        token_forms(&s).len(),
        1,
        "the same job and request: served from the store"
    );
    assert_eq!(run(&h, &["--param", "org=b"]).code, 0);
    assert_eq!(token_forms(&s).len(), 2, "another parameter: a new request");
    h.set_env("GITHUB_RUN_ID", "101");
    assert_eq!(run(&h, &["--param", "org=b"]).code, 0);
    assert_eq!(
        token_forms(&s).len(),
        3,
        "another job on the same runner: a new request"
    );
    // Without its source, even a fresh federated token is not handed out.
    let out = h.run(&["token", "--issuer", &s.uri(), "--client-id", "ci"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr.contains("give --federated-token github"),
        "{out:?}"
    );
}

/// The credentials document with `entries` added (each `(key, value)`), and
/// `current` as the current login.
fn plant(h: &Harness, entries: &[(String, Value)], current: &str) {
    let mut doc = h.credentials();
    for (k, v) in entries {
        doc["credentials"][k] = v.clone();
    }
    h.put_credentials(&doc);
    std::fs::write(
        h.dir.path().join("config/state.json"),
        json!({"current": current}).to_string(),
    )
    .unwrap();
}

fn login_entry(
    issuer: &str,
    audience: Option<&str>,
    access: &str,
    ttl: i64,
    from: Option<String>,
) -> Value {
    json!({
        "issuer": issuer, "client_id": "cli", "audience": audience, "access_token": access,
        "refresh_token": if from.is_none() { Some("rt") } else { None },
        "expires_at": crate::credential::timestamp::format(NOW + ttl),
        "exchanged_from": from,
    })
}

#[test]
fn an_exchanged_login_is_bound_to_its_subject_and_goes_with_it() {
    let s =
        provider(json!({"access_token": "at-for-b", "token_type": "Bearer", "expires_in": 600}));
    let h = Harness::new();
    let uri = s.uri();
    let s1 = h.store(&uri, "at-s1", Some("rt-1"), 3600);
    let s2 = format!("{uri}|cli|https://a.example");
    let b = format!("{uri}|cli|https://b.example");
    // B, exchanged from S1 and fresh; S2 is now the current login.
    plant(
        &h,
        &[
            (
                s2.clone(),
                login_entry(&uri, Some("https://a.example"), "at-s2", 3600, None),
            ),
            (
                b.clone(),
                login_entry(
                    &uri,
                    Some("https://b.example"),
                    "at-b-from-s1",
                    600,
                    Some(s1.clone()),
                ),
            ),
        ],
        &s2,
    );
    let out = h.run(&["token", "--exchange", "--audience", "https://b.example"]);
    assert_eq!((out.code, out.stdout.trim()), (0, "at-for-b"), "{out:?}");
    assert_eq!(field(&token_forms(&s)[0], "subject_token"), Some("at-s2"));
    assert_eq!(
        h.credentials()["credentials"][&b]["exchanged_from"],
        s2.as_str()
    );
    // Logging out of the subject removes what was exchanged from it.
    let out = h.run(&["logout"]);
    assert_eq!(out.code, 0, "{out:?}");
    let left = h.credentials()["credentials"].clone();
    assert!(left.get(&s2).is_none() && left.get(&b).is_none(), "{left}");
    assert!(left.get(&s1).is_some(), "{left}");
}

#[test]
fn exchange_never_replaces_a_login_of_its_own_nor_follows_a_cycle() {
    let s = provider(json!({"access_token": "never"}));
    let h = Harness::new();
    let uri = s.uri();
    h.store(&uri, "at-person", Some("rt"), 3600);
    let b = format!("{uri}|cli|https://b.example");
    plant(
        &h,
        &[(
            b.clone(),
            login_entry(&uri, Some("https://b.example"), "at-b", -10, None),
        )],
        &format!("{uri}|cli"),
    );
    let out = h.run(&["token", "--exchange", "--audience", "https://b.example"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr.contains("there is a login of its own"),
        "{out:?}"
    );
    // A planted cycle (a from c, c from a): refused at once, no request.
    let (a, c) = (
        format!("{uri}|cli|https://a.example"),
        format!("{uri}|cli|https://c.example"),
    );
    plant(
        &h,
        &[
            (
                a.clone(),
                login_entry(&uri, Some("https://a.example"), "x", -10, Some(c.clone())),
            ),
            (
                c.clone(),
                login_entry(&uri, Some("https://c.example"), "y", -10, Some(a.clone())),
            ),
        ],
        &format!("{uri}|cli"),
    );
    let out = h.run(&[
        "token",
        "--issuer",
        &uri,
        "--client-id",
        "cli",
        "--audience",
        "https://a.example",
    ]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("is not a person's login"), "{out:?}");
    assert!(token_forms(&s).is_empty());
}

#[test]
fn the_exchange_refusals_have_their_exit_codes() {
    for (error, code, says) in [
        ("invalid_grant", 4, "refused to exchange the login's token"),
        (
            "unsupported_grant_type",
            2,
            "does not let this client exchange tokens",
        ),
        ("invalid_target", 2, "does not know that audience"),
    ] {
        let s = rt().block_on(
            MockIdp::new()
                .post("/token", move |_| {
                    ResponseTemplate::new(400).set_body_json(json!({"error": error}))
                })
                .start(),
        );
        let h = Harness::new();
        h.store(&s.uri(), "at-person", Some("rt"), 3600);
        let out = h.run(&["token", "--exchange", "--audience", "https://b.example"]);
        assert_eq!(out.code, code, "{error}: {out:?}");
        assert!(out.stderr.contains(says), "{error}: {out:?}");
    }
}

#[test]
fn programs_files_and_platform_answers_that_are_no_token() {
    let s = provider(json!({"access_token": "never"}));
    let mut h = Harness::new();
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("fifo");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    h.set_env("GITLAB_CI", "true");
    h.set_env("A_ID_TOKEN", &platform_jwt("a", 300));
    h.set_env("B_ID_TOKEN", &platform_jwt("b", 300));
    h.set_env("GCE_METADATA_HOST", "metadata.evil.example");
    let jwt = platform_jwt("s", 300);
    let fifo_source = format!("file:{}", fifo.display());
    let shared = dir.path().join("shared-token");
    std::fs::write(&shared, platform_jwt("s", 300)).unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o666)).unwrap();
    }
    let shared_source = format!("file:{}", shared.display());
    let cases: Vec<(Vec<&str>, i32, &str)> = vec![
        (
            vec![
                "--federated-token",
                "exec:/usr/bin/head -c 1048576 /dev/zero",
            ],
            1,
            "printed more than 64 KiB",
        ),
        (vec!["--federated-token", "exec:/bin/false"], 1, "failed"),
        (
            vec!["--federated-token", "exec:/nonexistent/program"],
            2,
            "is not on PATH",
        ),
        (
            vec!["--federated-token", &fifo_source],
            2,
            "is not a regular file",
        ),
        (
            vec!["--federated-token", &shared_source],
            2,
            "is writable by other users",
        ),
        (
            vec!["--federated-token", "gitlab"],
            2,
            "several ID tokens (A_ID_TOKEN, B_ID_TOKEN)",
        ),
        (
            vec!["--federated-token", "gcp", "--federated-audience", "x"],
            2,
            "neither the metadata server",
        ),
        (vec!["--federated-token", &jwt], 2, "not the token itself"),
        (
            vec!["--federated-token", "file:/nonexistent/token"],
            2,
            "cannot use the token (the token file): cannot read /nonexistent/token",
        ),
        (
            vec!["--federated-token", "azure-pipelines"],
            2,
            "env: SYSTEM_ACCESSTOKEN: $(System.AccessToken)",
        ),
        (
            vec!["--federated-token", "gitlab:NAMED_ID_TOKEN"],
            2,
            "GitLab gave this job no NAMED_ID_TOKEN",
        ),
        (
            vec!["--federated-token", "circleci"],
            2,
            "no CIRCLE_OIDC_TOKEN_V2",
        ),
        (
            vec!["--federated-token", "exec:/usr/bin/printf \\377"],
            1,
            "printed something that is not text",
        ),
    ];
    let uri = s.uri();
    for (extra, code, says) in cases {
        let mut args = vec!["token", "--issuer", &uri, "--client-id", "ci"];
        args.extend(extra.iter().copied());
        let out = h.run(&args);
        assert_eq!(out.code, code, "{extra:?}: {out:?}");
        assert!(out.stderr.contains(says), "{extra:?}: {out:?}");
        assert!(!out.stderr.contains(&jwt[10..40]), "{out:?}");
    }
    // CircleCI asked for an audience without its CLI.
    h.set_env("PATH", "/nonexistent");
    let out = h.run(&[
        "token",
        "--issuer",
        &s.uri(),
        "--client-id",
        "ci",
        "--federated-token",
        "circleci",
        "--federated-audience",
        "x",
    ]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr
            .contains("install it, or drop --federated-audience"),
        "{out:?}"
    );
    assert!(token_forms(&s).is_empty());
}

#[test]
fn azure_sign_in_pages_are_refusals_and_github_outages_are_tried_again() {
    let jwt = platform_jwt("sc://o/p/sc-1", 300);
    let answer = jwt.clone();
    let s = rt().block_on(
        MockIdp::new()
            .post("/token", |_| {
                ResponseTemplate::new(200)
                    .set_body_json(json!({"access_token": "at-ok", "expires_in": 600}))
            })
            .mount(|_| {
                Mock::given(method("POST"))
                    .and(path("/azure-203"))
                    .and(header("x-tfs-fedauthredirect", "Suppress"))
                    .and(header("content-type", "application/json"))
                    .respond_with(
                        ResponseTemplate::new(203).set_body_string("<html>sign in</html>"),
                    )
            })
            .mount(|_| {
                Mock::given(method("POST"))
                    .and(path("/azure-html"))
                    .respond_with(
                        ResponseTemplate::new(200)
                            .set_body_raw("<html>sign in</html>", "text/html"),
                    )
            })
            .mount(|_| {
                Mock::given(method("GET"))
                    .and(path("/gh"))
                    .respond_with(ResponseTemplate::new(503))
                    .up_to_n_times(1)
                    .with_priority(1)
            })
            .mount(move |_| {
                Mock::given(method("GET"))
                    .and(path("/gh"))
                    .respond_with(
                        ResponseTemplate::new(200).set_body_json(json!({"value": answer})),
                    )
                    .with_priority(2)
            })
            .start(),
    );
    let mut h = Harness::new();
    h.set_env("SYSTEM_ACCESSTOKEN", "az-job-token");
    for p in ["/azure-203", "/azure-html"] {
        h.set_env("SYSTEM_OIDCREQUESTURI", &format!("{}{p}", s.uri()));
        let out = h.run(&[
            "token",
            "--issuer",
            &s.uri(),
            "--client-id",
            "ci",
            "--federated-token",
            "azure-pipelines:sc-1",
        ]);
        assert_eq!(out.code, 2, "{p}: {out:?}");
        assert!(
            out.stderr
                .contains("Azure Pipelines refused the OIDC token request"),
            "{out:?}"
        );
        assert!(out.stderr.contains("SYSTEM_ACCESSTOKEN"), "{out:?}");
    }
    h.set_env(
        "ACTIONS_ID_TOKEN_REQUEST_URL",
        &format!("{}/gh?api-version=2.0", s.uri()),
    );
    h.set_env("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "req");
    let out = h.run(&[
        "token",
        "--issuer",
        &s.uri(),
        "--client-id",
        "ci",
        "--federated-token",
        "github",
    ]);
    assert_eq!((out.code, out.stdout.trim()), (0, "at-ok"), "{out:?}");
    assert_eq!(requests(&s, "/gh"), 2, "one 503, tried again once");
}

#[test]
fn a_provider_without_the_grant_says_so() {
    let s = rt().block_on(
        MockIdp::new()
            .post("/token", |_| {
                ResponseTemplate::new(400).set_body_json(json!({"error": "unsupported_grant_type"}))
            })
            .start(),
    );
    let mut h = Harness::new();
    ci(&mut h, &platform_jwt("s", 300));
    let out = h.run(&[
        "token",
        "--issuer",
        &s.uri(),
        "--client-id",
        "ci",
        "--grant",
        "token-exchange",
        "--federated-token",
        "env:CI_OIDC",
    ]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr.contains("does not offer this grant") && out.stderr.contains("check --grant"),
        "{out:?}"
    );
}
