//! Unit tests for `src/oidc/device.rs`.

use super::*;

fn raw(json: &str) -> RawAuthorization {
    serde_json::from_str(json).unwrap()
}

#[test]
fn authorization_defaults_and_aliases() {
    let a = check_authorization(
        raw(r#"{"device_code":"d","user_code":"U-1","verification_url":"https://g/device"}"#),
        "https://idp/da",
    )
    .unwrap();
    assert_eq!(a.verification_uri, "https://g/device");
    assert_eq!(a.interval, DEFAULT_INTERVAL);
    assert_eq!(a.expires_in, Duration::from_secs(600));
}

#[test]
fn absurd_intervals_are_clamped() {
    let a = check_authorization(
        raw(r#"{"device_code":"d","user_code":"U","verification_uri":"https://x","interval":0,"expires_in":99999999}"#),
        "https://idp/da",
    )
    .unwrap();
    assert_eq!(a.interval, MIN_INTERVAL);
    assert_eq!(a.expires_in, MAX_EXPIRES_IN);
    let a = check_authorization(
        raw(r#"{"device_code":"d","user_code":"U","verification_uri":"https://x","interval":"120","expires_in":"600"}"#),
        "https://idp/da",
    )
    .unwrap();
    assert_eq!(
        a.interval,
        Duration::from_secs(120),
        "the server's interval is kept"
    );
    let e = check_authorization(
        raw(r#"{"device_code":"d","user_code":"U","verification_uri":"https://x","interval":"86400","expires_in":"600"}"#),
        "https://idp/da",
    )
    .unwrap_err();
    assert!(
        e.to_string()
            .contains("polls every 86400s but the code expires in 600s"),
        "{e}"
    );
}

#[test]
fn verification_urls_must_be_web_pages() {
    for (uri, complete) in [
        ("file:///etc/passwd", None),
        ("http://evil.example/device", None),
        ("https://idp/device", Some("smb://share/x")),
        ("https://idp/device", Some("javascript:alert(1)")),
    ] {
        let mut j =
            serde_json::json!({"device_code": "d", "user_code": "U", "verification_uri": uri});
        if let Some(c) = complete {
            j["verification_uri_complete"] = c.into();
        }
        let r = check_authorization(serde_json::from_value(j).unwrap(), "https://idp/da");
        assert!(r.is_err(), "{uri} {complete:?}");
    }
    // An empty standard field falls back to Google's alias.
    let a = check_authorization(
        raw(r#"{"device_code":"d","user_code":"U","verification_uri":"","verification_url":"https://g/device"}"#),
        "https://idp/da",
    )
    .unwrap();
    assert_eq!(a.verification_uri, "https://g/device");
}

#[test]
fn incomplete_authorizations_are_refused() {
    for j in [
        r#"{"device_code":"","user_code":"U","verification_uri":"https://x"}"#,
        r#"{"device_code":"d","user_code":"U"}"#,
        r#"{"device_code":"d","user_code":"U","verification_uri":"https://x","expires_in":0}"#,
    ] {
        assert!(
            check_authorization(raw(j), "https://idp/da").is_err(),
            "{j}"
        );
    }
}

#[test]
fn backoff_is_bounded() {
    let i = Duration::from_secs(5);
    assert_eq!(backoff(i, 1), Duration::from_secs(10));
    assert_eq!(backoff(i, 3), Duration::from_secs(40));
    assert_eq!(backoff(i, 30), MAX_BACKOFF);
    assert_eq!(backoff(Duration::from_secs(90), 1), Duration::from_secs(90));
}

#[test]
fn a_user_code_nobody_can_see_is_refused() {
    for code in ["\u{200B}\u{200B}", "\u{1b}\u{7}\t", "\u{202E} \u{2066}"] {
        let j = serde_json::json!({"device_code": "d", "user_code": code, "verification_uri": "https://idp/device"});
        let e =
            check_authorization(serde_json::from_value(j).unwrap(), "https://idp/da").unwrap_err();
        assert!(
            e.to_string().contains("no visible characters"),
            "{code:?}: {e}"
        );
    }
}

/// Recorded error bodies: which say the device flow is refused by policy (the
/// browser may still work) and which are failures or a person's "no".
#[test]
fn policy_refusals_are_told_from_failures_and_denials() {
    let err = |body: serde_json::Value| {
        ProtocolError::OAuth(serde_json::from_value::<crate::oidc::OAuthError>(body).unwrap())
    };
    for refused in [
        // Entra, after a device sign-in a Conditional Access policy blocks (azure-cli#32809).
        serde_json::json!({"error": "invalid_grant", "error_description": "AADSTS53003: Access has been blocked by Conditional Access policies. The access policy does not allow token issuance. Trace ID: 0c2d… Correlation ID: 5b1e… Timestamp: 2026-02-11 09:12:41Z", "error_codes": [53003]}),
        serde_json::json!({"error": "access_denied", "error_description": "AADSTS50199: For security reasons, user confirmation is required for this request."}),
        // oidc-provider, Okta, Keycloak: a client without the device grant.
        serde_json::json!({"error": "unauthorized_client", "error_description": "urn:ietf:params:oauth:grant-type:device_code is not allowed for this client"}),
        serde_json::json!({"error": "unsupported_grant_type"}),
    ] {
        assert!(refused_by_policy(&err(refused.clone())), "{refused}");
    }
    for not in [
        serde_json::json!({"error": "access_denied", "error_description": "The end-user denied the authorization request"}),
        serde_json::json!({"error": "invalid_grant", "error_description": "AADSTS70000: The provided value for the 'code' parameter is not valid."}),
        serde_json::json!({"error": "invalid_client"}),
        serde_json::json!({"error": "expired_token"}),
    ] {
        assert!(!refused_by_policy(&err(not.clone())), "{not}");
    }
}

#[test]
fn polled_tokens_say_when_their_request_was_sent() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let server = rt.block_on(wiremock::MockServer::start());
    rt.block_on(
        wiremock::Mock::given(wiremock::matchers::method("POST"))
            .respond_with(wiremock::ResponseTemplate::new(200).set_body_json(
                serde_json::json!({"access_token": "at", "token_type": "Bearer", "expires_in": 60}),
            ))
            .mount(&server),
    );
    let clock = crate::clock::FakeClock::at(1000);
    let http = crate::oidc::provider::http(Duration::from_secs(5)).unwrap();
    let client = ClientRequest {
        client_id: "c".into(),
        ..Default::default()
    };
    let endpoint = format!("{}/token", server.uri());
    let auth = Authorization {
        device_code: "d".into(),
        user_code: "U".into(),
        verification_uri: "https://idp/activate".into(),
        verification_uri_complete: None,
        expires_in: Duration::from_secs(600),
        interval: Duration::from_secs(5),
    };
    let poll = Poll {
        http: &http,
        clock: &clock,
        token_endpoint: &endpoint,
        client: &client,
    };
    let tokens = rt.block_on(poll.run(&auth, |_| {})).unwrap();
    // The poll went out after the 5 s wait.
    assert_eq!(tokens.requested_at, Some(1005));
}
