//! The protocol engine: OIDC discovery, RFC 8628 device flow, token requests,
//! RFC 7009 revocation and ID-token checks. It never prints, reads environment
//! variables, exits, or calls the wall clock or the OS random source: time,
//! randomness and HTTP are passed in.

pub mod browser;
pub mod client_auth;
pub mod device;
pub mod discovery;
pub mod exchange;
pub mod grant;
pub mod http;
pub mod id_token;
pub mod provider;
/// The key sets and signature checks, where the provider session keeps them.
pub use provider::keys as jwks;
pub mod registration;
pub mod resource;
pub mod revoke;

use std::fmt;

use serde::Deserialize;

use crate::error::{Error, Kind, from_server};
pub use http::TransportKind;
pub(crate) use http::parse_reply;

/// An OAuth `error` code: the ones vmauth acts on (RFC 6749 §5.2, RFC 8628 §3.5,
/// RFC 8707, RFC 7009, OIDC Core §3.1.2.6), and any other as [`ErrorCode::Other`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ErrorCode {
    /// `invalid_request`.
    InvalidRequest,
    /// `invalid_client`: client authentication failed.
    InvalidClient,
    /// `invalid_grant`: the code or refresh token is invalid, expired or revoked.
    InvalidGrant,
    /// `unauthorized_client`.
    UnauthorizedClient,
    /// `unsupported_grant_type`.
    UnsupportedGrantType,
    /// `invalid_scope`.
    InvalidScope,
    /// `invalid_target` (RFC 8707): unknown audience or resource.
    InvalidTarget,
    /// `authorization_pending` (RFC 8628).
    AuthorizationPending,
    /// `slow_down` (RFC 8628).
    SlowDown,
    /// `access_denied`.
    AccessDenied,
    /// `expired_token` (RFC 8628).
    ExpiredToken,
    /// `interaction_required` (OIDC).
    InteractionRequired,
    /// `login_required` (OIDC).
    LoginRequired,
    /// `consent_required` (OIDC).
    ConsentRequired,
    /// `temporarily_unavailable`.
    TemporarilyUnavailable,
    /// `server_error`.
    ServerError,
    /// `too_many_requests` (not registered, but sent by some providers).
    TooManyRequests,
    /// `unsupported_token_type` (RFC 7009).
    UnsupportedTokenType,
    /// Any other code, as sent.
    Other(String),
}

impl ErrorCode {
    const KNOWN: [(&'static str, ErrorCode); 18] = [
        ("invalid_request", ErrorCode::InvalidRequest),
        ("invalid_client", ErrorCode::InvalidClient),
        ("invalid_grant", ErrorCode::InvalidGrant),
        ("unauthorized_client", ErrorCode::UnauthorizedClient),
        ("unsupported_grant_type", ErrorCode::UnsupportedGrantType),
        ("invalid_scope", ErrorCode::InvalidScope),
        ("invalid_target", ErrorCode::InvalidTarget),
        ("authorization_pending", ErrorCode::AuthorizationPending),
        ("slow_down", ErrorCode::SlowDown),
        ("access_denied", ErrorCode::AccessDenied),
        ("expired_token", ErrorCode::ExpiredToken),
        ("interaction_required", ErrorCode::InteractionRequired),
        ("login_required", ErrorCode::LoginRequired),
        ("consent_required", ErrorCode::ConsentRequired),
        ("temporarily_unavailable", ErrorCode::TemporarilyUnavailable),
        ("server_error", ErrorCode::ServerError),
        ("too_many_requests", ErrorCode::TooManyRequests),
        ("unsupported_token_type", ErrorCode::UnsupportedTokenType),
    ];

    /// The code as sent on the wire.
    pub fn as_str(&self) -> &str {
        match self {
            ErrorCode::Other(s) => s,
            known => Self::KNOWN
                .iter()
                .find(|(_, c)| c == known)
                .map(|(s, _)| *s)
                .unwrap_or_default(),
        }
    }

    /// The code for `s`.
    pub fn parse(s: &str) -> ErrorCode {
        Self::KNOWN
            .iter()
            .find(|(name, _)| *name == s)
            .map(|(_, c)| c.clone())
            .unwrap_or_else(|| ErrorCode::Other(s.to_string()))
    }
}

impl<'de> Deserialize<'de> for ErrorCode {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(ErrorCode::parse(&String::deserialize(d)?))
    }
}

/// An OAuth error response (RFC 6749 §5.2): `error` and `error_description`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct OAuthError {
    /// The error code.
    pub error: ErrorCode,
    /// Human-readable text from the server (shown sanitised).
    #[serde(default)]
    pub error_description: Option<String>,

    /// A new polling interval some servers send with `slow_down`.
    #[serde(default, deserialize_with = "lenient_u64")]
    pub interval: Option<u64>,
    /// The HTTP status it came with (not part of the JSON).
    #[serde(skip)]
    pub status: u16,
    /// The `Retry-After` it came with (not part of the JSON).
    #[serde(skip)]
    pub retry_after: Option<std::time::Duration>,
}

impl OAuthError {
    /// A server-side or rate-limit condition that waiting can cure.
    pub fn is_transient(&self) -> bool {
        self.status >= 500
            || self.status == 429
            || matches!(
                self.error,
                ErrorCode::TemporarilyUnavailable
                    | ErrorCode::ServerError
                    | ErrorCode::TooManyRequests
            )
    }
}

impl fmt::Display for OAuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", from_server(self.error.as_str(), 80))?;
        if let Some(d) = self.error_description.as_deref().filter(|d| !d.is_empty()) {
            write!(f, " ({})", from_server(d, 200))?;
        }
        Ok(())
    }
}

