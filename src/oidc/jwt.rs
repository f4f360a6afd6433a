//! Reading JWT claims (ID tokens, JWT access tokens) for display and expiry.
//!
//! The signature is not verified: these tokens come straight from the token
//! endpoint over TLS (OIDC Core §3.1.3.7 item 6), and the claims are only shown
//! to the user, never used for an authorisation decision.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};

/// The payload of a compact JWS, or `None` when `token` is not a JWT (opaque tokens).
pub fn claims(token: &str) -> Option<Map<String, Value>> {
    let mut parts = token.split('.');
    let (_header, payload, _sig) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let bytes = URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
    match serde_json::from_slice(&bytes).ok()? {
        Value::Object(map) => Some(map),
        _ => None,
    }
}

/// `exp` as Unix seconds.
pub fn expiry(token: &str) -> Option<i64> {
    claims(token)?.get("exp")?.as_i64()
}

/// Check an ID token returned by the token endpoint against the login it belongs to
/// (OIDC Core §3.1.3.7 items 2–3): `iss` must be the issuer and `aud` must contain
/// the client id. `published` is the issuer as the metadata publishes it: a
/// `{tenantid}` template there (Microsoft Entra `common`/`organizations`) is
/// filled with the token's `tid`. Returns a description of the problem, if any.
pub fn check_id_token(
    id_token: &str,
    issuer: &str,
    published: &str,
    client_id: &str,
) -> Result<(), String> {
    let c = claims(id_token).ok_or("the id_token is not a JWT")?;
    let iss = c.get("iss").and_then(Value::as_str).unwrap_or("");
    let tenant_issuer = c
        .get("tid")
        .and_then(Value::as_str)
        .filter(|_| published.contains("{tenantid}"))
        .map(|tid| published.replace("{tenantid}", tid));
    // Google documents `accounts.google.com` without the scheme as a valid `iss`.
    let google_alias = iss == "accounts.google.com" && issuer == "https://accounts.google.com";
    let matches = super::discovery::issuer_matches(iss, issuer)
        || tenant_issuer.is_some_and(|t| super::discovery::issuer_matches(iss, &t))
        || google_alias;
    if !matches {
        return Err(format!(
            "the id_token was issued by {:?}, not {issuer}",
            crate::error::from_server(iss, 100)
        ));
    }
    let aud_ok = match c.get("aud") {
        Some(Value::String(a)) => a == client_id,
        Some(Value::Array(a)) => a.iter().any(|v| v.as_str() == Some(client_id)),
        _ => false,
    };
    if !aud_ok {
        return Err(format!(
            "the id_token is not addressed to client {client_id}"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    pub fn make(payload: &str) -> String {
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
    fn opaque_tokens_have_no_claims() {
        assert!(claims("opaque-token").is_none());
        assert!(claims("a.b").is_none());
        assert!(claims("a.!!!.c").is_none());
        assert!(claims(&make("[1]")).is_none());
        assert!(claims("a.b.c.d").is_none());
    }
}
