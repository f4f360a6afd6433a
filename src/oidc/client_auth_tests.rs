//! Unit tests for `src/oidc/client_auth.rs`.

use std::rc::Rc;

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
    let e = Signer::from_pem(
        b"not a key",
        None,
        "--private-key k.pem",
        Rc::new(crate::clock::FakeClock::at(0)),
        Rc::new(crate::clock::SystemRng::default()),
    )
    .unwrap_err();
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
    let private = || {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
    };
    private();
    let mut form = vec![];
    let e = ClientAuth::AssertionFile(p.clone())
        .apply("c", "https://idp/token", &mut form)
        .unwrap_err();
    assert!(e.to_string().contains("does not hold a JWT"), "{e}");
    std::fs::write(&p, "a.b.c\n").unwrap();
    private();
    ClientAuth::AssertionFile(p)
        .apply("c", "https://idp/token", &mut form)
        .unwrap();
    assert_eq!(
        form[1],
        ("client_assertion".to_string(), "a.b.c".to_string())
    );
}

#[test]
fn methods_keep_their_registered_names() {
    for m in [
        Method::None,
        Method::ClientSecretBasic,
        Method::ClientSecretPost,
        Method::PrivateKeyJwt,
    ] {
        let json = serde_json::to_string(&m).unwrap();
        assert_eq!(json, format!("\"{}\"", m.name()));
        assert_eq!(serde_json::from_str::<Method>(&json).unwrap(), m);
    }
    assert!(serde_json::from_str::<Method>("\"tls_client_auth\"").is_err());
}

#[test]
fn assertions_use_the_injected_clock_and_random_source() {
    let pem = include_bytes!("../../tests/idp/keys/vmauth-ci-jwt.private.pem");
    let signer = Signer::from_pem(
        pem,
        Some("k1".into()),
        "test key",
        Rc::new(crate::clock::FakeClock::at(1_000_000)),
        Rc::new(crate::clock::CountingRng::default()),
    )
    .unwrap();
    let jwt = signer.assertion("cli", "https://idp/token").unwrap();
    let claims = crate::jwt::claims(&jwt).unwrap();
    assert_eq!(claims["iat"], 1_000_000);
    assert_eq!(claims["exp"], 1_000_060);
    assert_eq!(claims["aud"], "https://idp/token");
    // The first 16 bytes of the counting source: 00 01 … 0f.
    assert_eq!(
        claims["jti"],
        URL_SAFE_NO_PAD.encode((0u8..16).collect::<Vec<_>>())
    );
}

#[test]
fn a_key_ring_accepts_but_cannot_sign_with_is_reported_when_loaded() {
    // Found by fuzzing: an RSA key with a wrong CRT exponent loads, then fails to sign.
    let pem = include_bytes!("../../fuzz/regressions/pem_keys/rsa_pkcs8_with_wrong_dQ.pem");
    let e = Signer::from_pem(
        pem,
        None,
        "--private-key k.pem",
        Rc::new(crate::clock::FakeClock::at(0)),
        Rc::new(crate::clock::SystemRng::default()),
    )
    .unwrap_err();
    assert!(e.to_string().contains("damaged"), "{e}");
}

#[test]
fn an_assertion_file_others_could_write_is_not_used() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("a.jwt");
    std::fs::write(&p, "a.b.c\n").unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o666)).unwrap();
    let e = ClientAuth::AssertionFile(p)
        .apply("c", "https://idp/token", &mut vec![])
        .unwrap_err();
    assert!(e.to_string().contains("is writable by other users"), "{e}");
}
