use super::*;

#[test]
fn loopback_hosts() {
    for u in [
        "http://127.0.0.1:8080",
        "http://127.9.9.9",
        "http://[::1]:1",
        "http://localhost",
        "http://LOCALHOST.",
    ] {
        assert!(is_loopback(&Url::parse(u).unwrap()), "{u}");
    }
    for u in [
        "http://10.0.0.1",
        "http://example.com",
        "http://localhost.example.com",
        "http://evil.localhost",
        "http://[::2]",
    ] {
        assert!(!is_loopback(&Url::parse(u).unwrap()), "{u}");
    }
}

#[test]
fn https_required_except_loopback() {
    assert!(require_secure("https://idp.example.com", "issuer").is_ok());
    assert!(require_secure("http://127.0.0.1:9/x", "issuer").is_ok());
    let e = require_secure("http://idp.example.com", "issuer").unwrap_err();
    assert!(e.to_string().contains("requires https"), "{e}");
    assert!(require_secure("ftp://idp", "issuer").is_err());
    assert!(require_secure("not a url", "issuer").is_err());
    assert!(require_secure("https://u:p@idp", "issuer").is_err());
}

#[test]
fn strip_query_drops_secrets_in_urls() {
    assert_eq!(
        strip_query("https://idp/x?code=abc#frag"),
        "https://idp/x".to_string()
    );
}
