//! Token endpoint requests (RFC 6749 §5): the device_code, refresh_token and
//! client_credentials grants, with the `audience` / `resource` (RFC 8707)
//! extras; and turning their answers into a stored [`Credential`].

use serde::Deserialize;

use super::client_auth::ClientAuth;
use super::http::Http;
use super::{ProtocolError, lenient_u64};
use crate::clock::Clock;
use crate::credential::{Credential, LoginId};
use crate::secret::Secret;

/// RFC 8628 `grant_type`.
pub const DEVICE_CODE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// A successful token response. `Debug` is redacted: tokens must never reach logs.
#[derive(Clone, Deserialize)]
pub struct TokenResponse {
    /// The access token.
    pub access_token: String,
    /// `Bearer`.
    #[serde(default, deserialize_with = "lenient_string")]
    pub token_type: Option<String>,
    /// Lifetime in seconds.
    #[serde(default, deserialize_with = "lenient_u64")]
    pub expires_in: Option<u64>,
    /// A refresh token, if issued.
    #[serde(default)]
    pub refresh_token: Option<String>,
    /// An OpenID Connect ID token, if issued.
    #[serde(default)]
    pub id_token: Option<String>,
    /// Space-separated; a JSON array of scopes is accepted too.
    #[serde(default, deserialize_with = "lenient_string")]
    pub scope: Option<String>,
    /// RFC 8693 §2.2.1: what a token exchange issued.
    #[serde(default, deserialize_with = "lenient_string")]
    pub issued_token_type: Option<String>,
    /// When the request that got these tokens was sent (Unix seconds, set by
    /// the engine, never read from the answer): `expires_in` counts from
    /// then, so a slow answer, or a second that ticks over before it is read,
    /// cannot make a token look longer-lived than the server issued it.
    #[serde(skip)]
    pub requested_at: Option<i64>,
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
            .field("requested_at", &self.requested_at)
            .finish()
    }
}

/// Form fields of a request, in order.
pub type Form = Vec<(String, String)>;

/// Who the client is and what it asks for; shared by every grant.
#[derive(Debug, Clone, Default)]
pub struct ClientRequest {
    /// The client id.
    pub client_id: String,
    /// How the client authenticates (none for public clients).
    pub auth: ClientAuth,
    /// The `aud` of signed assertions, when not the endpoint being called.
    pub assertion_audience: Option<String>,
    /// Scopes to ask for.
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

    /// POST [`ClientRequest::form`] to `endpoint` and read the JSON answer as
    /// `T`. Every secret the request carried is scrubbed from an error, even
    /// one the server echoes. `client_id_in_body`: keep `client_id` in the
    /// body with HTTP Basic authentication too (RFC 8628 §3.1).
    pub async fn post<T: serde::de::DeserializeOwned>(
        &self,
        http: &Http,
        endpoint: &str,
        extra: &[(&str, &str)],
        client_id_in_body: bool,
    ) -> Result<T, ProtocolError> {
        let (mut form, header) = self.form(endpoint, extra)?;
        if client_id_in_body && !form.iter().any(|(k, _)| k == "client_id") {
            form.insert(0, ("client_id".into(), self.client_id.clone()));
        }
        let secrets = request_secrets(&form, header.as_ref());
        http.post_form_json::<T>(endpoint, &form, header.as_ref())
            .await
            .map_err(|e| e.scrubbed(&secrets))
    }
}

/// Form fields whose values are secrets.
const SECRET_FIELDS: &[&str] = &[
    "client_secret",
    "client_assertion",
    "refresh_token",
    "token",
    "device_code",
    "code",
    "code_verifier",
    "assertion",
    "subject_token",
    "actor_token",
];

/// Every secret a request carries, in every form a server could echo: secret
/// form values, and the `Authorization` header whole, its credentials, and the
/// client secret inside HTTP Basic credentials (decoded and form-encoded).
pub(crate) fn request_secrets(
    form: &[(String, String)],
    authorization: Option<&crate::secret::Secret>,
) -> Vec<String> {
    use base64::Engine;
    let mut out: Vec<String> = form
        .iter()
        .filter(|(k, _)| SECRET_FIELDS.contains(&k.as_str()))
        .flat_map(|(_, v)| crate::secret::wire_forms(v))
        .collect();
    if let Some(h) = authorization {
        let h = h.expose();
        out.push(h.to_string());
        if let Some((_, credentials)) = h.split_once(' ') {
            out.push(credentials.to_string());
            if let Some(pair) = base64::engine::general_purpose::STANDARD
                .decode(credentials)
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                && let Some((_, secret)) = pair.split_once(':')
            {
                out.extend(crate::secret::wire_forms(secret));
                let decoded: String = url::form_urlencoded::parse(format!("s={secret}").as_bytes())
                    .map(|(_, v)| v.into_owned())
                    .collect();
                out.extend(crate::secret::wire_forms(&decoded));
            }
        }
    }
    out
}

