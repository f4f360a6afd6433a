use super::*;

#[test]
fn well_known_locations() {
    assert_eq!(
        well_known_urls("https://idp.example/realms/x"),
        vec![
            "https://idp.example/realms/x/.well-known/openid-configuration",
            "https://idp.example/.well-known/oauth-authorization-server/realms/x",
        ]
    );
    assert_eq!(
        well_known_urls("https://idp.example")[1],
        "https://idp.example/.well-known/oauth-authorization-server"
    );
}

#[test]
fn issuer_comparison() {
    assert!(issuer_matches(
        "https://tenant.auth0.com/",
        "https://tenant.auth0.com"
    ));
    assert!(!issuer_matches(
        "https://evil.example",
        "https://idp.example"
    ));
    assert!(issuer_matches(
        "https://login.microsoftonline.com/{tenantid}/v2.0",
        "https://login.microsoftonline.com/1234/v2.0"
    ));
    assert!(!issuer_matches(
        "https://login.microsoftonline.com/{tenantid}/v2.0",
        "https://evil.example/1234/v2.0"
    ));
}
