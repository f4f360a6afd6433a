//! In-process tests of the issuer-metadata cache: one request per refresh, two
//! per logout, the cached document checked like a fetched one, and a refetch
//! when a cached endpoint is gone.

use std::time::Duration;

use serde_json::{Value, json};
use wiremock::matchers::{body_string_contains, method, path};
use wiremock::{Mock, ResponseTemplate};

use crate::oidc::provider::DISCOVERY_MAX_AGE;
use crate::state::StateDir;
use crate::testing::harness::*;

const WELL_KNOWN: &str = "/.well-known/openid-configuration";

fn state(h: &Harness) -> StateDir {
    StateDir::new(h.dir.path().join("config"), false, Box::new(|_| {}))
}

/// Put `doc` in the cache as `issuer`'s metadata, fetched `age` seconds ago.
fn seed(h: &Harness, issuer: &str, doc: &Value, age: i64) {
    state(h)
        .set_discovery(
            issuer,
            &format!("{issuer}{WELL_KNOWN}"),
            NOW - age,
            doc.to_string().as_bytes(),
        )
        .unwrap();
}

fn metadata(uri: &str, token: &str) -> Value {
    json!({
        "issuer": uri,
        "token_endpoint": format!("{uri}{token}"),
        "revocation_endpoint": format!("{uri}/revoke"),
        "jwks_uri": format!("{uri}/jwks"),
    })
}

