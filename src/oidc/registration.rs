//! Registering vmauth at an authorization server that does not know it: RFC 7591 dynamic client registration as a native public
//! client, and RFC 7592 deletion of that registration. The registration
//! access token is a secret ([`Secret`]): never shown, kept like tokens.
//!
//! `vmauth login API_URL` registers when no `--client-id` is given and keeps
//! the registration per server (`state::StoredRegistration`).

use serde::Deserialize;

use super::ProtocolError;
use super::http::{Http, parse_reply, require_secure, strip_query};
use crate::secret::Secret;

/// The longest client id taken.
pub const MAX_CLIENT_ID: usize = 512;

/// What vmauth asks to be registered as (RFC 7591 §2): a native public
/// client with the grants it uses and loopback redirect URIs (RFC 8252 §7.3:
/// the server must accept any port).
#[derive(Debug, Clone)]
pub struct ClientMetadata {
    /// `redirect_uris`: the loopback callbacks of the browser login.
    pub redirect_uris: Vec<String>,
    /// `grant_types`.
    pub grant_types: Vec<String>,
    /// `scope`, space-separated, when scopes are asked for.
    pub scope: Option<String>,
    /// `software_version`.
    pub software_version: String,
}

impl ClientMetadata {
    /// vmauth as a native public client: the device grant, the authorization
    /// code grant on `127.0.0.1` and `[::1]`, refresh tokens.
    pub fn vmauth(scope: Option<String>) -> ClientMetadata {
        ClientMetadata {
            redirect_uris: vec![
                "http://127.0.0.1/callback".into(),
                "http://[::1]/callback".into(),
            ],
            grant_types: vec![
                super::grant::DEVICE_CODE_GRANT.into(),
                "authorization_code".into(),
                "refresh_token".into(),
            ],
            scope,
            software_version: env!("CARGO_PKG_VERSION").into(),
        }
    }

    /// The JSON document sent.
    pub fn document(&self) -> serde_json::Value {
        let mut doc = serde_json::json!({
            "client_name": "vmauth",
            "application_type": "native",
            "token_endpoint_auth_method": "none",
            "redirect_uris": self.redirect_uris,
            "grant_types": self.grant_types,
            "response_types": ["code"],
            "software_id": "vmauth",
            "software_version": self.software_version,
        });
        if let Some(scope) = &self.scope {
            doc["scope"] = scope.clone().into();
        }
        doc
    }
}

/// A registration (RFC 7591 §3.2.1; unknown members ignored). `Debug` shows
/// no secret.
#[derive(Clone, Deserialize)]
pub struct Registration {
    /// The client id to log in with.
    pub client_id: String,
    /// A secret, if the server made the client confidential after all.
    #[serde(default)]
    pub client_secret: Option<Secret>,
    /// RFC 7592: the bearer token that manages (and deletes) the registration.
    #[serde(default)]
    pub registration_access_token: Option<Secret>,
    /// RFC 7592: where the registration is managed.
    #[serde(default)]
    pub registration_client_uri: Option<String>,
    /// The authentication the server registered.
    #[serde(default)]
    pub token_endpoint_auth_method: Option<String>,
}

impl std::fmt::Debug for Registration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registration")
            .field("client_id", &self.client_id)
            .field(
                "client_secret",
                &self.client_secret.as_ref().map(|_| "<redacted>"),
            )
            .field(
                "registration_access_token",
                &self
                    .registration_access_token
                    .as_ref()
                    .map(|_| "<redacted>"),
            )
            .field("registration_client_uri", &self.registration_client_uri)
            .finish()
    }
}

/// What vmauth accepts of a registration answer: a client id it can send and
/// key logins by (printable ASCII without `|`, at most [`MAX_CLIENT_ID`]), a
/// management URI over https (loopback excepted), and the public client it
/// asked for (no secret, `token_endpoint_auth_method` `none` if given).
pub fn check_registration(r: &Registration, endpoint: &str) -> Result<(), ProtocolError> {
    let bad = |what: String| ProtocolError::BadResponse {
        url: strip_query(endpoint),
        what,
    };
    if r.client_id.is_empty()
        || r.client_id.len() > MAX_CLIENT_ID
        || !r
            .client_id
            .bytes()
            .all(|b| (0x21..0x7f).contains(&b) && b != b'|')
    {
        return Err(bad("a client_id vmauth cannot use".into()));
    }
    if r.client_secret.is_some() {
        // vmauth registers as a public client and keeps no client secret.
        return Err(bad(
            "a confidential client (with a client_secret) instead of the public client asked for"
                .into(),
        ));
    }
    if let Some(uri) = &r.registration_client_uri {
        require_secure(uri, "registration_client_uri")?;
    }
    match r.token_endpoint_auth_method.as_deref() {
        None | Some("none") => Ok(()),
        Some(m) => Err(bad(format!(
            "a confidential client ({}) without a client_secret",
            crate::error::from_server(m, 40)
        ))),
    }
}

