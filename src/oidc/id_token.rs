//! ID-token rules (OIDC Core §3.1.3.7, §12.2): who issued it, to whom, and that
//! a refreshed ID token is about the same person.

use serde_json::Value;

use super::discovery::issuer_matches;
use crate::credential::Credential;
use crate::jwt::claims;

/// Clock skew tolerated for `exp` and `iat`.
pub const LEEWAY: i64 = 120;

/// What an ID token must say: who issued it, to whom, and when it is checked.
#[derive(Debug, Clone, Copy)]
pub struct Expected<'a> {
    /// The issuer asked for (normalised).
    pub issuer: &'a str,
    /// The issuer as the metadata publishes it (may be a `{tenantid}` template).
    pub published: &'a str,
    /// The client id, which must be an audience.
    pub client_id: &'a str,
    /// Now, Unix seconds.
    pub now: i64,
}

/// Check the claims of an ID token (its signature is checked by the caller,
/// with [`super::jwks::verify`]), OIDC Core §3.1.3.7 items 2–5, 9, 10: `iss` is
/// the issuer (a `{tenantid}` template in the published issuer, as Microsoft
/// Entra's `common` publishes, is filled from the token's `tid`; Google's
/// scheme-less `accounts.google.com` is accepted); `aud` contains the client id;
/// with several audiences `azp` must be present, and when present it must be
/// the client id; `exp` is in the future and `iat` not in the future (each
/// with [`LEEWAY`]). A nonce is not checked: the device flow sends none.
/// Returns a description of the problem, if any.
pub fn check_id_token(id_token: &str, e: &Expected) -> Result<(), String> {
    let c = claims(id_token).ok_or("the id_token is not a JWT")?;
    check_parties(&c, e)?;
    check_times(&c, e.now)
}

/// The ID token of a login that sent `nonce` carries it (OIDC Core §3.1.3.7
/// item 11): an ID token replayed from another sign-in does not.
pub fn check_nonce(id_token: &str, nonce: &str) -> Result<(), String> {
    let c = claims(id_token).ok_or("the id_token is not a JWT")?;
    match c.get("nonce").and_then(Value::as_str) {
        Some(n) if n == nonce => Ok(()),
        Some(_) => Err("the id_token's nonce is not this sign-in's (a replayed token)".into()),
        None => Err("the id_token carries no nonce, though the sign-in sent one".into()),
    }
}

/// Who issued the token and to whom: `iss`, `aud`, `azp`.
fn check_parties(c: &serde_json::Map<String, Value>, e: &Expected) -> Result<(), String> {
    let (issuer, client_id) = (e.issuer, e.client_id);
    let iss = c.get("iss").and_then(Value::as_str).unwrap_or("");
    let tenant_issuer = c
        .get("tid")
        .and_then(Value::as_str)
        .filter(|_| e.published.contains("{tenantid}"))
        .map(|tid| e.published.replace("{tenantid}", tid));
    // Google documents `accounts.google.com` without the scheme as a valid `iss`.
    let google_alias = iss == "accounts.google.com" && issuer == "https://accounts.google.com";
    let matches = issuer_matches(iss, issuer)
        || tenant_issuer.is_some_and(|t| issuer_matches(iss, &t))
        || google_alias;
    if !matches {
        return Err(format!(
            "the id_token was issued by {:?}, not {issuer}",
            crate::error::from_server(iss, 100)
        ));
    }
    let audiences: Vec<&str> = match c.get("aud") {
        Some(Value::String(a)) => vec![a.as_str()],
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    };
    if !audiences.contains(&client_id) {
        return Err(format!(
            "the id_token is not addressed to client {client_id}"
        ));
    }
    match c.get("azp").and_then(Value::as_str) {
        Some(azp) if azp != client_id => {
            return Err(format!(
                "the id_token was issued to client {:?} (azp), not {client_id}",
                crate::error::from_server(azp, 100)
            ));
        }
        None if audiences.len() > 1 => {
            return Err("the id_token has several audiences but no azp".into());
        }
        _ => {}
    }
    Ok(())
}

/// `exp` in the future, `iat` not in the future (each with [`LEEWAY`]).
fn check_times(c: &serde_json::Map<String, Value>, now: i64) -> Result<(), String> {
    let e = Expected {
        issuer: "",
        published: "",
        client_id: "",
        now,
    };
    let time = |name: &str| c.get(name).and_then(Value::as_i64);
    match time("exp") {
        Some(exp) if exp.saturating_add(LEEWAY) < e.now => {
            return Err(format!(
                "the id_token expired {}s ago",
                e.now.saturating_sub(exp)
            ));
        }
        Some(_) => {}
        None => return Err("the id_token has no exp".into()),
    }
    match time("iat") {
        Some(iat) if iat.saturating_sub(LEEWAY) > e.now => {
            return Err(format!(
                "the id_token was issued {}s in the future (check the clock)",
                iat.saturating_sub(e.now)
            ));
        }
        Some(_) => {}
        None => return Err("the id_token has no iat".into()),
    }
    Ok(())
}

/// Whether the ID token of a refresh answer for the login `old` is about
/// another party: another issuer, another client, or (OIDC Core §12.2)
/// another subject than the login's. Read without its signature: only such a
/// mix-up refuses a refresh answer, whose access and refresh tokens came from
/// the token endpoint over TLS and whose old refresh token may already be
/// spent; any other fault of the ID token (its signature, its times) only
/// means it is not kept.
pub fn refreshed_mix_up(id_token: &str, old: &Credential, published: &str) -> Option<String> {
    let c = claims(id_token)?;
    let expected = Expected {
        issuer: &old.issuer,
        published,
        client_id: &old.client_id,
        now: 0,
    };
    if let Err(why) = check_parties(&c, &expected) {
        return Some(why);
    }
    let sub = |c: &serde_json::Map<String, Value>| {
        c.get("sub").and_then(Value::as_str).map(str::to_string)
    };
    match (
        old.id_token.as_ref().and_then(|t| claims(t.expose())),
        sub(&c),
    ) {
        (Some(before), Some(now)) if sub(&before).is_some_and(|b| b != now) => {
            Some("its subject differs from the logged-in user".into())
        }
        _ => None,
    }
}

#[cfg(test)]
#[path = "id_token_tests.rs"]
mod tests;
