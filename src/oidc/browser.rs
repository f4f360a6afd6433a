//! The authorization code grant for a native app in the person's browser
//! (RFC 6749 §4.1, RFC 8252): PKCE S256 (RFC 7636, mandatory for public
//! clients by RFC 9700), a one-time `state`, an OIDC `nonce`, the
//! authorization response's `iss` (RFC 9207), and pushed authorization
//! requests (RFC 9126) when the issuer offers them.
//!
//! The engine builds the request ([`Provider::authorization_request`]), reads
//! what came back to the redirect URI, whichever way it came (a request to the
//! loopback listener, or an address or a bare code the person pasted:
//! [`Returned`]), and redeems the code ([`Provider::exchange_code`]). Listening,
//! opening a browser and prompting are the command's.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;

use super::ProtocolError;
use super::grant::{TokenResponse, token_request};
use super::provider::Provider;
use crate::clock::Rng;
use crate::error::from_server;

/// The longest authorization code or `state` accepted (real ones are far
/// shorter; a longer one is not an answer to this request).
pub const MAX_PARAM: usize = 4096;

/// A PKCE pair (RFC 7636 §4.1–4.2): the secret verifier and its S256 challenge.
pub struct Pkce {
    /// 43 characters of base64url from 32 random bytes (secret).
    pub verifier: String,
    /// `BASE64URL(SHA256(verifier))`.
    pub challenge: String,
}

/// The S256 challenge of `verifier` (RFC 7636 §4.2).
pub fn challenge(verifier: &str) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, verifier.as_bytes());
    URL_SAFE_NO_PAD.encode(digest.as_ref())
}

/// `n` random bytes as base64url, from `rng`.
fn random(rng: &dyn Rng, n: usize) -> Result<String, ProtocolError> {
    let mut bytes = vec![0u8; n];
    rng.fill(&mut bytes)
        .map_err(|_| ProtocolError::Config("the system's random source failed".into()))?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

/// A fresh PKCE pair from `rng`.
pub fn pkce(rng: &dyn Rng) -> Result<Pkce, ProtocolError> {
    let verifier = random(rng, 32)?;
    let challenge = challenge(&verifier);
    Ok(Pkce {
        verifier,
        challenge,
    })
}

/// One authorization request, as sent: what the browser opens, and what the
/// answer is checked against and redeemed with.
pub struct AuthorizationRequest {
    /// The URL to open (with a `request_uri` after PAR).
    pub url: String,
    /// Where the provider sends the browser back.
    pub redirect_uri: String,
    /// The one-time `state` the answer must carry.
    pub state: String,
    /// The `nonce` the ID token must carry (sent when `openid` is asked for).
    pub nonce: Option<String>,
    /// How long a pushed request's URL is good for (RFC 9126 `expires_in`).
    pub expires_in: Option<std::time::Duration>,
    /// The PKCE verifier (secret).
    verifier: String,
    /// The issuer the answer's `iss` must name (RFC 9207).
    issuer: String,
    /// The issuer says it always sends `iss` (RFC 9207 §3).
    iss_required: bool,
}

/// An answer to PAR (RFC 9126 §2.2).
#[derive(Deserialize)]
pub struct ParAnswer {
    /// The reference to the pushed request.
    pub request_uri: String,
    /// Its lifetime in seconds.
    #[serde(default, deserialize_with = "super::lenient_u64")]
    pub expires_in: Option<u64>,
}

/// What came back to the redirect URI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Returned {
    /// The query of the redirect (from the listener, or a pasted address).
    Query(Vec<(String, String)>),
    /// A bare code the person pasted (no `state` to check: they copied the
    /// code from the page their own browser shows).
    Code(String),
}

/// Why an answer to the redirect URI is not a code for this request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    /// The provider said no (`error`, with its description, sanitised).
    Error {
        /// The OAuth error code.
        error: String,
        /// The description, sanitised, if one came.
        description: Option<String>,
    },
    /// Not an answer to this request (another `state`, another `iss`, no code).
    NotOurs(String),
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refused::Error { error, description } => {
                write!(f, "the identity provider answered {error}")?;
                if let Some(d) = description {
                    write!(f, ": {d}")?;
                }
                Ok(())
            }
            Refused::NotOurs(why) => f.write_str(why),
        }
    }
}

