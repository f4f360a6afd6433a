//! RFC 8628 device authorization grant: the authorization request (§3.1–3.2) and
//! the polling state machine (§3.4–3.5), driven by an injected [`Clock`].

use std::time::Duration;

use serde::Deserialize;

use super::grant::{ClientRequest, DEVICE_CODE_GRANT, TokenResponse, token_request};
use super::http::Http;
use super::{ErrorCode, ProtocolError, lenient_u64};
use crate::clock::Clock;

/// Interval when the server sends none (RFC 8628 §3.2).
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(5);
/// Never poll faster than this, whatever the server says (an `interval` of 0 would hammer it).
pub const MIN_INTERVAL: Duration = Duration::from_secs(1);
/// `expires_in` is capped at this: a login that waits for a person longer is a hang.
pub const MAX_EXPIRES_IN: Duration = Duration::from_secs(3600);
/// Longest wait between retries after transient failures.
pub const MAX_BACKOFF: Duration = Duration::from_secs(60);

#[derive(Deserialize)]
struct RawAuthorization {
    device_code: String,
    user_code: String,
    #[serde(default)]
    verification_uri: Option<String>,
    /// Google's pre-standard name for `verification_uri`.
    #[serde(default)]
    verification_url: Option<String>,
    #[serde(default)]
    verification_uri_complete: Option<String>,
    #[serde(default, deserialize_with = "lenient_u64")]
    expires_in: Option<u64>,
    #[serde(default, deserialize_with = "lenient_u64")]
    interval: Option<u64>,
}

/// The device authorization response, checked and normalised.
#[derive(Clone)]
pub struct Authorization {
    /// The code the client polls with (secret).
    pub device_code: String,
    /// The code the person checks on the page.
    pub user_code: String,
    /// The page to open (https, or http on loopback).
    pub verification_uri: String,
    /// The page with the code filled in, if the server offers one.
    pub verification_uri_complete: Option<String>,
    /// How long the code is valid (capped).
    pub expires_in: Duration,
    /// How long to wait between polls.
    pub interval: Duration,
}

impl std::fmt::Debug for Authorization {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authorization")
            .field("device_code", &"<redacted>")
            .field("user_code", &self.user_code)
            .field("verification_uri", &self.verification_uri)
            .field("expires_in", &self.expires_in)
            .field("interval", &self.interval)
            .finish()
    }
}

/// RFC 8628 §3.1: ask for a device code and user code.
pub async fn authorize(
    http: &Http,
    endpoint: &str,
    client: &ClientRequest,
) -> Result<Authorization, ProtocolError> {
    let scope = client.scopes.join(" ");
    let mut extra = Vec::new();
    if !scope.is_empty() {
        extra.push(("scope", scope.as_str()));
    }
    // RFC 8628 §3.1 names client_id as a parameter of this request; with HTTP
    // Basic client authentication it also stays in the body (RFC 6749 §3.2.1
    // allows it, and oauthlib-based servers require it).
    let raw: RawAuthorization = client.post(http, endpoint, &extra, true).await?;
    check_authorization(raw, endpoint)
}

