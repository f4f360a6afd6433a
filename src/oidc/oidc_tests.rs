use super::*;

fn reply(status: u16, ct: &str, body: &str) -> http::Reply {
    http::Reply {
        status,
        content_type: ct.into(),
        body: body.as_bytes().to_vec(),
        www_authenticate: None,
        retry_after: None,
    }
}

#[derive(Debug, Deserialize)]
struct T {
    #[allow(dead_code)]
    a: u32,
}

#[test]
fn oauth_errors_are_typed() {
    let e = parse_reply::<T>(
        &reply(
            400,
            "application/json",
            r#"{"error":"invalid_grant","error_description":"no\nway"}"#,
        ),
        "https://idp/token",
    )
    .unwrap_err();
    assert_eq!(e.oauth_code(), Some(&ErrorCode::InvalidGrant));
    assert_eq!(
        e.to_string(),
        "identity provider said: invalid_grant (no way)"
    );
}

#[test]
fn errors_sent_with_200_are_oauth_errors() {
    // GitHub's device flow answers pending polls with 200.
    let e = parse_reply::<T>(
        &reply(
            200,
            "application/json",
            r#"{"error":"authorization_pending","interval":5}"#,
        ),
        "https://idp/token",
    )
    .unwrap_err();
    assert_eq!(e.oauth_code(), Some(&ErrorCode::AuthorizationPending));
    // A success that happens to mention "error" alongside a token is a success.
    #[derive(Debug, Deserialize)]
    struct Tok {
        #[allow(dead_code)]
        access_token: String,
    }
    assert!(
        parse_reply::<Tok>(
            &reply(
                200,
                "application/json",
                r#"{"access_token":"a","error":"x"}"#
            ),
            "https://idp/token"
        )
        .is_ok()
    );
}

#[test]
fn an_error_body_that_repeats_a_member_is_one_error_either_way() {
    // Read as a value the last member wins; the error must come from that same
    // reading, so a 200 poll reply stays `slow_down` (not a malformed success)
    // and a 400 stays an OAuth error (not a bare status).
    let body = r#"{"error":"authorization_pending","error":"slow_down","interval":9}"#;
    for status in [200, 400] {
        let e = parse_reply::<T>(&reply(status, "application/json", body), "https://idp/t")
            .unwrap_err();
        assert_eq!(
            e.oauth_code(),
            Some(&ErrorCode::SlowDown),
            "status {status}"
        );
    }
}

#[test]
fn server_side_oauth_errors_are_transient() {
    for (status, body) in [
        (503, r#"{"error":"temporarily_unavailable"}"#),
        (429, r#"{"error":"too_many_requests"}"#),
        (500, r#"{"error":"server_error"}"#),
    ] {
        let e = parse_reply::<T>(&reply(status, "application/json", body), "https://idp/t")
            .unwrap_err();
        assert!(e.is_transient(), "{status} {body}");
    }
    let e = parse_reply::<T>(
        &reply(400, "application/json", r#"{"error":"invalid_grant"}"#),
        "https://idp/t",
    )
    .unwrap_err();
    assert!(!e.is_transient());
}

#[test]
fn www_authenticate_carries_the_error_of_a_bare_401() {
    let mut r = reply(401, "text/plain", "Unauthorized");
    r.www_authenticate =
        Some(r#"Basic realm="idp", error="invalid_client", error_description="bad secret""#.into());
    let e = parse_reply::<T>(&r, "https://idp/token").unwrap_err();
    assert_eq!(e.oauth_code(), Some(&ErrorCode::InvalidClient));
    assert_eq!(
        e.to_string(),
        "identity provider said: invalid_client (bad secret)"
    );
}

#[test]
fn html_error_pages_do_not_leak_bodies() {
    let e = parse_reply::<T>(
        &reply(500, "text/html", "<html>secret-token-xyz</html>"),
        "https://idp/token?x=1",
    )
    .unwrap_err();
    assert!(e.is_transient());
    let msg = e.to_string();
    assert!(msg.contains("HTTP 500"), "{msg}");
    assert!(!msg.contains("secret-token-xyz"), "{msg}");
    assert!(!msg.contains("x=1"), "{msg}");
}

#[test]
fn malformed_json_does_not_echo_the_body() {
    let e = parse_reply::<T>(
        &reply(200, "application/json", r#"{"a": "tok-123"}"#),
        "https://idp/token",
    )
    .unwrap_err();
    assert!(!e.to_string().contains("tok-123"), "{e}");
    assert!(e.to_string().contains("malformed JSON"), "{e}");
}

#[test]
fn error_codes_round_trip() {
    for (name, _) in ErrorCode::KNOWN {
        assert_eq!(ErrorCode::parse(name).as_str(), name);
    }
    assert_eq!(
        ErrorCode::parse("mfa_required"),
        ErrorCode::Other("mfa_required".into())
    );
    assert_eq!(ErrorCode::parse("mfa_required").as_str(), "mfa_required");
}

#[test]
fn lenient_numbers() {
    #[derive(Deserialize)]
    struct N {
        #[serde(default, deserialize_with = "lenient_u64")]
        n: Option<u64>,
    }
    let p = |s: &str| serde_json::from_str::<N>(s).unwrap().n;
    assert_eq!(p(r#"{"n":5}"#), Some(5));
    assert_eq!(p(r#"{"n":"7"}"#), Some(7));
    assert_eq!(p(r#"{"n":2.0}"#), Some(2));
    assert_eq!(p(r#"{"n":-1}"#), None);
    assert_eq!(p(r#"{"n":"x"}"#), None);
    assert_eq!(p(r#"{}"#), None);
}