/// The parameters of a query string (`a=1&b=2`, percent- and `+`-decoded).
pub fn parse_query(query: &str) -> Vec<(String, String)> {
    url::form_urlencoded::parse(query.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// What a person pasted: the whole address their browser was sent to (its
/// query is read), or the code alone. `None` when it is neither.
pub fn parse_pasted(text: &str) -> Option<Returned> {
    let text = text.trim();
    if text.is_empty() || text.len() > 4 * MAX_PARAM {
        return None;
    }
    if let Ok(url) = url::Url::parse(text)
        && matches!(url.scheme(), "http" | "https")
    {
        let params = parse_query(url.query().unwrap_or(""));
        return (!params.is_empty()).then_some(Returned::Query(params));
    }
    // The answer's query, with or without the address before it
    // (`127.0.0.1:5555/callback?code=…` copied without its scheme, or
    // `code=…&state=…` as some pages show it).
    if text.contains("code=") || text.contains("error=") {
        if text.contains(char::is_whitespace) {
            return None;
        }
        let query = text.rsplit_once('?').map_or(text, |(_, q)| q);
        let params = parse_query(query);
        return params
            .iter()
            .any(|(k, _)| k == "code" || k == "error")
            .then_some(Returned::Query(params));
    }
    // A bare code: visible ASCII (RFC 6749 Appendix A.11: VSCHAR), no spaces,
    // and nothing of an address or a query.
    let code_like = text.len() <= MAX_PARAM
        && text.bytes().all(|b| (0x21..0x7f).contains(&b))
        && !text.contains(['?', '&', '=']);
    code_like.then(|| Returned::Code(text.to_string()))
}

impl AuthorizationRequest {
    /// A request as sent, with fixed values (for the fuzz targets).
    #[cfg(feature = "fuzzing")]
    pub fn fixed(state: &str, issuer: &str, iss_required: bool) -> AuthorizationRequest {
        AuthorizationRequest {
            url: format!("{issuer}/auth"),
            redirect_uri: "http://127.0.0.1:1/callback".into(),
            state: state.into(),
            nonce: Some("nonce".into()),
            expires_in: None,
            verifier: "verifier".into(),
            issuer: issuer.into(),
            iss_required,
        }
    }

    /// The code in `returned`, checked: the `state` is this request's (a
    /// callback for another request, or a forged one, is refused), the `iss`
    /// is the issuer's when present or required (RFC 9207 §2.4, simple string
    /// comparison), and an `error` is reported sanitised.
    pub fn code(&self, returned: &Returned) -> Result<String, Refused> {
        let params = match returned {
            // A bare code has no `state` to check: taken only when the ID
            // token must carry this sign-in's nonce (an attacker's code would
            // come with an ID token for another nonce).
            Returned::Code(code) if self.nonce.is_some() && code.len() <= MAX_PARAM => {
                return Ok(code.clone());
            }
            Returned::Code(_) => {
                return Err(Refused::NotOurs(
                    "a code alone cannot be checked for this sign-in (no openid scope, so no nonce); paste the whole address the browser was sent to".into(),
                ));
            }
            Returned::Query(params) => params,
        };
        let get = |name: &str| -> Result<Option<&str>, Refused> {
            let mut values = params.iter().filter(|(k, _)| k == name).map(|(_, v)| v);
            let first = values.next();
            if values.next().is_some() {
                return Err(Refused::NotOurs(format!(
                    "the answer carries {name} twice, so it is not the identity provider's"
                )));
            }
            Ok(first.map(String::as_str))
        };
        match get("state")? {
            Some(s) if s == self.state => {}
            Some(_) => {
                return Err(Refused::NotOurs(
                    "the answer's state is not this login's (an old or forged sign-in); nothing was stored".into(),
                ));
            }
            None => {
                return Err(Refused::NotOurs(
                    "the answer carries no state, so it cannot be told apart from a forged one; nothing was stored".into(),
                ));
            }
        }
        match get("iss")? {
            Some(iss) if iss == self.issuer => {}
            Some(iss) => {
                return Err(Refused::NotOurs(format!(
                    "the answer comes from issuer {:?}, not {} (RFC 9207 mix-up defence); nothing was stored",
                    from_server(iss, 100),
                    self.issuer
                )));
            }
            None if self.iss_required => {
                return Err(Refused::NotOurs(format!(
                    "the answer carries no iss, which {} says it always sends (RFC 9207); nothing was stored",
                    self.issuer
                )));
            }
            None => {}
        }
        if let Some(error) = get("error")? {
            return Err(Refused::Error {
                error: from_server(error, 60),
                description: get("error_description")?.map(|d| from_server(d, 300)),
            });
        }
        match get("code")? {
            Some(code) if !code.is_empty() && code.len() <= MAX_PARAM => Ok(code.to_string()),
            _ => Err(Refused::NotOurs(
                "the answer carries no authorization code".into(),
            )),
        }
    }
}

impl Provider<'_> {
    /// Whether an offline-access request should carry `prompt=consent` here.
    fn takes_consent_prompt(&self) -> bool {
        let listed = self
            .meta
            .prompt_values_supported
            .as_ref()
            .is_none_or(|v| v.iter().any(|p| p == "consent"));
        let entra = url::Url::parse(&self.meta.issuer).is_ok_and(|u| {
            matches!(
                u.host_str(),
                Some("login.microsoftonline.com" | "sts.windows.net" | "login.microsoftonline.us")
            )
        });
        listed && !entra
    }

    /// Whether the issuer offers the browser flow (an authorization endpoint).
    pub fn offers_browser(&self) -> bool {
        self.meta.authorization_endpoint.is_some()
    }

    /// A new authorization request that sends the browser back to
    /// `redirect_uri`: fresh PKCE, `state` and `nonce` from the session's
    /// random source; pushed first (RFC 9126) when the issuer has a PAR
    /// endpoint, so the URL the browser opens carries only `client_id` and
    /// `request_uri`.
    pub async fn authorization_request(
        &self,
        redirect_uri: &str,
    ) -> Result<AuthorizationRequest, ProtocolError> {
        let endpoint = self.meta.authorization_endpoint.as_deref().ok_or_else(|| {
            ProtocolError::Config(format!(
                "issuer {} has no authorization_endpoint, so it offers no browser sign-in; use the device flow (--flow device)",
                self.meta.issuer
            ))
        })?;
        let rng = self.rng();
        let pkce = pkce(rng)?;
        let state = random(rng, 16)?;
        let nonce = random(rng, 16)?;
        self.keep_secret(&pkce.verifier);
        let scope = self.client.scopes.join(" ");
        let mut params: Vec<(&str, &str)> = vec![
            ("response_type", "code"),
            ("redirect_uri", redirect_uri),
            ("state", &state),
            ("code_challenge", &pkce.challenge),
            ("code_challenge_method", "S256"),
        ];
        if !scope.is_empty() {
            params.push(("scope", &scope));
        }
        let openid = self.client.scopes.iter().any(|s| s == "openid");
        if openid {
            params.push(("nonce", &nonce));
        }
        // OIDC Core §11: a request for offline access carries prompt=consent,
        // and providers that follow it (oidc-provider) drop offline_access
        // otherwise. Not where the metadata lists the prompt values without
        // `consent`, nor to Microsoft Entra, which grants offline_access
        // without it and would ask for consent at every sign-in.
        if self.client.scopes.iter().any(|s| s == "offline_access") && self.takes_consent_prompt() {
            params.push(("prompt", "consent"));
        }
        let mut url = url::Url::parse(endpoint).map_err(|_| {
            ProtocolError::Config(format!(
                "the authorization endpoint {} is not a URL",
                from_server(endpoint, 100)
            ))
        })?;
        let mut expires_in = None;
        match &self.meta.pushed_authorization_request_endpoint {
            Some(par) => {
                let answer = self.push(par, &params).await?;
                expires_in = answer.expires_in.map(std::time::Duration::from_secs);
                url.query_pairs_mut()
                    .append_pair("client_id", &self.client.client_id)
                    .append_pair("request_uri", &answer.request_uri);
            }
            None => {
                let mut q = url.query_pairs_mut();
                q.append_pair("client_id", &self.client.client_id);
                if let Some(aud) = &self.client.audience {
                    q.append_pair("audience", aud);
                }
                for r in &self.client.resources {
                    q.append_pair("resource", r);
                }
                for (k, v) in &params {
                    q.append_pair(k, v);
                }
            }
        }
        Ok(AuthorizationRequest {
            url: url.to_string(),
            redirect_uri: redirect_uri.to_string(),
            state,
            nonce: openid.then_some(nonce),
            expires_in,
            verifier: pkce.verifier,
            issuer: self.meta.issuer.clone(),
            iss_required: self.meta.authorization_response_iss_parameter_supported,
        })
    }

    /// RFC 9126 §2: push the request's parameters, authenticated as the
    /// client is at the token endpoint; the answer names the request.
    async fn push(
        &self,
        endpoint: &str,
        params: &[(&str, &str)],
    ) -> Result<ParAnswer, ProtocolError> {
        let answer: ParAnswer = self
            .client
            .post(&self.http, endpoint, params, false)
            .await?;
        check_par_answer(&answer, endpoint)?;
        Ok(answer)
    }

    /// Redeem `code` for tokens (RFC 6749 §4.1.3 with the PKCE verifier,
    /// RFC 7636 §4.5).
    pub async fn exchange_code(
        &self,
        request: &AuthorizationRequest,
        code: &str,
    ) -> Result<TokenResponse, ProtocolError> {
        self.keep_secret(code);
        token_request(
            &self.http,
            self.token_endpoint(),
            &self.client,
            &[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", &request.redirect_uri),
                ("code_verifier", &request.verifier),
            ],
            self.clock(),
        )
        .await
    }
}

/// A PAR answer must name a request: a `request_uri` of sane length (RFC 9126
/// §2.2 suggests a URN), with no characters a URL cannot carry.
pub fn check_par_answer(answer: &ParAnswer, endpoint: &str) -> Result<(), ProtocolError> {
    let uri = &answer.request_uri;
    if uri.is_empty() || uri.len() > MAX_PARAM || uri.chars().any(|c| c.is_control() || c == ' ') {
        return Err(ProtocolError::BadResponse {
            url: super::http::strip_query(endpoint),
            what: "the pushed authorization request answer has no usable request_uri".into(),
        });
    }
    Ok(())
}

#[cfg(test)]
#[path = "browser_tests.rs"]
mod tests;
