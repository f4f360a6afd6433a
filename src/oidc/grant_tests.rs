use super::*;

#[test]
fn bearer_token_charset() {
    assert!(is_bearer_token("eyJh.bG-ci_Oi~J+/IU=="));
    assert!(!is_bearer_token(""));
    assert!(!is_bearer_token("at\x1b[2Jx"));
    assert!(!is_bearer_token("a b"));
    assert!(!is_bearer_token("a\nb"));
}

fn response(json: &str) -> TokenResponse {
    serde_json::from_str(json).unwrap()
}

#[test]
fn expiry_fallbacks() {
    assert_eq!(expires_at(100, Some(60), "x"), 160);
    assert_eq!(expires_at(100, None, "opaque"), 3700);
}

#[test]
fn refresh_keeps_what_the_server_does_not_send_again() {
    let id = LoginId::new("https://idp", "cli", None).unwrap();
    let scopes = ["openid".to_string(), "offline_access".to_string()];
    let old = new_credential(
        &id,
        response(
            r#"{"access_token":"a1","refresh_token":"r1","id_token":"i1","scope":"openid","expires_in":60}"#,
        ),
        1000,
        &scopes,
        &[],
    );
    assert_eq!(old.expires_at, 1060);
    assert_eq!(
        old.requested_scope.as_deref(),
        Some("openid offline_access")
    );
    let new = merge_refresh(
        &old,
        response(r#"{"access_token":"a2","expires_in":30}"#),
        2000,
    );
    assert_eq!(new.access_token.expose(), "a2");
    assert_eq!(new.expires_at, 2030);
    assert_eq!(new.refresh_token.as_ref().map(|s| s.expose()), Some("r1"));
    assert_eq!(new.id_token.as_ref().map(|s| s.expose()), Some("i1"));
    assert_eq!(new.scope.as_deref(), Some("openid"));
    let rotated = merge_refresh(
        &new,
        response(r#"{"access_token":"a3","refresh_token":"r2"}"#),
        3000,
    );
    assert_eq!(
        rotated.refresh_token.as_ref().map(|s| s.expose()),
        Some("r2")
    );
}

#[test]
fn scope_may_be_an_array() {
    let t: TokenResponse =
        serde_json::from_str(r#"{"access_token":"a","scope":["openid","api"],"token_type":7}"#)
            .unwrap();
    assert_eq!(t.scope.as_deref(), Some("openid api"));
    assert_eq!(t.token_type, None);
}

#[test]
fn tokens_count_from_when_their_request_was_sent() {
    let id = LoginId::new("https://idp", "cli", None).unwrap();
    let mut tokens = response(r#"{"access_token":"a1","refresh_token":"r1","expires_in":4}"#);
    tokens.requested_at = Some(100);
    // Read a second later (a slow answer, or a second that ticked over).
    let c = new_credential(&id, tokens.clone(), 101, &[], &[]);
    assert_eq!((c.issued_at, c.expires_at), (Some(100), 104));
    let r = merge_refresh(&c, tokens.clone(), 101);
    assert_eq!((r.issued_at, r.expires_at), (Some(100), 104));
    // A time from the future is never taken.
    tokens.requested_at = Some(200);
    assert_eq!(new_credential(&id, tokens, 101, &[], &[]).expires_at, 105);
}