fn check_authorization(
    raw: RawAuthorization,
    endpoint: &str,
) -> Result<Authorization, ProtocolError> {
    let bad = |what: &str| ProtocolError::BadResponse {
        url: super::http::strip_query(endpoint),
        what: what.to_string(),
    };
    if raw.device_code.is_empty() || raw.user_code.trim().is_empty() {
        return Err(bad(
            "device authorization response has an empty device_code or user_code",
        ));
    }
    let nonempty = |u: Option<String>| u.filter(|u| !u.trim().is_empty());
    let verification_uri = nonempty(raw.verification_uri)
        .or(nonempty(raw.verification_url))
        .ok_or_else(|| bad("device authorization response has no verification_uri"))?;
    // These URLs are shown, put in the QR code and opened with --open: they must be
    // web pages, https (or http on loopback), never file:// or a custom scheme.
    let web_page = |u: &str, what: &str| {
        super::http::require_secure(u.trim(), what)
            .map(|url| url.to_string())
            .map_err(|e| bad(&e.to_string()))
    };
    let verification_uri = web_page(&verification_uri, "verification_uri")?;
    let verification_uri_complete = match nonempty(raw.verification_uri_complete) {
        Some(u) => Some(web_page(&u, "verification_uri_complete")?),
        None => None,
    };
    let expires_in = match raw.expires_in {
        Some(0) => return Err(bad("device authorization response has expires_in 0")),
        Some(s) => Duration::from_secs(s).min(MAX_EXPIRES_IN),
        // RFC 8628 §3.2 makes it REQUIRED; assume the common 10 minutes rather than fail.
        None => Duration::from_secs(600),
    };
    // RFC 8628 §3.2: wait at least `interval`; only 0 is raised (it would hammer).
    let interval = raw
        .interval
        .map(Duration::from_secs)
        .unwrap_or(DEFAULT_INTERVAL)
        .max(MIN_INTERVAL);
    if interval >= expires_in {
        return Err(bad(&format!(
            "device authorization response asks for polls every {}s but the code expires in {}s",
            interval.as_secs(),
            expires_in.as_secs()
        )));
    }
    // The person compares this code with the page's: one they cannot see (only
    // control, formatting or space characters) would make that check meaningless.
    let user_code = crate::error::one_line(&raw.user_code);
    if user_code.chars().all(char::is_whitespace) {
        return Err(bad(
            "device authorization response has a user_code with no visible characters",
        ));
    }
    Ok(Authorization {
        device_code: raw.device_code,
        user_code,
        verification_uri,
        verification_uri_complete,
        expires_in,
        interval,
    })
}

/// Why polling ended without tokens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PollError {
    /// `access_denied`: the person said no.
    Denied,
    /// `expired_token`, or the local deadline passed.
    Expired,
    /// Any other failure: transport that will not heal, or an unexpected OAuth error.
    Failed(ProtocolError),
}

/// Progress reported to the caller (the UI shows it; the engine does not print).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PollEvent {
    /// The server asked to slow down; this is the new interval.
    SlowDown(Duration),
    /// A transient failure; retrying after this wait.
    Retrying {
        /// What failed.
        reason: String,
        /// How long until the next try.
        wait: Duration,
    },
}

/// What the poller needs to know besides the authorization.
pub struct Poll<'a> {
    /// The HTTP client.
    pub http: &'a Http,
    /// Time: deadlines and waits between polls.
    pub clock: &'a dyn Clock,
    /// Where to poll.
    pub token_endpoint: &'a str,
    /// Who polls.
    pub client: &'a ClientRequest,
}

impl Poll<'_> {
    /// RFC 8628 §3.4–3.5. Waits `interval` before every poll; `authorization_pending`
    /// continues; `slow_down` adds 5 s (or takes the server's larger interval) for all
    /// later polls; stops at the first other answer; retries transient failures with
    /// bounded backoff until the local deadline (`expires_in`); DNS, TLS and refused
    /// connections fail at once.
    pub async fn run(
        &self,
        auth: &Authorization,
        mut on_event: impl FnMut(PollEvent),
    ) -> Result<TokenResponse, PollError> {
        let deadline = self.clock.elapsed() + auth.expires_in;
        let mut interval = auth.interval;
        let mut wait = interval;
        let mut failures: u32 = 0;
        let form = [
            ("grant_type", DEVICE_CODE_GRANT),
            ("device_code", auth.device_code.as_str()),
        ];
        loop {
            let now = self.clock.elapsed();
            if now >= deadline {
                return Err(PollError::Expired);
            }
            self.clock.sleep(wait.min(deadline - now)).await;
            if self.clock.elapsed() >= deadline {
                return Err(PollError::Expired);
            }
            // The code's expiry bounds each request too: a token endpoint that
            // hangs must not keep a short-lived code waiting for the HTTP timeout.
            let left = deadline.saturating_sub(self.clock.elapsed());
            let answer = tokio::time::timeout(
                left,
                token_request(
                    self.http,
                    self.token_endpoint,
                    self.client,
                    &form,
                    self.clock,
                ),
            )
            .await;
            let Ok(answer) = answer else {
                return Err(PollError::Expired);
            };
            match answer {
                Ok(tokens) => return Ok(tokens),
                Err(ProtocolError::OAuth(e)) if is_poll_answer(&e.error) => {
                    failures = 0;
                    match e.error {
                        ErrorCode::SlowDown => {
                            interval = next_interval(interval, &e);
                            on_event(PollEvent::SlowDown(interval));
                        }
                        // Not the person: a policy (Entra Conditional Access).
                        ErrorCode::AccessDenied if blocked_by_policy(&e) => {
                            return Err(PollError::Failed(ProtocolError::OAuth(e)));
                        }
                        ErrorCode::AccessDenied => return Err(PollError::Denied),
                        ErrorCode::ExpiredToken => return Err(PollError::Expired),
                        _ => {}
                    }
                    wait = interval;
                }
                Err(e) if e.is_transient() => {
                    failures = failures.saturating_add(1);
                    // 429 and 503 may say how long to wait (RFC 9110 §10.2.3); the
                    // wait before the next poll is cut at the deadline above.
                    wait = backoff(interval, failures).max(e.retry_after().unwrap_or_default());
                    on_event(PollEvent::Retrying {
                        reason: e.to_string(),
                        wait,
                    });
                }
                Err(e) => return Err(PollError::Failed(e)),
            }
        }
    }
}

