use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::*;

#[test]
fn the_metadata_url_comes_from_the_bearer_challenge() {
    assert_eq!(
        resource_metadata_url(
            r#"Bearer error="invalid_token", resource_metadata="https://api.example.com/.well-known/oauth-protected-resource/v1""#
        )
        .as_deref(),
        Some("https://api.example.com/.well-known/oauth-protected-resource/v1")
    );
    // Several challenges, escapes, a token68, case.
    let h = r#"Basic realm="a\"b", DPoP algs="ES256", bearer Resource_Metadata="https://r/m""#;
    let all = challenges(h);
    assert_eq!(all.len(), 3, "{all:?}");
    assert_eq!(all[0].params, [("realm".to_string(), "a\"b".to_string())]);
    assert_eq!(resource_metadata_url(h).as_deref(), Some("https://r/m"));
    assert_eq!(
        challenges("Negotiate abc==, Bearer x=y")[1].params[0].1,
        "y"
    );
    for none in [
        "",
        "Bearer",
        "Bearer realm=\"unclosed",
        "=",
        "Bearer resource_metadata=\"\"",
    ] {
        assert_eq!(resource_metadata_url(none), None, "{none:?}");
    }
}

#[test]
fn the_well_known_url_has_the_path_inserted() {
    let u = |s: &str| well_known_url(&Url::parse(s).unwrap()).to_string();
    assert_eq!(
        u("https://api.example.com/v1"),
        "https://api.example.com/.well-known/oauth-protected-resource/v1"
    );
    assert_eq!(
        u("https://api.example.com/"),
        "https://api.example.com/.well-known/oauth-protected-resource"
    );
    assert_eq!(
        u("https://api.example.com/a/b/?x=1#f"),
        "https://api.example.com/.well-known/oauth-protected-resource/a/b?x=1"
    );
}

fn meta(resource: &str, servers: &[&str]) -> ResourceMetadata {
    serde_json::from_value(json!({"resource": resource, "authorization_servers": servers})).unwrap()
}

#[test]
fn metadata_for_another_resource_or_insecure_servers_is_refused() {
    let url = "https://api.example.com/.well-known/oauth-protected-resource";
    assert!(
        check(
            &meta("https://api.example.com/", &["https://as.example.com"]),
            "https://api.example.com",
            url
        )
        .is_ok()
    );
    let e = check(
        &meta("https://evil.example.com", &["https://as.example.com"]),
        "https://api.example.com",
        url,
    )
    .unwrap_err();
    assert!(e.to_string().contains("RFC 9728"), "{e}");
    assert!(
        check(
            &meta("https://api.example.com", &[]),
            "https://api.example.com",
            url
        )
        .is_err()
    );
    assert!(
        check(
            &meta("https://api.example.com", &["http://as.example.com"]),
            "https://api.example.com",
            url
        )
        .is_err()
    );
    assert!(
        check(
            &meta("https://api.example.com", &["https://as.example.com/?q=1"]),
            "https://api.example.com",
            url
        )
        .is_err()
    );
    // A remote API never sends vmauth to loopback; a loopback API may.
    let remote = meta("https://api.example.com", &["http://127.0.0.1:9"]);
    assert!(check(&remote, "https://api.example.com", url).is_err());
    let local = meta("http://127.0.0.1:8/api", &["http://127.0.0.1:9"]);
    assert!(check(&local, "http://127.0.0.1:8/api", url).is_ok());
    let shown = meta(
        "https://api.example.com",
        &["https://as.example.com/a\u{1b}[2J"],
    );
    assert!(check(&shown, "https://api.example.com", url).is_err());
}

#[test]
fn one_server_is_chosen_several_need_a_choice() {
    let one = meta("https://r", &["https://a"]);
    assert_eq!(choose_server(&one, None), Ok("https://a"));
    let two = meta("https://r", &["https://a", "https://b/"]);
    assert_eq!(choose_server(&two, Some("https://b")), Ok("https://b/"));
    assert_eq!(
        choose_server(&two, None),
        Err(vec!["https://a", "https://b/"])
    );
    assert_eq!(
        choose_server(&two, Some("https://c")),
        Err(vec!["https://a", "https://b/"])
    );
    // A chosen server the API does not name is refused, even beside its only one.
    assert_eq!(
        choose_server(&one, Some("https://c")),
        Err(vec!["https://a"])
    );
    assert_eq!(choose_server(&one, Some("https://a/")), Ok("https://a"));
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn discovery_follows_the_challenge_else_the_well_known_url() {
    rt().block_on(async {
        let s = MockServer::start().await;
        let api = format!("{}/v1", s.uri());
        Mock::given(method("GET"))
            .and(path("/v1"))
            .respond_with(
                // Two header lines: one list (RFC 9110 §5.3).
                ResponseTemplate::new(401)
                    .append_header("www-authenticate", "Basic realm=\"x\"")
                    .append_header(
                        "www-authenticate",
                        format!(r#"Bearer resource_metadata="{}/meta/v1""#, s.uri()),
                    ),
            )
            .mount(&s)
            .await;
        Mock::given(method("GET"))
            .and(path("/meta/v1"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "resource": api, "authorization_servers": [format!("{}/as", s.uri())],
            })))
            .mount(&s)
            .await;
        let http = Http::new(Default::default()).unwrap();
        let d = discover_resource(&http, &api).await.unwrap();
        assert_eq!(d.url, format!("{}/meta/v1", s.uri()));
        assert_eq!(d.meta.authorization_servers, [format!("{}/as", s.uri())]);
        // No challenge: the well-known URL, path inserted; a mismatch refused.
        let other = format!("{}/v2", s.uri());
        Mock::given(method("GET"))
            .and(path("/.well-known/oauth-protected-resource/v2"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "resource": format!("{}/elsewhere", s.uri()), "authorization_servers": ["https://as.example"],
            })))
            .mount(&s)
            .await;
        let e = discover_resource(&http, &other).await.unwrap_err();
        assert!(e.to_string().contains("not used"), "{e}");
        // A resource over http to a host that is not loopback is never asked.
        assert!(discover_resource(&http, "http://api.example.com/").await.is_err());
    });
}

/// Found by fuzzing (fuzz/regressions/resource_metadata/): a quoted-pair
/// carried an escape character into a parameter's value.
#[test]
fn a_quoted_pair_never_carries_a_control_character() {
    let all = challenges("Basic realm=\"a\\\u{1b}b\", Bearer resource_metadata=\"https://r/m\"");
    assert!(
        all.iter().all(|c| c
            .params
            .iter()
            .all(|(_, v)| !v.chars().any(char::is_control))),
        "{all:?}"
    );
}