#[test]
fn a_refresh_is_one_request_and_a_logout_two_once_the_metadata_is_cached() {
    let h = Harness::new();
    let s = idp();
    h.store(&s.uri(), "at-old", Some("rt-old"), 30);
    let r = h.run(&["token"]);
    assert_eq!((r.code, r.stdout.as_str()), (0, "at-refreshed\n"), "{r:?}");
    assert_eq!(requests(&s, WELL_KNOWN), 1, "fetched once, then cached");
    for _ in 0..2 {
        let r = h.run(&["token", "--force-refresh"]);
        assert_eq!(r.code, 0, "{r:?}");
    }
    assert_eq!(requests(&s, "/token"), 3);
    assert_eq!(requests(&s, WELL_KNOWN), 1, "a refresh is one request");
    // The cache file is private, like the rest of the config directory.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let dir = h.dir.path().join("config/discovery");
        let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&dir), 0o700);
        for f in std::fs::read_dir(&dir).unwrap() {
            assert_eq!(mode(&f.unwrap().path()), 0o600);
        }
    }
    let r = h.run(&["logout"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(requests(&s, "/revoke"), 2);
    assert_eq!(requests(&s, WELL_KNOWN), 1, "a logout is two requests");
}

#[test]
fn the_cache_lasts_a_day_and_a_login_fetches_anew() {
    let h = Harness::new();
    let s = idp();
    h.store(&s.uri(), "at-old", Some("rt-old"), 30);
    assert_eq!(h.run(&["token"]).code, 0);
    h.clock
        .advance(Duration::from_secs(DISCOVERY_MAX_AGE as u64 - 1));
    assert_eq!(h.run(&["token", "--force-refresh"]).code, 0);
    assert_eq!(requests(&s, WELL_KNOWN), 1);
    h.clock.advance(Duration::from_secs(1));
    assert_eq!(h.run(&["token", "--force-refresh"]).code, 0);
    assert_eq!(requests(&s, WELL_KNOWN), 2, "a day old: fetched again");
    // A login fetches the metadata even when a fresh copy is cached.
    let h = Harness::new();
    seed(&h, &s.uri(), &metadata(&s.uri(), "/token"), 60);
    let r = h.run(&["login", "--issuer", &s.uri(), "--client-id", "cli"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(requests(&s, WELL_KNOWN), 3, "login never trusts the cache");
}

#[test]
fn a_cached_document_is_checked_like_a_fetched_one() {
    let s = idp();
    let uri = s.uri();
    for (why, bad) in [
        (
            "another issuer",
            json!({"issuer": "https://evil.example.com", "token_endpoint": format!("{uri}/evil")}),
        ),
        (
            "an http endpoint elsewhere",
            json!({"issuer": uri, "token_endpoint": "http://evil.example.com/token"}),
        ),
        ("no token endpoint", json!({"issuer": uri})),
    ] {
        let h = Harness::new();
        h.store(&uri, "at-old", Some("rt-old"), 30);
        seed(&h, &uri, &bad, 60);
        let before = requests(&s, WELL_KNOWN);
        let r = h.run(&["token"]);
        assert_eq!(
            (r.code, r.stdout.as_str()),
            (0, "at-refreshed\n"),
            "{why}: {r:?}"
        );
        assert_eq!(
            requests(&s, WELL_KNOWN),
            before + 1,
            "{why}: fetched instead"
        );
        assert_eq!(requests(&s, "/evil"), 0, "{why}");
        // The bad copy was replaced by the fetched one.
        let (_, _, body) = state(&h).discovery(&uri).unwrap();
        let doc: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(doc["token_endpoint"], format!("{uri}/token"), "{why}");
    }
    // A copy dated in the future is not used.
    let h = Harness::new();
    h.store(&uri, "at-old", Some("rt-old"), 30);
    seed(&h, &uri, &metadata(&uri, "/evil"), -3600);
    let before = requests(&s, WELL_KNOWN);
    assert_eq!(h.run(&["token"]).code, 0);
    assert_eq!(
        requests(&s, WELL_KNOWN),
        before + 1,
        "from the future: stale"
    );
    assert_eq!(requests(&s, "/evil"), 0);
}

#[test]
fn a_cached_endpoint_that_is_gone_refetches_the_metadata_and_retries_there_once() {
    let h = Harness::new();
    let s = idp();
    let uri = s.uri();
    h.store(&uri, "at-old", Some("rt-old"), 30);
    // The cache names /old-token, which answers 404 (nothing is mounted there).
    seed(&h, &uri, &metadata(&uri, "/old-token"), 60);
    let r = h.run(&["token"]);
    assert_eq!((r.code, r.stdout.as_str()), (0, "at-refreshed\n"), "{r:?}");
    assert_eq!(requests(&s, "/old-token"), 1);
    assert_eq!(requests(&s, WELL_KNOWN), 1);
    assert_eq!(
        requests(&s, "/token"),
        1,
        "sent once more, to the new endpoint"
    );
    // A refusal that is not "gone" (invalid_grant) sends nothing again.
    let h = Harness::new();
    let s2 = rt().block_on(
        MockIdp::new()
            .metadata(|uri| metadata(uri, "/token"))
            .mount(|_| {
                Mock::given(method("POST"))
                    .and(path("/token"))
                    .and(body_string_contains("grant_type=refresh_token"))
                    .respond_with(
                        ResponseTemplate::new(400).set_body_json(json!({"error": "invalid_grant"})),
                    )
            })
            .start(),
    );
    h.store(&s2.uri(), "at-old", Some("rt-old"), 30);
    seed(&h, &s2.uri(), &metadata(&s2.uri(), "/token"), 60);
    let r = h.run(&["token"]);
    assert_eq!(r.code, 4, "{r:?}");
    assert_eq!(requests(&s2, "/token"), 1);
    assert_eq!(
        requests(&s2, WELL_KNOWN),
        0,
        "the cached metadata is still good"
    );
}

#[test]
fn a_gone_endpoint_at_the_same_place_is_not_tried_twice() {
    // The cached and the fetched metadata agree: the failure stands, one request.
    let h = Harness::new();
    let s = rt().block_on(
        MockIdp::new()
            .metadata(|uri| metadata(uri, "/token"))
            .post("/token", |_| ResponseTemplate::new(404))
            .start(),
    );
    h.store(&s.uri(), "at-old", Some("rt-old"), -10);
    seed(&h, &s.uri(), &metadata(&s.uri(), "/token"), 60);
    let r = h.run(&["token"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert_eq!(requests(&s, "/token"), 1);
    assert_eq!(requests(&s, WELL_KNOWN), 1, "checked once");
}

#[test]
fn a_logout_revokes_at_the_endpoint_the_issuer_names_now() {
    let h = Harness::new();
    let s = idp();
    let uri = s.uri();
    h.store(&uri, "at-old", Some("rt-old"), 3600);
    let mut stale = metadata(&uri, "/token");
    stale["revocation_endpoint"] = format!("{uri}/old-revoke").into();
    seed(&h, &uri, &stale, 60);
    let r = h.run(&["logout"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stderr.contains("refresh token revoked"), "{}", r.stderr);
    assert!(r.stderr.contains("access token revoked"), "{}", r.stderr);
    assert_eq!(requests(&s, "/old-revoke"), 1, "only the first request");
    assert_eq!(requests(&s, "/revoke"), 2);
    assert_eq!(requests(&s, WELL_KNOWN), 1);
}

#[test]
fn only_a_request_that_was_not_processed_counts_as_sent_to_a_gone_endpoint() {
    use crate::oidc::ProtocolError;
    use crate::oidc::http::TransportKind;
    let transport = |kind| ProtocolError::Transport {
        kind,
        url: "https://idp/token".into(),
    };
    let status = |status| ProtocolError::Status {
        status,
        content_type: String::new(),
        url: "https://idp/token".into(),
        retry_after: None,
    };
    for gone in [
        transport(TransportKind::Refused),
        transport(TransportKind::Dns),
        status(404),
        status(405),
        status(410),
    ] {
        assert!(crate::oidc::provider::endpoint_gone(&gone), "{gone}");
    }
    // A TLS failure may come after the request (a refresh token) was sent;
    // timeouts and server errors may have been processed.
    let oauth_404 = ProtocolError::OAuth(crate::oidc::OAuthError {
        error: crate::oidc::ErrorCode::InvalidRequest,
        error_description: None,
        interval: None,
        status: 404,
        retry_after: None,
    });
    for kept in [
        oauth_404,
        transport(TransportKind::Tls),
        transport(TransportKind::Timeout),
        transport(TransportKind::Other),
        status(500),
        status(400),
    ] {
        assert!(!crate::oidc::provider::endpoint_gone(&kept), "{kept}");
    }
}

#[cfg(unix)]
#[test]
fn a_cache_file_others_can_write_is_not_used() {
    use std::os::unix::fs::PermissionsExt;
    let s = idp();
    let uri = s.uri();
    for target in ["file", "dir"] {
        let h = Harness::new();
        h.store(&uri, "at-old", Some("rt-old"), 30);
        seed(&h, &uri, &metadata(&uri, "/evil"), 60);
        let dir = h.dir.path().join("config/discovery");
        let path = match target {
            "file" => std::fs::read_dir(&dir)
                .unwrap()
                .next()
                .unwrap()
                .unwrap()
                .path(),
            _ => dir,
        };
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o777)).unwrap();
        let before = requests(&s, WELL_KNOWN);
        let r = h.run(&["token"]);
        assert_eq!(
            (r.code, r.stdout.as_str()),
            (0, "at-refreshed\n"),
            "{target}: {r:?}"
        );
        assert_eq!(
            requests(&s, WELL_KNOWN),
            before + 1,
            "{target}: fetched instead"
        );
        assert_eq!(requests(&s, "/evil"), 0, "{target}");
    }
}

#[test]
fn a_revocation_endpoint_the_issuer_no_longer_offers_is_named_at_logout() {
    let h = Harness::new();
    let s = rt().block_on(
        MockIdp::new()
            .metadata(|uri| {
                let mut now = metadata(uri, "/token");
                now.as_object_mut().unwrap().remove("revocation_endpoint");
                now
            })
            .start(),
    );
    let uri = s.uri();
    h.store(&uri, "at-old", Some("rt-old"), 3600);
    let mut stale = metadata(&uri, "/token");
    stale["revocation_endpoint"] = format!("{uri}/old-revoke").into();
    seed(&h, &uri, &stale, 60);
    let r = h.run(&["logout"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(
        requests(&s, "/old-revoke"),
        1,
        "not sent again: nowhere to send it"
    );
    assert!(
        r.stderr.contains("access token NOT revoked (the identity provider no longer offers a revocation endpoint)"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("removed locally"), "{}", r.stderr);
}

#[test]
fn a_logout_fetches_metadata_whose_cached_copy_has_no_revocation_endpoint() {
    // The issuer may have added one since the copy was cached.
    let h = Harness::new();
    let s = idp();
    let uri = s.uri();
    h.store(&uri, "at-old", Some("rt-old"), 3600);
    let mut old = metadata(&uri, "/token");
    old.as_object_mut().unwrap().remove("revocation_endpoint");
    seed(&h, &uri, &old, 60);
    let r = h.run(&["logout"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stderr.contains("refresh token revoked"), "{}", r.stderr);
    assert_eq!(requests(&s, "/revoke"), 2);
    assert_eq!(requests(&s, WELL_KNOWN), 1);
}

#[test]
fn a_gone_endpoint_whose_issuer_cannot_be_asked_drops_the_cached_copy() {
    let h = Harness::new();
    let s = rt().block_on(
        MockIdp::new()
            .discovery(|_| ResponseTemplate::new(503))
            .start(),
    );
    let uri = s.uri();
    h.store(&uri, "at-old", Some("rt-old"), -10);
    seed(&h, &uri, &metadata(&uri, "/old-token"), 60);
    let r = h.run(&["token"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert_eq!(requests(&s, "/old-token"), 1);
    assert!(state(&h).discovery(&uri).is_none(), "not trusted again");
}

#[test]
fn a_cached_copy_from_another_url_than_the_well_known_ones_is_not_used() {
    let h = Harness::new();
    let s = idp();
    let uri = s.uri();
    h.store(&uri, "at-old", Some("rt-old"), 30);
    state(&h)
        .set_discovery(
            &uri,
            &format!("{uri}/somewhere-else"),
            NOW - 60,
            metadata(&uri, "/evil").to_string().as_bytes(),
        )
        .unwrap();
    assert_eq!(h.run(&["token"]).code, 0);
    assert_eq!(requests(&s, WELL_KNOWN), 1, "fetched instead");
    assert_eq!(requests(&s, "/evil"), 0);
}