/// Conditional Access codes in an Entra error description that mean the
/// device flow itself is blocked for this user or client (AADSTS53003: blocked
/// by Conditional Access; AADSTS50199: confirmation the device flow cannot
/// give).
const POLICY_CODES: &[&str] = &["AADSTS53003", "AADSTS50199"];

fn blocked_by_policy(e: &super::OAuthError) -> bool {
    e.error_description
        .as_deref()
        .is_some_and(|d| POLICY_CODES.iter().any(|c| d.contains(c)))
}

/// Whether `e`, the answer to a device authorization request or a poll, says
/// the device flow is not allowed here (the client's registration, or the
/// organisation's policy) rather than that it failed: `unauthorized_client`,
/// `unsupported_grant_type`, or an `access_denied`/`invalid_grant` whose
/// description carries a Conditional Access code (`POLICY_CODES`). The
/// browser flow may still be allowed.
pub fn refused_by_policy(e: &ProtocolError) -> bool {
    let ProtocolError::OAuth(o) = e else {
        return false;
    };
    match o.error {
        ErrorCode::UnauthorizedClient | ErrorCode::UnsupportedGrantType => true,
        ErrorCode::AccessDenied | ErrorCode::InvalidGrant => blocked_by_policy(o),
        _ => false,
    }
}

/// The four answers RFC 8628 §3.5 defines for a device-code poll.
fn is_poll_answer(error: &ErrorCode) -> bool {
    matches!(
        error,
        ErrorCode::AuthorizationPending
            | ErrorCode::SlowDown
            | ErrorCode::AccessDenied
            | ErrorCode::ExpiredToken
    )
}

/// `slow_down`: interval + 5 s, or a larger `interval` the server sends with the error.
fn next_interval(current: Duration, err: &super::OAuthError) -> Duration {
    let bumped = current + Duration::from_secs(5);
    match err.interval.map(Duration::from_secs) {
        Some(server) if server > bumped => server,
        _ => bumped,
    }
}

/// `interval · 2^failures`, at most [`MAX_BACKOFF`] (but never below `interval`).
fn backoff(interval: Duration, failures: u32) -> Duration {
    let factor = 1u32.checked_shl(failures.min(16)).unwrap_or(u32::MAX);
    interval
        .saturating_mul(factor)
        .min(MAX_BACKOFF)
        .max(interval)
}

#[cfg(test)]
#[path = "device_tests.rs"]
mod tests;

impl super::provider::Provider<'_> {
    /// Poll this session's token endpoint for `auth` until the person decides
    /// ([`Poll::run`], on the session's clock); `on_event` hears of slow-downs
    /// and retries.
    pub async fn device_tokens(
        &self,
        auth: &Authorization,
        on_event: impl FnMut(PollEvent),
    ) -> Result<TokenResponse, PollError> {
        Poll {
            http: &self.http,
            clock: self.clock(),
            token_endpoint: self.token_endpoint(),
            client: &self.client,
        }
        .run(auth, on_event)
        .await
    }
}
