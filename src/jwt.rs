//! Reading JWT claims (ID tokens, JWT access tokens) for display and expiry.
//!
//! The signature is not verified here: these tokens come straight from the token
//! endpoint over TLS (OIDC Core §3.1.3.7 item 6), and the claims are only shown
//! to the user, never used for an authorisation decision. The ID-token rules
//! live in [`crate::oidc::id_token`].

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
#[path = "jwt_tests.rs"]
mod tests;
