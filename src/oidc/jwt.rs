//! Reading JWT claims (ID tokens, JWT access tokens) for display and expiry.
//!
//! The signature is not verified here: these tokens come straight from the token
//! endpoint over TLS (OIDC Core §3.1.3.7 item 6), and the claims are only shown
//! to the user, never used for an authorisation decision. The ID-token rules
//! live in [`super::id_token`].

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

#[cfg(test)]
mod tests {
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
}