/// POST a token request and parse the answer, noting when it was sent on
/// `clock` ([`TokenResponse::requested_at`]). An empty `access_token` is refused.
pub async fn token_request(
    http: &Http,
    token_endpoint: &str,
    client: &ClientRequest,
    extra: &[(&str, &str)],
    clock: &dyn Clock,
) -> Result<TokenResponse, ProtocolError> {
    let sent = clock.now_unix();
    let mut tokens: TokenResponse = client.post(http, token_endpoint, extra, false).await?;
    tokens.requested_at = Some(sent);
    if !is_bearer_token(&tokens.access_token) {
        return Err(ProtocolError::BadResponse {
            url: super::http::strip_query(token_endpoint),
            what: "token response has an empty access_token or one with characters a bearer token cannot have".into(),
        });
    }
    // RFC 6749 §7.1: a client must not use a token whose type it does not
    // understand. vmauth sends tokens as RFC 6750 bearer tokens; a DPoP-bound
    // token (RFC 9449) would be rejected by the API, or worse, accepted unbound.
    if let Some(tt) = &tokens.token_type
        && !tt.eq_ignore_ascii_case("bearer")
    {
        return Err(ProtocolError::BadResponse {
            url: super::http::strip_query(token_endpoint),
            what: format!(
                "the token_type is {:?}, which vmauth does not support (Bearer only, RFC 6749 §7.1); ask the identity provider's administrator for Bearer tokens for this client",
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
    clock: &dyn Clock,
) -> Result<TokenResponse, ProtocolError> {
    token_request(
        http,
        token_endpoint,
        client,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
        ],
        clock,
    )
    .await
}

/// A token request of a grant a program makes for itself (client
/// credentials, JWT bearer, token exchange): `fields`, the client's scopes,
/// then the vendor's `params`.
pub(crate) async fn own_grant_request(
    http: &Http,
    token_endpoint: &str,
    client: &ClientRequest,
    fields: &[(&str, &str)],
    params: &[(String, String)],
    clock: &dyn Clock,
) -> Result<TokenResponse, ProtocolError> {
    let scope = client.scopes.join(" ");
    let mut extra = fields.to_vec();
    if !scope.is_empty() {
        extra.push(("scope", scope.as_str()));
    }
    extra.extend(params.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    token_request(http, token_endpoint, client, &extra, clock).await
}

/// The client credentials grant (RFC 6749 §4.4).
pub async fn client_credentials(
    http: &Http,
    token_endpoint: &str,
    client: &ClientRequest,
    params: &[(String, String)],
    clock: &dyn Clock,
) -> Result<TokenResponse, ProtocolError> {
    let fields = [("grant_type", "client_credentials")];
    own_grant_request(http, token_endpoint, client, &fields, params, clock).await
}

/// Absolute expiry for a token response: `expires_in`, else the JWT's `exp`,
/// else one hour (the ValidMind library's assumption).
pub fn expires_at(now: i64, expires_in: Option<u64>, access_token: &str) -> i64 {
    // Clamp absurd lifetimes: an expiry that cannot be written would read back as 1970.
    const MAX_LIFETIME: i64 = 366 * 24 * 3600;
    match expires_in {
        Some(s) => now.saturating_add(i64::try_from(s).unwrap_or(i64::MAX).min(MAX_LIFETIME)),
        None => crate::jwt::expiry(access_token)
            .map(|exp| exp.min(now.saturating_add(MAX_LIFETIME)))
            .unwrap_or(now.saturating_add(3600)),
    }
}

/// The credential to store for a new login (device or client credentials) from
/// its token response at `now`: what was asked for (`scopes`, `resources`) is
/// kept, to be asked for again.
pub fn new_credential(
    id: &LoginId,
    tokens: TokenResponse,
    now: i64,
    scopes: &[String],
    resources: &[String],
) -> Credential {
    let now = issued(&tokens, now);
    Credential {
        issuer: id.issuer.clone(),
        client_id: id.client_id.clone(),
        audience: id.audience.clone(),
        expires_at: expires_at(now, tokens.expires_in, &tokens.access_token),
        issued_at: Some(now),
        access_token: Secret::new(tokens.access_token),
        refresh_token: tokens.refresh_token.map(Secret::new),
        id_token: tokens.id_token.map(Secret::new),
        id_token_verified: false,
        scope: tokens.scope,
        token_type: tokens.token_type,
        resource: resources.to_vec(),
        requested_scope: Some(scopes.join(" ")).filter(|s| !s.is_empty()),
        client_credentials: None,
        client_auth: None,
        exchanged_from: None,
        userinfo: None,
        extra: Default::default(),
    }
}

/// When `tokens` count from: when their request was sent, if the engine
/// noted it (never after `now`), else `now`.
fn issued(tokens: &TokenResponse, now: i64) -> i64 {
    match tokens.requested_at {
        Some(t) => t.min(now),
        None => now,
    }
}

/// `old` after a refresh answered with `tokens` at `now`. What the server does
/// not send again (refresh token, ID token, scope, token type) is kept (RFC 6749 §6).
/// A new ID token is marked unverified; the caller marks it once checked.
pub fn merge_refresh(old: &Credential, tokens: TokenResponse, now: i64) -> Credential {
    let now = issued(&tokens, now);
    let mut new = old.clone();
    new.expires_at = expires_at(now, tokens.expires_in, &tokens.access_token);
    new.issued_at = Some(now);
    new.access_token = Secret::new(tokens.access_token);
    if let Some(r) = tokens.refresh_token {
        new.refresh_token = Some(Secret::new(r));
    }
    if let Some(i) = tokens.id_token {
        new.id_token = Some(Secret::new(i));
        new.id_token_verified = false;
    }
    if tokens.scope.is_some() {
        new.scope = tokens.scope;
    }
    if tokens.token_type.is_some() {
        new.token_type = tokens.token_type;
    }
    new
}

#[cfg(test)]
#[path = "grant_tests.rs"]
mod tests;
