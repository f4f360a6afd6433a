use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::*;
use crate::credential::{LoginId, Secret};
use crate::oidc::grant::{TokenResponse, new_credential};

fn make(payload: &str) -> String {
    format!(
        "{}.{}.sig",
        URL_SAFE_NO_PAD.encode(r#"{"alg":"none"}"#),
        URL_SAFE_NO_PAD.encode(payload)
    )
}

#[test]
fn issuer_and_audience_are_checked() {
    let t = make(r#"{"sub":"alice","exp":123,"aud":["a","cli"],"iss":"https://idp/"}"#);
    assert!(check_id_token(&t, "https://idp", "https://idp/", "cli").is_ok());
    assert!(check_id_token(&t, "https://other", "https://other", "cli").is_err());
    assert!(check_id_token(&t, "https://idp", "https://idp", "nope").is_err());
}

#[test]
fn entra_tenant_and_google_issuers() {
    let ms = "https://login.microsoftonline.com";
    let t = make(&format!(
        r#"{{"iss":"{ms}/72f9/v2.0","tid":"72f9","aud":"cli"}}"#
    ));
    let common = format!("{ms}/common/v2.0");
    let template = format!("{ms}/{{tenantid}}/v2.0");
    assert!(check_id_token(&t, &common, &template, "cli").is_ok());
    // Without the template, or with another tenant in iss, it is refused.
    assert!(check_id_token(&t, &common, &common, "cli").is_err());
    let other = make(&format!(
        r#"{{"iss":"{ms}/aaaa/v2.0","tid":"72f9","aud":"cli"}}"#
    ));
    assert!(check_id_token(&other, &common, &template, "cli").is_err());
    let g = make(r#"{"iss":"accounts.google.com","aud":"cli"}"#);
    assert!(
        check_id_token(
            &g,
            "https://accounts.google.com",
            "https://accounts.google.com",
            "cli"
        )
        .is_ok()
    );
    assert!(check_id_token(&g, "https://evil.example", "https://evil.example", "cli").is_err());
}

#[test]
fn a_refreshed_id_token_is_about_the_same_person() {
    let id = LoginId::new("https://idp", "cli", None).unwrap();
    let tokens: TokenResponse = serde_json::from_str(r#"{"access_token":"a"}"#).unwrap();
    let mut old = new_credential(&id, tokens, 0, &[], &[]);
    let alice = make(r#"{"iss":"https://idp","aud":"cli","sub":"alice"}"#);
    let bob = make(r#"{"iss":"https://idp","aud":"cli","sub":"bob"}"#);
    // No earlier ID token: nothing to compare with.
    assert!(check_refreshed(&bob, &old, "https://idp").is_ok());
    old.id_token = Some(Secret::new(alice.clone()));
    assert!(check_refreshed(&alice, &old, "https://idp").is_ok());
    let e = check_refreshed(&bob, &old, "https://idp").unwrap_err();
    assert!(e.contains("subject differs"), "{e}");
    let other = make(r#"{"iss":"https://evil","aud":"cli","sub":"alice"}"#);
    assert!(check_refreshed(&other, &old, "https://idp").is_err());
}
