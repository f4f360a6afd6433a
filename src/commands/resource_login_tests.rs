//! In-process tests of `vmauth login API_URL` against one mock server playing
//! the API (RFC 9728) and its authorization server (discovery, RFC 7591
//! registration, the device flow).

use serde_json::{Value, json};
use wiremock::matchers::{body_string_contains, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::testing::harness::*;
use crate::testing::keys::jwks;

/// The API at `/api` (401 naming its metadata), the metadata naming the mock
/// itself as the authorization server (and `extra` servers), a registration
/// endpoint answering `registration`, the device flow and tokens.
fn api_and_provider(extra: &[&str], registration: ResponseTemplate) -> MockServer {
    let extra: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
    rt().block_on(
        MockIdp::new()
            .metadata(|uri| {
                let mut m = crate::testing::mock_idp::metadata(uri);
                m["registration_endpoint"] = format!("{uri}/reg").into();
                m["authorization_endpoint"] = format!("{uri}/auth").into();
                m
            })
            .mount(|uri| {
                Mock::given(method("GET")).and(path("/api")).respond_with(
                    ResponseTemplate::new(401).insert_header(
                        "www-authenticate",
                        format!(r#"Bearer resource_metadata="{uri}/meta""#),
                    ),
                )
            })
            .mount(move |uri| {
                let mut servers = vec![Value::from(uri)];
                servers.extend(extra.into_iter().map(Value::from));
                Mock::given(method("GET")).and(path("/meta")).respond_with(
                    ResponseTemplate::new(200).set_body_json(json!({
                        "resource": format!("{uri}/api"), "authorization_servers": servers,
                    })),
                )
            })
            .mount(move |_| {
                Mock::given(method("POST"))
                    .and(path("/reg"))
                    .respond_with(registration)
            })
            .get("/jwks", |_| {
                ResponseTemplate::new(200).set_body_json(IDP_KEY.with(|k| jwks(&[k])))
            })
            .device_authorization()
            .mount(|uri| {
                Mock::given(method("POST"))
                    .and(path("/token"))
                    .and(body_string_contains("client_id=dyn-1"))
                    .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                        "access_token": "at-api", "refresh_token": "rt-api",
                        "id_token": id_token_for(uri, "alice", "dyn-1"), "token_type": "Bearer",
                        "expires_in": 3600, "scope": "openid offline_access",
                    })))
            })
            .start(),
    )
}

fn registered() -> ResponseTemplate {
    ResponseTemplate::new(201).set_body_json(json!({
        "client_id": "dyn-1", "registration_access_token": "rat-0123456789abcdef",
        "token_endpoint_auth_method": "none",
    }))
}

