//! Unit tests for `src/oidc/client_auth.rs`.

use super::*;

#[test]
fn basic_auth_form_urlencodes_before_base64() {
    let mut form = vec![("client_id".to_string(), "a b".to_string())];
    let h = ClientAuth::SecretBasic(Secret::new("p:w&d"))
        .apply("a b", "https://idp/token", &mut form)
        .unwrap()
        .unwrap();
    assert_eq!(
        h.expose(),
        format!("Basic {}", STANDARD.encode("a+b:p%3Aw%26d"))
    );
    assert!(form.is_empty(), "client_id moves to the header");
}

#[test]
fn post_puts_the_secret_in_the_body() {
    let mut form = vec![];
    let h = ClientAuth::SecretPost(Secret::new("s"))
        .apply("c", "https://idp/token", &mut form)
        .unwrap();
    assert!(h.is_none());
    assert_eq!(form, vec![("client_secret".to_string(), "s".to_string())]);
}

#[test]
fn bad_keys_are_explained() {
    let e = Signer::from_pem(b"not a key", None, "--private-key k.pem").unwrap_err();
    assert!(
        e.to_string()
            .starts_with("--private-key k.pem: no PEM private key"),
        "{e}"
    );
}

#[test]
fn assertion_file_must_hold_a_jwt() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("a.jwt");
    std::fs::write(&p, "garbage").unwrap();
    let mut form = vec![];
    let e = ClientAuth::AssertionFile(p.clone())
        .apply("c", "https://idp/token", &mut form)
        .unwrap_err();
    assert!(e.to_string().contains("does not hold a JWT"), "{e}");
    std::fs::write(&p, "a.b.c\n").unwrap();
    ClientAuth::AssertionFile(p)
        .apply("c", "https://idp/token", &mut form)
        .unwrap();
    assert_eq!(
        form[1],
        ("client_assertion".to_string(), "a.b.c".to_string())
    );
}

#[test]
fn methods_round_trip() {
    for m in [
        "none",
        "client_secret_basic",
        "client_secret_post",
        "private_key_jwt",
    ] {
        assert_eq!(Method::parse(m).unwrap().name(), m);
    }
    assert!(Method::parse("tls_client_auth").is_none());
}
