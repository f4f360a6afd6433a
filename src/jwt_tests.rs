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

#[test]
fn only_the_named_claims_are_read_and_non_objects_are_no_jwt() {
    use base64::Engine;
    let enc = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
    let jwt = |payload: &str| format!("{}.{}.sig", enc(r#"{"alg":"none"}"#), enc(payload));
    let t = jwt(r#"{"sub":"alice","big":{"deep":[1,2,3]},"email":"a@x","sub2":1}"#);
    let named = claims_named(&t, &["sub", "email", "name"]).unwrap();
    assert_eq!(
        serde_json::Value::Object(named),
        serde_json::json!({"sub": "alice", "email": "a@x"})
    );
    // The same claims as the whole payload, filtered.
    let all = claims(&t).unwrap();
    assert_eq!(all["sub"], "alice");
    // White space before the object is still an object.
    assert_eq!(claims(&jwt(" \n {\"sub\":\"bob\"}")).unwrap()["sub"], "bob");
    assert!(claims_named(&jwt("\t{\"sub\":\"bob\"}"), &["sub"]).is_some());
    // Not an object: no claims, whichever way it is read.
    for p in ["xxxxxxxx", "[1,2]", "\"s\"", "{\"a\":1} trailing"] {
        assert!(claims(&jwt(p)).is_none(), "{p}");
        assert!(claims_named(&jwt(p), &["a"]).is_none(), "{p}");
    }
    assert!(claims_named("a.b", &["sub"]).is_none());
    // Invalid UTF-8 in a claim that is not asked for is still no JSON.
    let bad = format!(
        "{}.{}.sig",
        enc(r#"{"alg":"none"}"#),
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(b"{\"sub\":\"a\",\"aud\":\"v\xa7\"}")
    );
    assert!(claims(&bad).is_none());
    assert!(claims_named(&bad, &["sub"]).is_none());
}