#[test]
fn a_login_from_the_apis_url_registers_once_and_asks_for_the_api() {
    let s = api_and_provider(&[], registered());
    let h = Harness::new();
    let api = format!("{}/api", s.uri());
    let out = h.run(&["login", &api]);
    assert_eq!(out.code, 0, "{out:?}");
    let host = s.uri().trim_start_matches("http://").to_string();
    assert!(
        out.stderr
            .contains(&format!("{host} uses the sign-in of {}.", s.uri())),
        "{out:?}"
    );
    assert!(out.stderr.contains("Registered vmauth at"), "{out:?}");
    assert!(!out.stderr.contains("rat-0123456789abcdef"), "{out:?}");
    let reg: Value = serde_json::from_str(&bodies(&s, "/reg")[0]).unwrap();
    assert_eq!(reg["token_endpoint_auth_method"], "none");
    assert_eq!(reg["client_name"], "vmauth");
    // The device request asks for the API as a resource, not as an audience.
    let device = &bodies(&s, "/device/auth")[0];
    let resource = url::form_urlencoded::byte_serialize(api.as_bytes()).collect::<String>();
    assert!(device.contains(&format!("resource={resource}")), "{device}");
    assert!(
        device.contains("client_id=dyn-1") && !device.contains("audience="),
        "{device}"
    );
    let key = format!("{}|dyn-1|{api}", s.uri());
    assert_eq!(
        h.credentials()["credentials"][&key]["access_token"],
        "at-api"
    );
    // The registration is kept (0600) and reused.
    let out = h.run(&["login", &api]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(bodies(&s, "/reg").len(), 1, "registered once");
    let status: Value = serde_json::from_str(&h.run(&["status", "--json"]).stdout).unwrap();
    assert_eq!(status["logins"][0]["registered"], true, "{status}");
    assert_eq!(status["logins"][0]["audience"], api.as_str(), "{status}");
    // `token --resource` selects the login.
    let t = h.run(&["token", "--resource", &api]);
    assert_eq!((t.code, t.stdout.trim()), (0, "at-api"), "{t:?}");
    let none = h.run(&["token", "--resource", "https://other.example/api"]);
    assert_eq!(none.code, 4, "{none:?}");
    // logout --unregister forgets the registration (this server offers no
    // RFC 7592 management, so it is not deleted there) and says so.
    let out = h.run(&["logout", "--unregister"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        out.stderr
            .contains("registration of client dyn-1 forgotten here, not deleted at the server"),
        "{out:?}"
    );
    let out = h.run(&["login", &api]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(
        bodies(&s, "/reg").len(),
        2,
        "registered again after --unregister"
    );
}

#[test]
fn several_servers_need_a_choice_and_a_mismatch_is_refused() {
    let s = api_and_provider(&["https://other-as.example"], registered());
    let h = Harness::new();
    let api = format!("{}/api", s.uri());
    let out = h.run(&["login", &api]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr.contains("names several authorization servers")
            && out.stderr.contains("--authorization-server"),
        "{out:?}"
    );
    let out = h.run(&["login", &api, "--authorization-server", &s.uri()]);
    assert_eq!(out.code, 0, "{out:?}");
    // Metadata for another resource: refused before any sign-in.
    let out = h.run(&["login", &format!("{}/elsewhere", s.uri())]);
    assert_ne!(out.code, 0, "{out:?}");
    assert!(
        out.stderr.contains("cannot find where to sign in"),
        "{out:?}"
    );
}

#[test]
fn a_server_without_registration_needs_a_client_id() {
    let s = api_and_provider(
        &[],
        ResponseTemplate::new(401).set_body_json(json!({"error": "invalid_token"})),
    );
    let h = Harness::new();
    let api = format!("{}/api", s.uri());
    let out = h.run(&["login", &api]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr
            .contains("initial access token: --registration-token-file"),
        "{out:?}"
    );
    let out = h.run(&["login", &api, "--client-id", "dyn-1"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        bodies(&s, "/reg").len() == 1,
        "no registration with --client-id"
    );
}

#[test]
fn a_kept_registration_the_server_forgot_is_made_again_once() {
    let s = api_and_provider(&[], registered());
    rt().block_on(
        Mock::given(method("POST"))
            .and(path("/device/auth"))
            .and(body_string_contains("client_id=gone-1"))
            .respond_with(
                ResponseTemplate::new(401).set_body_json(json!({"error": "invalid_client"})),
            )
            .with_priority(1)
            .mount(&s),
    );
    let h = Harness::new();
    let state = crate::state::StateDir::new(h.dir.path().join("config"), false, Box::new(|_| {}));
    state
        .set_registration(&crate::state::StoredRegistration {
            issuer: s.uri(),
            client_id: "gone-1".into(),
            registration_client_uri: None,
            registration_access_token: None,
        })
        .unwrap();
    let api = format!("{}/api", s.uri());
    let out = h.run(&["login", &api]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        out.stderr
            .contains("no longer knows client gone-1; registering again"),
        "{out:?}"
    );
    assert_eq!(bodies(&s, "/reg").len(), 1);
    assert_eq!(state.registration(&s.uri()).unwrap().client_id, "dyn-1");
}

/// vmauth's Client ID Metadata Document, in the CIMD tests.
const CIMD: &str = "https://vmauth.example/client.json";

#[test]
fn a_client_id_metadata_document_is_used_where_the_server_takes_them() {
    let s = api_and_provider(&[], registered());
    // The same server, now advertising Client ID Metadata Documents.
    rt().block_on(async {
        let uri = s.uri();
        let mut meta = crate::testing::mock_idp::metadata(&uri);
        meta["client_id_metadata_document_supported"] = true.into();
        Mock::given(method("GET"))
            .and(path("/.well-known/openid-configuration"))
            .respond_with(ResponseTemplate::new(200).set_body_json(meta))
            .with_priority(1)
            .mount(&s)
            .await;
        Mock::given(method("POST"))
            .and(path("/token"))
            .and(body_string_contains("client_id=https%3A%2F%2Fvmauth.example%2Fclient.json"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "access_token": "at-cimd", "refresh_token": "rt",
                "id_token": id_token_for(&uri, "alice", CIMD), "token_type": "Bearer", "expires_in": 3600,
            })))
            .mount(&s)
            .await;
    });
    let h = Harness::new();
    let api = format!("{}/api", s.uri());
    let out = h.run(&["login", &api, "--client-metadata-url", CIMD]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        bodies(&s, "/reg").is_empty(),
        "no registration with a metadata document"
    );
    let key = format!("{}|{CIMD}|{api}", s.uri());
    assert_eq!(
        h.credentials()["credentials"][&key]["access_token"],
        "at-cimd"
    );
    // Not https: refused.
    let out = h.run(&[
        "login",
        &api,
        "--client-metadata-url",
        "http://vmauth.example/c.json",
    ]);
    assert_eq!(out.code, 2, "{out:?}");
}

#[test]
fn an_initial_access_token_goes_only_to_a_server_the_user_named() {
    // A server that wants one: 401 without it, a registration with it.
    let s = api_and_provider(&[], registered());
    rt().block_on(
        Mock::given(method("POST"))
            .and(path("/reg"))
            .and(|r: &wiremock::Request| !r.headers.contains_key("authorization"))
            .respond_with(
                ResponseTemplate::new(401).set_body_json(json!({"error": "invalid_token"})),
            )
            .with_priority(1)
            .mount(&s),
    );
    let mut h = Harness::new();
    h.set_env("VMAUTH_REGISTRATION_TOKEN", "iat-0123456789abcdef");
    let api = format!("{}/api", s.uri());
    let out = h.run(&["login", &api]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr
            .contains("sends yours only to a server you name: add --authorization-server"),
        "{out:?}"
    );
    assert!(!out.stderr.contains("iat-0123456789abcdef"), "{out:?}");
    let sent = rt().block_on(s.received_requests()).unwrap_or_default();
    assert!(
        sent.iter()
            .filter(|r| r.url.path() == "/reg")
            .all(|r| !r.headers.contains_key("authorization")),
        "the token went to a server the user did not name"
    );
    let out = h.run(&["login", &api, "--authorization-server", &s.uri()]);
    assert_eq!(out.code, 0, "{out:?}");
    let with_token = rt()
        .block_on(s.received_requests())
        .unwrap_or_default()
        .iter()
        .filter(|r| {
            r.url.path() == "/reg"
                && r.headers
                    .get("authorization")
                    .is_some_and(|v| v == "Bearer iat-0123456789abcdef")
        })
        .count();
    assert_eq!(with_token, 1);
}

#[test]
fn choices_the_api_does_not_allow_are_refused() {
    let s = api_and_provider(&[], registered());
    let h = Harness::new();
    let api = format!("{}/api", s.uri());
    // A server the user chose that the API does not name, even beside its only one.
    let out = h.run(&[
        "login",
        &api,
        "--authorization-server",
        "https://elsewhere.example",
    ]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr
            .contains("does not name https://elsewhere.example"),
        "{out:?}"
    );
    // A client secret for a client vmauth registers itself.
    let out = h.run(&["login", &api, "--client-secret-file", "/dev/null"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr
            .contains("client authentication goes with a client id"),
        "{out:?}"
    );
    assert!(bodies(&s, "/reg").is_empty());
}

#[test]
fn unregister_keeps_a_client_other_logins_use_and_token_resource_needs_one_login() {
    let s = api_and_provider(&[], registered());
    let h = Harness::new();
    let api = format!("{}/api", s.uri());
    assert_eq!(h.run(&["login", &api]).code, 0);
    // Another API of the same server uses the same registered client.
    let mut doc = h.credentials();
    let other = format!("{}|dyn-1|https://other.example/api", s.uri());
    doc["credentials"][&other] = json!({
        "issuer": s.uri(), "client_id": "dyn-1", "audience": "https://other.example/api",
        "resource": ["https://other.example/api"], "access_token": "at-other",
        "expires_at": crate::credential::timestamp::format(NOW + 3600),
    });
    // And a second login for the API itself, through another client.
    let second = format!("{}|cli|{api}", s.uri());
    doc["credentials"][&second] = json!({
        "issuer": s.uri(), "client_id": "cli", "audience": api, "resource": [api],
        "access_token": "at-second", "expires_at": crate::credential::timestamp::format(NOW + 3600),
    });
    h.put_credentials(&doc);
    // The current login is preferred; without it, two logins need a choice.
    assert_eq!(
        h.run(&["token", "--resource", &api]).stdout.trim(),
        "at-api"
    );
    let key = format!("{}|dyn-1|{api}", s.uri());
    let out = h.run(&[
        "logout",
        "--issuer",
        &s.uri(),
        "--client-id",
        "dyn-1",
        "--audience",
        &api,
        "--unregister",
    ]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        out.stderr
            .contains("registration of client dyn-1 kept: 1 other login(s) use it"),
        "{out:?}"
    );
    assert!(h.credentials()["credentials"].get(&key).is_none());
    let out = h.run(&["token", "--resource", &api]);
    assert_eq!((out.code, out.stdout.trim()), (0, "at-second"), "{out:?}");
    doc = h.credentials();
    doc["credentials"][&key] = doc["credentials"][&second].clone();
    doc["credentials"][&key]["client_id"] = "dyn-1".into();
    h.put_credentials(&doc);
    let out = h.run(&["token", "--resource", &api]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("several logins are for"), "{out:?}");
}

#[test]
fn the_saved_profile_skips_discovery_next_time() {
    let s = api_and_provider(&[], registered());
    let h = Harness::new();
    let api = format!("{}/api", s.uri());
    let out = h.run(&["login", &api, "--save-profile", "api"]);
    assert_eq!(out.code, 0, "{out:?}");
    let config = std::fs::read_to_string(h.dir.path().join("config/config.toml")).unwrap();
    for part in [
        format!("issuer = \"{}\"", s.uri()),
        "client_id = \"dyn-1\"".to_string(),
        format!("audience = \"{api}\""),
        format!("resource = [\"{api}\"]"),
    ] {
        assert!(config.contains(&part), "{part}: {config}");
    }
    let metadata_reads = || {
        rt().block_on(s.received_requests())
            .unwrap_or_default()
            .iter()
            .filter(|r| r.url.path() == "/meta")
            .count()
    };
    let before = metadata_reads();
    let out = h.run(&["login", "--profile", "api"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(
        metadata_reads(),
        before,
        "no RFC 9728 discovery from the profile"
    );
    let device = bodies(&s, "/device/auth");
    assert!(!device.last().unwrap().contains("audience="), "{device:?}");
}

#[test]
fn an_empty_registration_token_file_is_named() {
    let s = api_and_provider(&[], registered());
    rt().block_on(
        Mock::given(method("POST"))
            .and(path("/reg"))
            .respond_with(
                ResponseTemplate::new(401).set_body_json(json!({"error": "invalid_token"})),
            )
            .with_priority(1)
            .mount(&s),
    );
    let h = Harness::new();
    let empty = h.dir.path().join("empty-token");
    std::fs::write(&empty, "\n").unwrap();
    let api = format!("{}/api", s.uri());
    let out = h.run(&[
        "login",
        &api,
        "--authorization-server",
        &s.uri(),
        "--registration-token-file",
        empty.to_str().unwrap(),
    ]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("is empty"), "{out:?}");
}

#[test]
fn a_terminal_is_asked_which_server_and_a_wrong_answer_is_refused() {
    let s = api_and_provider(&["https://other-as.example"], registered());
    let h = Harness::new();
    let api = format!("{}/api", s.uri());
    let out = h.run_with(
        &["login", &api],
        crate::io::TestIo::new().stdin_terminal().stdin("9\n"),
    );
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr.contains("  2. https://other-as.example"),
        "{out:?}"
    );
    assert!(
        out.stderr.contains("\"9\" is not one of the numbers shown"),
        "{out:?}"
    );
    let out = h.run_with(
        &["login", &api],
        crate::io::TestIo::new().stdin_terminal().stdin("1\n"),
    );
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(bodies(&s, "/reg").len(), 1);
}

#[test]
fn a_registration_the_server_would_not_delete_is_kept_and_a_missing_token_file_is_named() {
    // The registration's management endpoint on a server of its own: known
    // (RFC 7592 read), but its deletion fails.
    let manage = rt().block_on(MockServer::start());
    rt().block_on(async {
        Mock::given(method("GET"))
            .and(path("/reg/dyn-1"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"client_id": "dyn-1"})))
            .mount(&manage)
            .await;
        // The server echoes the registration token in its refusal.
        Mock::given(method("DELETE"))
            .and(path("/reg/dyn-1"))
            .respond_with(ResponseTemplate::new(500).set_body_json(json!({
                "error": "server_error",
                "error_description": "cannot delete the client of rat-0123456789abcdef",
            })))
            .mount(&manage)
            .await;
    });
    let s = api_and_provider(
        &[],
        ResponseTemplate::new(201).set_body_json(json!({
            "client_id": "dyn-1", "registration_access_token": "rat-0123456789abcdef",
            "registration_client_uri": format!("{}/reg/dyn-1", manage.uri()),
        })),
    );
    let h = Harness::new();
    let api = format!("{}/api", s.uri());
    assert_eq!(h.run(&["login", &api]).code, 0);
    let out = h.run(&["logout", "--unregister"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        out.stderr
            .contains("registration of client dyn-1 not deleted"),
        "{out:?}"
    );
    assert!(
        out.stderr
            .contains("kept, run vmauth logout --unregister again"),
        "{out:?}"
    );
    assert!(!out.stderr.contains("rat-0123456789abcdef"), "{out:?}");
    // Kept: the next login reuses it (after the read says it is known).
    assert_eq!(h.run(&["login", &api]).code, 0);
    assert_eq!(bodies(&s, "/reg").len(), 1);
    // A registration token file that cannot be read: exit 2, named.
    let h = Harness::new();
    let out = h.run(&[
        "login",
        &api,
        "--registration-token-file",
        "/nonexistent/token",
    ]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr
            .contains("cannot read the registration token file /nonexistent/token"),
        "{out:?}"
    );
}

/// The file store, but listing its logins fails after the first time (a
/// keychain locked while the command runs).
struct UnlistableStore(Box<dyn crate::store::CredentialStore>, std::cell::Cell<u32>);

impl crate::store::CredentialStore for UnlistableStore {
    fn kind(&self) -> crate::store::StoreKind {
        self.0.kind()
    }
    fn location(&self) -> String {
        self.0.location()
    }
    fn get(&self, key: &str) -> crate::error::Result<Option<crate::credential::Credential>> {
        self.0.get(key)
    }
    fn put(&self, key: &str, c: &crate::credential::Credential) -> crate::error::Result<()> {
        self.0.put(key, c)
    }
    fn delete(&self, key: &str) -> crate::error::Result<bool> {
        self.0.delete(key)
    }
    fn list(&self) -> crate::error::Result<Vec<(String, crate::credential::Credential)>> {
        self.1.set(self.1.get() + 1);
        if self.1.get() > 1 {
            return Err(crate::error::Error::storage("the keychain is locked"));
        }
        self.0.list()
    }
}

#[test]
fn a_registration_is_kept_when_the_store_cannot_say_who_else_uses_it() {
    let s = api_and_provider(&[], registered());
    let h = Harness::new();
    let api = format!("{}/api", s.uri());
    assert_eq!(h.run(&["login", &api]).code, 0);
    let out = h.run_wrapped(&["logout", "--unregister"], |inner| {
        Box::new(UnlistableStore(inner, Default::default()))
    });
    assert!(
        out.stderr.contains(
            "registration of client dyn-1 kept: cannot tell whether other logins use it (the keychain is locked)"
        ),
        "{out:?}"
    );
    let deletes = rt()
        .block_on(s.received_requests())
        .unwrap_or_default()
        .iter()
        .filter(|r| r.method.as_str() == "DELETE")
        .count();
    assert_eq!(deletes, 0, "nothing deleted at the server");
}

#[test]
fn a_registration_token_the_server_rotates_at_a_read_is_kept() {
    let manage = rt().block_on(MockServer::start());
    rt().block_on(async {
        Mock::given(method("GET"))
            .and(path("/reg/dyn-1"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "client_id": "dyn-1", "token_endpoint_auth_method": "none",
                "registration_access_token": "rat-rotated-0123456789",
            })))
            .mount(&manage)
            .await;
        Mock::given(method("DELETE"))
            .and(path("/reg/dyn-1"))
            .respond_with(ResponseTemplate::new(204))
            .mount(&manage)
            .await;
    });
    let s = api_and_provider(
        &[],
        ResponseTemplate::new(201).set_body_json(json!({
            "client_id": "dyn-1", "registration_access_token": "rat-0123456789abcdef",
            "registration_client_uri": format!("{}/reg/dyn-1", manage.uri()),
            "token_endpoint_auth_method": "none",
        })),
    );
    let h = Harness::new();
    let api = format!("{}/api", s.uri());
    assert_eq!(h.run(&["login", &api]).code, 0);
    // The second login reads the registration, which now has another token.
    let out = h.run(&["login", &api]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(!out.stderr.contains("rat-rotated"), "{out:?}");
    assert_eq!(bodies(&s, "/reg").len(), 1, "not registered again");
    let out = h.run(&["logout", "--unregister"]);
    assert!(
        out.stderr.contains("registration of client dyn-1 deleted"),
        "{out:?}"
    );
    let deletes: Vec<String> = rt()
        .block_on(manage.received_requests())
        .unwrap_or_default()
        .iter()
        .filter(|r| r.method.as_str() == "DELETE")
        .filter_map(|r| {
            r.headers
                .get("authorization")
                .map(|v| v.to_str().unwrap_or("").to_string())
        })
        .collect();
    assert_eq!(
        deletes,
        ["Bearer rat-rotated-0123456789"],
        "deleted with the rotated token"
    );
}

#[test]
fn the_browser_sign_in_asks_for_the_api_as_a_resource_only() {
    let s = api_and_provider(&[], registered());
    let h = Harness::new();
    let api = format!("{}/api", s.uri());
    let out = h.run(&[
        "login",
        &api,
        "--flow",
        "browser",
        "--no-open",
        "--timeout",
        "1s",
    ]);
    // Nobody answers in the browser: the sign-in page's address was shown.
    assert_eq!(out.code, 5, "{out:?}");
    let url = out
        .stderr
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with(&format!("{}/auth?", s.uri())))
        .unwrap_or_else(|| panic!("no sign-in address: {out:?}"));
    let encoded: String = url::form_urlencoded::byte_serialize(api.as_bytes()).collect();
    assert!(url.contains(&format!("resource={encoded}")), "{url}");
    assert!(!url.contains("audience="), "{url}");
}
