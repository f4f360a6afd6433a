use serde_json::json;

use super::*;
use crate::testing::keys::{TestKey, jwks};

fn set(keys: &[&TestKey]) -> Jwks {
    Jwks::parse(jwks(keys).to_string().as_bytes()).unwrap()
}

fn claims() -> serde_json::Value {
    json!({"iss": "https://idp", "aud": "cli", "sub": "alice", "exp": 2_000_000_600, "iat": 2_000_000_000})
}

#[test]
fn every_supported_algorithm_verifies_with_its_published_key() {
    let (rsa, ec, ed) = (TestKey::rsa("r1"), TestKey::ec("e1"), TestKey::ed("d1"));
    let keys = set(&[&rsa, &ec, &ed]);
    for alg in ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512"] {
        assert_eq!(
            verify(&rsa.sign_alg(alg, &claims()), &keys, None).as_deref(),
            Ok(alg)
        );
    }
    assert_eq!(
        verify(&ec.sign(&claims()), &keys, None).as_deref(),
        Ok("ES256")
    );
    assert_eq!(
        verify(&ed.sign(&claims()), &keys, None).as_deref(),
        Ok("EdDSA")
    );
}

#[test]
fn forged_signatures_wrong_kids_and_unsigned_tokens_are_refused() {
    let (good, other) = (TestKey::ec("k1"), TestKey::ec("k1"));
    let keys = set(&[&good]);
    // Same kid, another key: a forgery.
    assert_eq!(
        verify(&other.sign(&claims()), &keys, None),
        Err(VerifyError::BadSignature)
    );
    // A changed payload under a real signature.
    let t = good.sign(&claims());
    let mut parts: Vec<&str> = t.split('.').collect();
    let forged = b64_json(&json!({"iss": "https://idp", "aud": "cli", "sub": "mallory"}));
    parts[1] = &forged;
    assert_eq!(
        verify(&parts.join("."), &keys, None),
        Err(VerifyError::BadSignature)
    );
    // A key the issuer does not publish.
    let stranger = TestKey::ec("k2");
    assert_eq!(
        verify(&stranger.sign(&claims()), &keys, None),
        Err(VerifyError::UnknownKid("k2".into()))
    );
    // alg none, and HMAC for a public client.
    let body = b64_json(&claims());
    let none = format!("{}.{body}.", b64_json(&json!({"alg": "none"})));
    assert_eq!(verify(&none, &keys, None), Err(VerifyError::Unsigned));
    let hs = hmac_token("client-secret-1", &claims());
    assert_eq!(
        verify(&hs, &keys, None),
        Err(VerifyError::HmacWithoutSecret("HS256".into()))
    );
    // With the client's secret, HMAC verifies; with another secret it does not.
    assert_eq!(
        verify(&hs, &keys, Some("client-secret-1")).as_deref(),
        Ok("HS256")
    );
    assert_eq!(
        verify(&hs, &keys, Some("other")),
        Err(VerifyError::BadSignature)
    );
    // A key whose type does not fit the algorithm is not used.
    let rsa = TestKey::rsa("k1");
    assert_eq!(
        verify(&rsa.sign(&claims()), &keys, None),
        Err(VerifyError::NoKey("RS256".into()))
    );
    assert_eq!(verify("a.b", &keys, None), Err(VerifyError::Malformed));
}

#[test]
fn keys_vmauth_cannot_use_are_skipped() {
    let ec = TestKey::ec("k1");
    let mut doc = jwks(&[&ec]);
    doc["keys"]
        .as_array_mut()
        .unwrap()
        .insert(0, json!({"kty": "oct", "k": "c2VjcmV0"}));
    doc["keys"]
        .as_array_mut()
        .unwrap()
        .insert(0, json!({"nonsense": true}));
    let keys = Jwks::parse(doc.to_string().as_bytes()).unwrap();
    assert_eq!(
        verify(&ec.sign(&claims()), &keys, None).as_deref(),
        Ok("ES256")
    );
    assert!(Jwks::parse(b"[]").is_none());
}

fn b64_json(v: &serde_json::Value) -> String {
    URL_SAFE_NO_PAD.encode(v.to_string())
}

fn hmac_token(secret: &str, claims: &serde_json::Value) -> String {
    let input = format!(
        "{}.{}",
        b64_json(&json!({"alg": "HS256"})),
        b64_json(claims)
    );
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret.as_bytes());
    let tag = ring::hmac::sign(&key, input.as_bytes());
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(tag.as_ref()))
}
