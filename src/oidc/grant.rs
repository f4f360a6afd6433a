//! Token endpoint requests (RFC 6749 §5): the device_code and refresh_token
//! grants, with the `audience` / `resource` (RFC 8707) extras.

use serde::Deserialize;

use super::client_auth::ClientAuth;
use super::http::Http;
use super::{ProtocolError, lenient_u64, parse_reply};
use crate::secret::Secret;

pub const DEVICE_CODE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// A successful token response. `Debug` is redacted: tokens must never reach logs.
#[derive(Clone, Deserialize)]
pub struct TokenResponse {
    pub access_token: String,
    #[serde(default, deserialize_with = "lenient_string")]
    pub token_type: Option<String>,
    #[serde(default, deserialize_with = "lenient_u64")]
    pub expires_in: Option<u64>,
    #[serde(default)]
    pub refresh_token: Option<String>,
    #[serde(default)]
    pub id_token: Option<String>,
    /// Space-separated; a JSON array of scopes is accepted too.
    #[serde(default, deserialize_with = "lenient_string")]
    pub scope: Option<String>,
}

/// A string, or an array of strings joined with spaces; anything else is ignored
/// (one odd optional field must not reject a whole token response).
fn lenient_string<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match Option::<serde_json::Value>::deserialize(d)? {
        Some(serde_json::Value::String(s)) => Some(s),
        Some(serde_json::Value::Array(a)) => Some(
            a.iter()
                .filter_map(|v| v.as_str())
                .collect::<Vec<_>>()
                .join(" "),
        ),
        _ => None,
    })
}

/// RFC 6750 §2.1 b64token: what a bearer token may contain. Anything else could
/// break the `Authorization` header or the shell that captures `vmauth token`.
pub fn is_bearer_token(t: &str) -> bool {
    let body = t.trim_end_matches('=');
    !body.is_empty()
        && body
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~+/".contains(&b))
}

impl std::fmt::Debug for TokenResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenResponse")
            .field("access_token", &"<redacted>")
            .field("token_type", &self.token_type)
            .field("expires_in", &self.expires_in)
            .field(
                "refresh_token",
                &self.refresh_token.as_ref().map(|_| "<redacted>"),
            )
            .field("id_token", &self.id_token.as_ref().map(|_| "<redacted>"))
            .field("scope", &self.scope)
            .finish()
    }
}

/// Form fields of a request, in order.
pub type Form = Vec<(String, String)>;

/// Who the client is and what it asks for; shared by every grant.
#[derive(Debug, Clone, Default)]
pub struct ClientRequest {
    pub client_id: String,
    /// How the client authenticates (none for public clients).
    pub auth: ClientAuth,
    /// The `aud` of signed assertions, when not the endpoint being called.
    pub assertion_audience: Option<String>,
    pub scopes: Vec<String>,
    /// Auth0-style `audience`.
    pub audience: Option<String>,
    /// RFC 8707 resource indicators.
    pub resources: Vec<String>,
}

impl ClientRequest {
    /// The form for a request to `endpoint`: `client_id`, the audience/resource
    /// extras, `extra`, and client authentication (a fresh assertion each call).
    /// Returns the form and the `Authorization` header value, if any.
    pub fn form(
        &self,
        endpoint: &str,
        extra: &[(&str, &str)],
    ) -> Result<(Form, Option<Secret>), ProtocolError> {
        let mut form = vec![("client_id".to_string(), self.client_id.clone())];
        if let Some(aud) = &self.audience {
            form.push(("audience".into(), aud.clone()));
        }
        for r in &self.resources {
            form.push(("resource".into(), r.clone()));
        }
        form.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        let audience = self.assertion_audience.as_deref().unwrap_or(endpoint);
        let header = self.auth.apply(&self.client_id, audience, &mut form)?;
        Ok((form, header))
    }
}

/// POST a token request and parse the answer. An empty `access_token` is refused.
pub async fn token_request(
    http: &Http,
    token_endpoint: &str,
    client: &ClientRequest,
    extra: &[(&str, &str)],
) -> Result<TokenResponse, ProtocolError> {
    let (form, header) = client.form(token_endpoint, extra)?;
    let reply = http
        .post_form(token_endpoint, &form, header.as_ref())
        .await?;
    let tokens: TokenResponse = parse_reply(&reply, token_endpoint)?;
    if !is_bearer_token(&tokens.access_token) {
        return Err(ProtocolError::BadResponse {
            url: super::http::strip_query(token_endpoint),
            what: "token response has an empty access_token or one with characters a bearer token cannot have".into(),
        });
    }
    if let Some(tt) = &tokens.token_type
        && !tt.eq_ignore_ascii_case("bearer")
        && !tt.eq_ignore_ascii_case("dpop")
        && !tt.eq_ignore_ascii_case("n_a")
    {
        return Err(ProtocolError::BadResponse {
            url: super::http::strip_query(token_endpoint),
            what: format!(
                "unsupported token_type {:?}; vmauth handles Bearer tokens",
                crate::error::from_server(tt, 40)
            ),
        });
    }
    Ok(tokens)
}

/// Exchange a refresh token (RFC 6749 §6). The audience/resource of the original
/// login are sent again so the new access token keeps its `aud`.
pub async fn refresh(
    http: &Http,
    token_endpoint: &str,
    client: &ClientRequest,
    refresh_token: &str,
) -> Result<TokenResponse, ProtocolError> {
    token_request(
        http,
        token_endpoint,
        client,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
        ],
    )
    .await
}

/// The client credentials grant (RFC 6749 §4.4).
pub async fn client_credentials(
    http: &Http,
    token_endpoint: &str,
    client: &ClientRequest,
) -> Result<TokenResponse, ProtocolError> {
    let scope = client.scopes.join(" ");
    let mut extra = vec![("grant_type", "client_credentials")];
    if !scope.is_empty() {
        extra.push(("scope", scope.as_str()));
    }
    token_request(http, token_endpoint, client, &extra).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_token_charset() {
        assert!(is_bearer_token("eyJh.bG-ci_Oi~J+/IU=="));
        assert!(!is_bearer_token(""));
        assert!(!is_bearer_token("at\x1b[2Jx"));
        assert!(!is_bearer_token("a b"));
        assert!(!is_bearer_token("a\nb"));
    }

    #[test]
    fn scope_may_be_an_array() {
        let t: TokenResponse =
            serde_json::from_str(r#"{"access_token":"a","scope":["openid","api"],"token_type":7}"#)
                .unwrap();
        assert_eq!(t.scope.as_deref(), Some("openid api"));
        assert_eq!(t.token_type, None);
    }
}