/// Register at `endpoint` (RFC 7591 §3.1), with the server's initial access
/// token when it requires one.
pub async fn register(
    http: &Http,
    endpoint: &str,
    client: &ClientMetadata,
    initial_access_token: Option<&Secret>,
) -> Result<Registration, ProtocolError> {
    require_secure(endpoint, "registration endpoint")?;
    let secrets: Vec<String> = initial_access_token
        .map(|t| crate::secret::wire_forms(t.expose()))
        .unwrap_or_default();
    async {
        let reply = http
            .json_request(endpoint, Some(&client.document()), initial_access_token)
            .await?;
        let r: Registration = parse_reply(&reply, endpoint)?;
        check_registration(&r, endpoint)?;
        Ok(r)
    }
    .await
    .map_err(|e: ProtocolError| e.scrubbed(&secrets))
}

/// What the server says of a kept registration (RFC 7592 §2.1 read).
#[derive(Debug)]
pub enum Read {
    /// It knows it. With the registration as it answered, when that names
    /// another registration access token or management URI than the one
    /// kept: the server rotated it, and the old one no longer works.
    Known(Option<Registration>),
    /// It said it does not (401 or 404).
    Gone,
}

/// Read a registration (RFC 7592 §2.1): [`Read::Gone`] only when the server
/// says so (401 or 404); without a management URI, or on any other answer,
/// it is taken as known.
pub async fn read(http: &Http, r: &Registration) -> Read {
    let (Some(uri), Some(token)) = (&r.registration_client_uri, &r.registration_access_token)
    else {
        return Read::Known(None);
    };
    if require_secure(uri, "registration_client_uri").is_err() {
        return Read::Known(None);
    }
    let Ok(reply) = http.get_bearer(uri, token.expose()).await else {
        return Read::Known(None);
    };
    if matches!(reply.status, 401 | 404) {
        return Read::Gone;
    }
    // RFC 7592 §2.1: the answer may carry a new registration access token.
    let answer = parse_reply::<Registration>(&reply, uri)
        .ok()
        .filter(|a| a.client_id == r.client_id && check_registration(a, uri).is_ok());
    Read::Known(answer.and_then(|a| {
        let token = a
            .registration_access_token
            .clone()
            .or_else(|| r.registration_access_token.clone());
        let uri = a
            .registration_client_uri
            .clone()
            .or_else(|| r.registration_client_uri.clone());
        let rotated = token != r.registration_access_token || uri != r.registration_client_uri;
        rotated.then_some(Registration {
            registration_access_token: token,
            registration_client_uri: uri,
            ..a
        })
    }))
}

/// Delete a registration (RFC 7592 §2.3): `Ok` when the server confirmed
/// (204, or 401/404: it is gone already).
pub async fn unregister(http: &Http, r: &Registration) -> Result<(), ProtocolError> {
    let (Some(uri), Some(token)) = (&r.registration_client_uri, &r.registration_access_token)
    else {
        return Err(ProtocolError::Config(
            "the server offered no way to delete this registration (RFC 7592)".into(),
        ));
    };
    require_secure(uri, "registration_client_uri")?;
    let secrets = crate::secret::wire_forms(token.expose());
    let reply = http
        .json_request(uri, None, Some(token))
        .await
        .map_err(|e| e.scrubbed(&secrets))?;
    // RFC 7592 §2.3: 204 when deleted; 401 or 404 when the server no longer
    // has it. Any other 2xx (a redirected DELETE answered as a GET) is not a
    // deletion.
    match reply.status {
        204 | 401 | 404 => Ok(()),
        200..=299 => Err(ProtocolError::BadResponse {
            url: super::http::strip_query(uri),
            what: format!(
                "the deletion was answered with HTTP {}, not 204, so the registration may still be there",
                reply.status
            ),
        }),
        _ => parse_reply::<serde_json::Value>(&reply, uri)
            .map(|_| ())
            .map_err(|e| e.scrubbed(&secrets)),
    }
}

#[cfg(test)]
#[path = "registration_tests.rs"]
mod tests;
