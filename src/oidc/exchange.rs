//! The grants that trade a token for another: the RFC 7523 JWT-bearer
//! authorization grant (§2.1) and RFC 8693 token exchange. vmauth uses them
//! with a CI platform's identity token (secretless CI) and, for people, with a
//! login's access token (`vmauth token --exchange`). Neither keeps a refresh
//! token: the next token is got by trading again.

use super::ProtocolError;
use super::grant::{ClientRequest, TokenResponse, own_grant_request};
use super::http::Http;
use crate::clock::Clock;
use crate::secret::Secret;

/// RFC 7523 §2.1 `grant_type`.
pub const JWT_BEARER_GRANT: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
/// RFC 8693 §2.1 `grant_type`.
pub const TOKEN_EXCHANGE_GRANT: &str = "urn:ietf:params:oauth:grant-type:token-exchange";

/// RFC 8693 §3 token type identifiers vmauth sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenType {
    /// `urn:ietf:params:oauth:token-type:jwt`: a JWT, e.g. a CI platform's token.
    Jwt,
    /// `urn:ietf:params:oauth:token-type:id_token`.
    IdToken,
    /// `urn:ietf:params:oauth:token-type:access_token`.
    AccessToken,
}

impl TokenType {
    /// The identifier on the wire.
    pub fn urn(self) -> &'static str {
        match self {
            TokenType::Jwt => "urn:ietf:params:oauth:token-type:jwt",
            TokenType::IdToken => "urn:ietf:params:oauth:token-type:id_token",
            TokenType::AccessToken => "urn:ietf:params:oauth:token-type:access_token",
        }
    }

    /// From a short name (`jwt`, `id_token`, `access_token`) or the full URN.
    pub fn parse(s: &str) -> Option<TokenType> {
        let short = s
            .trim()
            .strip_prefix("urn:ietf:params:oauth:token-type:")
            .unwrap_or(s.trim());
        match short {
            "jwt" => Some(TokenType::Jwt),
            "id_token" => Some(TokenType::IdToken),
            "access_token" => Some(TokenType::AccessToken),
            _ => None,
        }
    }
}

/// The parameters vmauth sets itself: `--param` may not set them (a vendor's
/// extra parameter must not replace the grant, the client's authentication or
/// what the token is for).
pub const RESERVED_PARAMS: &[&str] = &[
    "grant_type",
    "client_id",
    "client_secret",
    "client_assertion",
    "client_assertion_type",
    "assertion",
    "subject_token",
    "subject_token_type",
    "actor_token",
    "actor_token_type",
    "requested_token_type",
    "scope",
    "resource",
    "audience",
    "refresh_token",
    "code",
    "code_verifier",
    "redirect_uri",
    "device_code",
    "username",
    "password",
];

/// Why `key` cannot be an extra parameter, if it cannot.
pub fn check_param(key: &str) -> Result<(), String> {
    if key.is_empty()
        || !key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_-.:".contains(&b))
    {
        return Err(format!(
            "{:?} is not a parameter name (letters, digits, _ - . : only)",
            crate::error::from_server(key, 40)
        ));
    }
    if RESERVED_PARAMS.contains(&key) {
        return Err(format!(
            "{key} is set by vmauth itself and cannot be given as an extra parameter"
        ));
    }
    Ok(())
}

/// What is traded in a token exchange.
pub struct Exchange<'a> {
    /// The token that says who the request is for.
    pub subject: &'a Secret,
    /// Its type.
    pub subject_type: TokenType,
    /// Who acts for the subject (RFC 8693 §1.1 delegation), if anyone.
    pub actor: Option<(&'a Secret, TokenType)>,
}

/// The JWT-bearer authorization grant (RFC 7523 §2.1): `assertion` is the
/// grant; `params` are the vendor's extra parameters.
pub async fn jwt_bearer(
    http: &Http,
    token_endpoint: &str,
    client: &ClientRequest,
    assertion: &Secret,
    params: &[(String, String)],
    clock: &dyn Clock,
) -> Result<TokenResponse, ProtocolError> {
    let fields = [
        ("grant_type", JWT_BEARER_GRANT),
        ("assertion", assertion.expose()),
    ];
    own_grant_request(http, token_endpoint, client, &fields, params, clock).await
}

/// RFC 8693 token exchange for an access token (`requested_token_type`); the
/// audience, resources and scopes are the client request's.
pub async fn token_exchange(
    http: &Http,
    token_endpoint: &str,
    client: &ClientRequest,
    exchange: &Exchange<'_>,
    params: &[(String, String)],
    clock: &dyn Clock,
) -> Result<TokenResponse, ProtocolError> {
    let mut fields = vec![
        ("grant_type", TOKEN_EXCHANGE_GRANT),
        ("subject_token", exchange.subject.expose()),
        ("subject_token_type", exchange.subject_type.urn()),
        ("requested_token_type", TokenType::AccessToken.urn()),
    ];
    if let Some((actor, kind)) = exchange.actor {
        fields.push(("actor_token", actor.expose()));
        fields.push(("actor_token_type", kind.urn()));
    }
    let tokens = own_grant_request(http, token_endpoint, client, &fields, params, clock).await?;
    check_issued(&tokens, token_endpoint)?;
    Ok(tokens)
}

/// RFC 8693 §2.2.1: the issued token must be one vmauth can send as a bearer
/// access token (an access token, or a JWT the server says is one).
pub fn check_issued(tokens: &TokenResponse, token_endpoint: &str) -> Result<(), ProtocolError> {
    match tokens.issued_token_type.as_deref().map(TokenType::parse) {
        None | Some(Some(TokenType::AccessToken | TokenType::Jwt)) => Ok(()),
        Some(_) => {
            // Named only when it is a registered-looking type: a server could
            // put anything in the field, a token too.
            let kind = tokens
                .issued_token_type
                .as_deref()
                .and_then(|t| t.strip_prefix("urn:ietf:params:oauth:token-type:"))
                .filter(|t| t.len() <= 20 && t.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'))
                .unwrap_or("token of another type");
            Err(ProtocolError::BadResponse {
                url: super::http::strip_query(token_endpoint),
                what: format!("the token exchange issued a {kind}, not an access token"),
            })
        }
    }
}

#[cfg(test)]
#[path = "exchange_tests.rs"]
mod tests;