/// Everything that can go wrong talking to an identity provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProtocolError {
    /// A URL or response breaks vmauth's security policy, or is malformed config.
    Config(String),
    /// No HTTP answer.
    Transport {
        /// Why.
        kind: TransportKind,
        /// Where (without query).
        url: String,
    },
    /// A redirect the transport policy would not follow.
    Redirect {
        /// Where it pointed and why it was refused.
        reason: String,
    },
    /// An HTTP error that is not an OAuth error document (HTML error page, 5xx …).
    Status {
        /// The HTTP status.
        status: u16,
        /// Its content type.
        content_type: String,
        /// Where (without query).
        url: String,
        /// The `Retry-After` it came with.
        retry_after: Option<std::time::Duration>,
    },
    /// The server answered with an OAuth error.
    OAuth(OAuthError),
    /// The answer could not be understood.
    BadResponse {
        /// Where (without query).
        url: String,
        /// What was wrong with it.
        what: String,
    },
}

impl std::error::Error for ProtocolError {}

impl fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProtocolError::Config(m) => f.write_str(m),
            ProtocolError::Transport { kind, url } => {
                write!(f, "cannot reach {url}: {}", kind.describe())?;
                match kind {
                    TransportKind::Dns => f.write_str("; check the --issuer host name"),
                    TransportKind::Refused => f.write_str("; is the identity provider running?"),
                    TransportKind::Tls => f.write_str(
                        "; check the URL, the system clock, and that the certificate is trusted (SSL_CERT_FILE)",
                    ),
                    _ => f.write_str("; check the network or proxy settings (HTTPS_PROXY)"),
                }
            }
            ProtocolError::Redirect { reason } => f.write_str(reason),
            ProtocolError::Status {
                status,
                content_type,
                url,
                ..
            } => {
                let ct = if content_type.is_empty() {
                    "no content type".to_string()
                } else {
                    from_server(content_type, 60)
                };
                write!(
                    f,
                    "{url} answered HTTP {status} ({ct}), not an OAuth response"
                )
            }
            ProtocolError::OAuth(e) => write!(f, "identity provider said: {e}"),
            ProtocolError::BadResponse { url, what } => {
                write!(f, "unexpected answer from {url}: {what}")
            }
        }
    }
}

impl ProtocolError {
    /// Worth retrying later (timeouts, resets, 5xx, 429).
    pub fn is_transient(&self) -> bool {
        match self {
            ProtocolError::Transport { kind, .. } => kind.is_transient(),
            ProtocolError::Status { status, .. } => *status >= 500 || *status == 429,
            ProtocolError::OAuth(e) => e.is_transient(),
            _ => false,
        }
    }

    /// How long the server asked to wait (`Retry-After`), if it did.
    pub fn retry_after(&self) -> Option<std::time::Duration> {
        match self {
            ProtocolError::Status { retry_after, .. } => *retry_after,
            ProtocolError::OAuth(e) => e.retry_after,
            _ => None,
        }
    }

    /// The OAuth `error` code, if this is an OAuth error.
    pub fn oauth_code(&self) -> Option<&ErrorCode> {
        match self {
            ProtocolError::OAuth(e) => Some(&e.error),
            _ => None,
        }
    }

    /// Whether the provider refused the client itself (`invalid_client`,
    /// `unauthorized_client`), not the person or the grant: its registration
    /// or credentials are what to check.
    pub fn refuses_client(&self) -> bool {
        matches!(
            self.oauth_code(),
            Some(ErrorCode::InvalidClient | ErrorCode::UnauthorizedClient)
        )
    }
}

impl ProtocolError {
    /// This error with every one of `secrets` removed from its text (a server
    /// may echo what it was sent in an error description or a header).
    pub fn scrubbed(self, secrets: &[String]) -> ProtocolError {
        let s = |t: String| crate::secret::scrub(&t, secrets);
        match self {
            ProtocolError::Config(m) => ProtocolError::Config(s(m)),
            ProtocolError::Redirect { reason } => ProtocolError::Redirect { reason: s(reason) },
            ProtocolError::Status {
                status,
                content_type,
                url,
                retry_after,
            } => ProtocolError::Status {
                status,
                content_type: s(content_type),
                url,
                retry_after,
            },
            ProtocolError::OAuth(e) => ProtocolError::OAuth(OAuthError {
                error: match e.error {
                    ErrorCode::Other(code) => ErrorCode::Other(s(code)),
                    known => known,
                },
                error_description: e.error_description.map(s),
                ..e
            }),
            ProtocolError::BadResponse { url, what } => {
                ProtocolError::BadResponse { url, what: s(what) }
            }
            transport @ ProtocolError::Transport { .. } => transport,
        }
    }
}

impl From<ProtocolError> for Error {
    fn from(e: ProtocolError) -> Error {
        let kind = match e {
            ProtocolError::Config(_) => Kind::Usage,
            _ => Kind::Idp,
        };
        Error::wrap(kind, e)
    }
}

/// Deserialise an integer that some servers send as a string (`"3600"`) or a
/// float (`2.0`). Goes through `Value`, which keeps numbers exactly.
pub(crate) fn lenient_u64<'de, D>(d: D) -> Result<Option<u64>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    Ok(match Option::<serde_json::Value>::deserialize(d)? {
        Some(serde_json::Value::Number(n)) => n.as_u64().or_else(|| {
            n.as_f64()
                .filter(|f| f.is_finite() && *f >= 0.0)
                .map(|f| f as u64)
        }),
        Some(serde_json::Value::String(s)) => s.trim().parse().ok(),
        _ => None,
    })
}

#[cfg(test)]
#[path = "oidc_tests.rs"]
mod tests;
