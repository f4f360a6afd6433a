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
    match serde_json::from_slice(&payload(token)?).ok()? {
        Value::Object(map) => Some(map),
        _ => None,
    }
}

/// The claims `names` of a compact JWS (the others are skipped unparsed), or
/// `None` when `token` is not a JWT: [`claims`] filtered, at a fraction of
/// the cost (`-o json` and `status` show six claims of a large ID token).
pub fn claims_named(token: &str, names: &[&str]) -> Option<Map<String, Value>> {
    use serde::de::{DeserializeSeed, IgnoredAny, MapAccess, Visitor};
    struct Pick<'a>(&'a [&'a str]);
    impl<'de> Visitor<'de> for Pick<'_> {
        type Value = Map<String, Value>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a JSON object")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Self::Value, A::Error> {
            let mut out = Map::new();
            while let Some(k) = m.next_key::<std::borrow::Cow<'de, str>>()? {
                if self.0.contains(&k.as_ref()) {
                    out.insert(k.into_owned(), m.next_value()?);
                } else {
                    m.next_value::<IgnoredAny>()?;
                }
            }
            Ok(out)
        }
    }
    impl<'de> DeserializeSeed<'de> for Pick<'_> {
        type Value = Map<String, Value>;
        fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_map(self)
        }
    }
    let bytes = payload(token)?;
    // As text: a skipped value must be valid UTF-8 too, as [`claims`] requires
    // of the whole payload (found by the jwt_claims fuzz target).
    let text = std::str::from_utf8(&bytes).ok()?;
    let mut de = serde_json::Deserializer::from_str(text);
    let picked = Pick(names).deserialize(&mut de).ok()?;
    de.end().ok()?;
    Some(picked)
}

/// The decoded payload of a three-part compact JWS that holds a JSON object.
/// Its first bytes (the first four characters) tell whether it can be one
/// (`{` after any white space), so another token is not decoded whole.
fn payload(token: &str) -> Option<Vec<u8>> {
    let mut parts = token.split('.');
    let (_header, payload, _sig) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let payload = payload.trim_end_matches('=');
    if let Some(head) = payload.get(..4) {
        let head = URL_SAFE_NO_PAD.decode(head).ok()?;
        match head.iter().find(|b| !b" \t\r\n".contains(b)) {
            Some(b'{') | None => {}
            Some(_) => return None,
        }
    }
    URL_SAFE_NO_PAD.decode(payload).ok()
}

/// `exp` as Unix seconds.
pub fn expiry(token: &str) -> Option<i64> {
    claims(token)?.get("exp")?.as_i64()
}

#[cfg(test)]
#[path = "jwt_tests.rs"]
mod tests;
