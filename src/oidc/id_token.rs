//! ID-token rules (OIDC Core §3.1.3.7, §12.2): who issued it, to whom, and that
//! a refreshed ID token is about the same person.

use serde_json::Value;

use super::discovery::issuer_matches;
use super::jwt::claims;
use crate::credential::Credential;

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
    let matches = issuer_matches(iss, issuer)
        || tenant_issuer.is_some_and(|t| issuer_matches(iss, &t))
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

/// Check the ID token of a refresh answer for the login `old`: the rules of
/// [`check_id_token`], and (OIDC Core §12.2) the same subject as before.
pub fn check_refreshed(id_token: &str, old: &Credential, published: &str) -> Result<(), String> {
    check_id_token(id_token, &old.issuer, published, &old.client_id)?;
    let sub =
        |t: &str| claims(t).and_then(|c| c.get("sub").and_then(Value::as_str).map(str::to_string));
    match (
        old.id_token.as_ref().and_then(|t| sub(t.expose())),
        sub(id_token),
    ) {
        (Some(before), Some(now)) if before != now => {
            Err("its subject differs from the logged-in user".into())
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
#[path = "id_token_tests.rs"]
mod tests;
