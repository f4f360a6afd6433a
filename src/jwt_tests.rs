use super::*;

fn make(payload: &str) -> String {
    format!(
        "{}.{}.sig",
        URL_SAFE_NO_PAD.encode(r#"{"alg":"none"}"#),
        URL_SAFE_NO_PAD.encode(payload)
    )
}

#[test]
fn reads_claims() {
    let t = make(r#"{"sub":"alice","exp":123,"aud":["a","cli"],"iss":"https://idp/"}"#);
    assert_eq!(claims(&t).unwrap()["sub"], "alice");
    assert_eq!(expiry(&t), Some(123));
}

#[test]
fn opaque_tokens_have_no_claims() {
    assert!(claims("opaque-token").is_none());
    assert!(claims("a.b").is_none());
    assert!(claims("a.!!!.c").is_none());
    assert!(claims(&make("[1]")).is_none());
    assert!(claims("a.b.c.d").is_none());
}
