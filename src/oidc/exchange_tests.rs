use super::*;

#[test]
fn token_types_parse_short_and_long() {
    assert_eq!(TokenType::parse("jwt"), Some(TokenType::Jwt));
    assert_eq!(
        TokenType::parse("urn:ietf:params:oauth:token-type:id_token"),
        Some(TokenType::IdToken)
    );
    assert_eq!(TokenType::parse("saml2"), None);
}

#[test]
fn parameters_vmauth_sets_cannot_be_extra() {
    assert!(check_param("federation_rule_id").is_ok());
    assert!(check_param("organization.id").is_ok());
    for k in [
        "grant_type",
        "client_secret",
        "subject_token",
        "scope",
        "",
        "a b",
        "a=b",
    ] {
        assert!(check_param(k).is_err(), "{k:?}");
    }
}

#[test]
fn only_an_access_token_may_be_issued() {
    let answer = |t: &str| -> TokenResponse {
        serde_json::from_value(serde_json::json!({"access_token": "a", "issued_token_type": t}))
            .unwrap()
    };
    assert!(
        check_issued(
            &answer("urn:ietf:params:oauth:token-type:access_token"),
            "https://i/t"
        )
        .is_ok()
    );
    assert!(
        check_issued(
            &answer("urn:ietf:params:oauth:token-type:jwt"),
            "https://i/t"
        )
        .is_ok()
    );
    let e = check_issued(
        &answer("urn:ietf:params:oauth:token-type:refresh_token"),
        "https://i/t",
    );
    assert!(e.unwrap_err().to_string().contains("not an access token"));
}
