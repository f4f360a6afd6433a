use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::*;
use crate::credential::{LoginId, Secret};
use crate::oidc::grant::{TokenResponse, new_credential};

/// A JWT with `payload`, plus `exp` and `iat` around [`NOW`] unless given.
fn make(payload: &str) -> String {
    let mut v: serde_json::Value = serde_json::from_str(payload).unwrap();
    if let Some(m) = v.as_object_mut() {
        m.entry("exp").or_insert(NOW.into());
        m.entry("iat").or_insert((NOW - 60).into());
    }
    format!(
        "{}.{}.sig",
        URL_SAFE_NO_PAD.encode(r#"{"alg":"none"}"#),
        URL_SAFE_NO_PAD.encode(v.to_string())
    )
}

const NOW: i64 = 2_000_000_000;

fn check(t: &str, issuer: &str, published: &str, client_id: &str) -> Result<(), String> {
    check_id_token(
        t,
        &Expected {
            issuer,
            published,
            client_id,
            now: NOW,
        },
    )
}

#[test]
fn issuer_and_audience_are_checked() {
    let t = make(r#"{"sub":"alice","aud":["a","cli"],"azp":"cli","iss":"https://idp/"}"#);
    assert!(check(&t, "https://idp", "https://idp/", "cli").is_ok());
    assert!(check(&t, "https://other", "https://other", "cli").is_err());
    assert!(check(&t, "https://idp", "https://idp", "nope").is_err());
}

#[test]
fn entra_tenant_and_google_issuers() {
    let ms = "https://login.microsoftonline.com";
    let t = make(&format!(
        r#"{{"iss":"{ms}/72f9/v2.0","tid":"72f9","aud":"cli"}}"#
    ));
    let common = format!("{ms}/common/v2.0");
    let template = format!("{ms}/{{tenantid}}/v2.0");
    assert!(check(&t, &common, &template, "cli").is_ok());
    // Without the template, or with another tenant in iss, it is refused.
    assert!(check(&t, &common, &common, "cli").is_err());
    let other = make(&format!(
        r#"{{"iss":"{ms}/aaaa/v2.0","tid":"72f9","aud":"cli"}}"#
    ));
    assert!(check(&other, &common, &template, "cli").is_err());
    let g = make(r#"{"iss":"accounts.google.com","aud":"cli"}"#);
    assert!(
        check(
            &g,
            "https://accounts.google.com",
            "https://accounts.google.com",
            "cli"
        )
        .is_ok()
    );
    assert!(check(&g, "https://evil.example", "https://evil.example", "cli").is_err());
}

#[test]
fn a_refreshed_id_token_is_about_the_same_person() {
    let id = LoginId::new("https://idp", "cli", None).unwrap();
    let tokens: TokenResponse = serde_json::from_str(r#"{"access_token":"a"}"#).unwrap();
    let mut old = new_credential(&id, tokens, 0, &[], &[]);
    let alice = make(r#"{"iss":"https://idp","aud":"cli","sub":"alice"}"#);
    let bob = make(r#"{"iss":"https://idp","aud":"cli","sub":"bob"}"#);
    // No earlier ID token: nothing to compare with.
    assert_eq!(refreshed_mix_up(&bob, &old, "https://idp"), None);
    old.id_token = Some(Secret::new(alice.clone()));
    assert_eq!(refreshed_mix_up(&alice, &old, "https://idp"), None);
    let e = refreshed_mix_up(&bob, &old, "https://idp").unwrap();
    assert!(e.contains("subject differs"), "{e}");
    // Another issuer, another client: a mix-up too.
    let other = make(r#"{"iss":"https://evil","aud":"cli","sub":"alice"}"#);
    let e = refreshed_mix_up(&other, &old, "https://idp").unwrap();
    assert!(e.contains("issued by \"https://evil\""), "{e}");
    let other = make(r#"{"iss":"https://idp","aud":"other-client","sub":"alice"}"#);
    let e = refreshed_mix_up(&other, &old, "https://idp").unwrap();
    assert!(e.contains("not addressed to client cli"), "{e}");
    // Faults that say nothing about whose tokens these are are not a mix-up
    // (the ID token is then dropped, the tokens kept).
    let expired = make(r#"{"iss":"https://idp","aud":"cli","sub":"alice","exp":1}"#);
    assert_eq!(refreshed_mix_up(&expired, &old, "https://idp"), None);
    let ahead = make(r#"{"iss":"https://idp","aud":"cli","sub":"alice","iat":9999999999}"#);
    assert_eq!(refreshed_mix_up(&ahead, &old, "https://idp"), None);
}

#[test]
fn expiry_issue_time_and_authorized_party_are_checked() {
    let ok = |p: &str| check(&make(p), "https://idp", "https://idp", "cli");
    assert!(ok(r#"{"iss":"https://idp","aud":"cli"}"#).is_ok());
    // exp: a little skew is tolerated, an expired token is not.
    assert!(
        ok(&format!(
            r#"{{"iss":"https://idp","aud":"cli","exp":{}}}"#,
            NOW - 60
        ))
        .is_ok()
    );
    let e = ok(&format!(
        r#"{{"iss":"https://idp","aud":"cli","exp":{}}}"#,
        NOW - 600
    ))
    .unwrap_err();
    assert!(e.contains("expired 600s ago"), "{e}");
    let e = ok(&format!(
        r#"{{"iss":"https://idp","aud":"cli","iat":{}}}"#,
        NOW + 3600
    ))
    .unwrap_err();
    assert!(e.contains("in the future"), "{e}");
    // Several audiences need azp, and azp must be this client.
    let e = ok(r#"{"iss":"https://idp","aud":["cli","api"]}"#).unwrap_err();
    assert!(e.contains("no azp"), "{e}");
    assert!(ok(r#"{"iss":"https://idp","aud":["cli","api"],"azp":"cli"}"#).is_ok());
    let e = ok(r#"{"iss":"https://idp","aud":"cli","azp":"other"}"#).unwrap_err();
    assert!(e.contains("(azp)"), "{e}");
    // exp and iat are required.
    let bare = format!(
        "{}.{}.sig",
        URL_SAFE_NO_PAD.encode(r#"{"alg":"none"}"#),
        URL_SAFE_NO_PAD.encode(r#"{"iss":"https://idp","aud":"cli"}"#)
    );
    assert!(
        check(&bare, "https://idp", "https://idp", "cli")
            .unwrap_err()
            .contains("no exp")
    );
}

#[test]
fn extreme_times_do_not_overflow() {
    // Found by fuzzing: exp/iat at the ends of i64 overflowed the leeway sums.
    for (exp, iat) in [
        (i64::MAX, 0),
        (i64::MIN, 0),
        (NOW + 60, i64::MIN),
        (NOW + 60, i64::MAX),
    ] {
        let t = make(&format!(
            r#"{{"iss":"https://idp","aud":"cli","exp":{exp},"iat":{iat}}}"#
        ));
        let _ = check(&t, "https://idp", "https://idp", "cli");
    }
    let t = make(&format!(
        r#"{{"iss":"https://idp","aud":"cli","exp":{},"iat":0}}"#,
        i64::MIN
    ));
    assert!(
        check(&t, "https://idp", "https://idp", "cli")
            .unwrap_err()
            .contains("expired")
    );
}
