//! The one HTTP client factory and transport policy: HTTPS except on loopback,
//! timeouts, redirect policy, response-size limit, and classification of
//! transport failures (DNS / TLS / refused fail fast; timeouts are transient).

use std::net::IpAddr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::{DigitallySignedStruct, SignatureScheme};
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};

use reqwest::redirect;
use url::{Host, Url};

use super::{ErrorCode, OAuthError, ProtocolError};
use crate::error::from_server;
use crate::secret::Secret;

/// Largest response body vmauth reads (discovery documents and token responses are small).
pub const MAX_BODY: usize = 1 << 20;

/// How a request failed before an HTTP answer arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportKind {
    /// No answer in time: worth retrying.
    Timeout,
    /// Nothing listens there: fail at once.
    Refused,
    /// The host name does not resolve: fail at once.
    Dns,
    /// The TLS handshake or certificate check failed: fail at once.
    Tls,
    /// Anything else (reset, closed): worth retrying.
    Other,
}

impl TransportKind {
    /// Whether waiting and trying again can help.
    pub fn is_transient(self) -> bool {
        matches!(self, TransportKind::Timeout | TransportKind::Other)
    }

    /// What happened, for messages.
    pub fn describe(self) -> &'static str {
        match self {
            TransportKind::Timeout => "timed out",
            TransportKind::Refused => "connection refused",
            TransportKind::Dns => "host name does not resolve",
            TransportKind::Tls => "TLS handshake or certificate check failed",
            TransportKind::Other => "connection failed",
        }
    }
}

/// True for `localhost`, 127.0.0.0/8 and ::1.
pub fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Domain(d)) => {
            // Only the name itself: `*.localhost` would go through DNS.
            d.trim_end_matches('.').eq_ignore_ascii_case("localhost")
        }
        Some(Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    }
}

/// Google Cloud's metadata server (`metadata.google.internal`,
/// 169.254.169.254 or `fd20:ce::254`): reached over http by design, and,
/// like loopback, never through a proxy.
pub fn is_metadata_host(url: &Url) -> bool {
    match url.host() {
        Some(Host::Domain(d)) => d
            .trim_end_matches('.')
            .eq_ignore_ascii_case("metadata.google.internal"),
        Some(Host::Ipv4(ip)) => ip == std::net::Ipv4Addr::new(169, 254, 169, 254),
        Some(Host::Ipv6(ip)) => ip == std::net::Ipv6Addr::new(0xfd20, 0xce, 0, 0, 0, 0, 0, 0x254),
        None => false,
    }
}

/// Parse `value` and require `https`, or `http` on a loopback host.
/// `what` names the URL in the message ("issuer", "token endpoint", …).
pub fn require_secure(value: &str, what: &str) -> Result<Url, ProtocolError> {
    let url = Url::parse(value)
        .map_err(|e| ProtocolError::Config(format!("{what} {value:?} is not a valid URL ({e})")))?;
    match url.scheme() {
        "https" => {}
        "http" if is_loopback(&url) => {}
        "http" => {
            return Err(ProtocolError::Config(format!(
                "{what} {value} uses http; vmauth requires https except for loopback hosts (127.0.0.1, ::1, localhost)"
            )));
        }
        other => {
            return Err(ProtocolError::Config(format!(
                "{what} {value} has scheme {other:?}; use an https:// URL"
            )));
        }
    }
    if url.host().is_none() {
        return Err(ProtocolError::Config(format!("{what} {value} has no host")));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(ProtocolError::Config(format!(
            "{what} must not contain user:password@; remove it from the URL"
        )));
    }
    Ok(url)
}

/// Timeouts for one client.
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    /// For connecting (TCP and TLS).
    pub connect: Duration,
    /// For the whole request.
    pub total: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            connect: Duration::from_secs(10),
            total: Duration::from_secs(30),
        }
    }
}

/// An HTTP answer, read in full (up to [`MAX_BODY`]).
#[derive(Debug)]
pub struct Reply {
    /// The HTTP status.
    pub status: u16,
    /// `Content-Type` (empty when absent).
    pub content_type: String,
    /// The body, read in full.
    pub body: Vec<u8>,
    /// `WWW-Authenticate`, where a 401 may carry its OAuth error.
    pub www_authenticate: Option<String>,
    /// `Retry-After` in seconds (RFC 9110 §10.2.3; the HTTP-date form is not
    /// read: it would need the wall clock).
    pub retry_after: Option<Duration>,
}

impl Reply {
    /// `application/json` or `application/…+json`.
    pub fn is_json(&self) -> bool {
        let ct = self.content_type.to_ascii_lowercase();
        ct.starts_with("application/json")
            || (ct.starts_with("application/") && ct.contains("+json"))
    }
}

/// The HTTP client used by the protocol engine. Built only when a command needs
/// the network; the system trust store is read at its first TLS handshake, so
/// a command that contacts only http:// loopback URLs never reads it.
#[derive(Clone)]
pub struct Http {
    timeouts: Timeouts,
    tls: rustls::ClientConfig,
    /// For everything but loopback: the system's proxy settings apply. Built
    /// at the first request that needs it.
    proxied: OnceLock<Result<reqwest::Client, String>>,
    /// For loopback URLs: never through a proxy (the request would leave the
    /// host in cleartext, and the proxy's answer would be believed).
    direct: OnceLock<Result<reqwest::Client, String>>,
    verifier: Arc<LazyVerifier>,
}

/// vmauth's redirect policy: at most 5, never a 303/307/308 (a body resent
/// elsewhere, or a request processed), only to https (or http on loopback),
/// never from https to http, never from another host to loopback.
fn redirect_policy() -> redirect::Policy {
    redirect::Policy::custom(|attempt| {
        let downgrade = attempt
            .previous()
            .last()
            .is_some_and(|p| p.scheme() == "https" && attempt.url().scheme() != "https");
        let target = strip_query(attempt.url().as_str());
        if attempt.previous().len() >= 5 {
            attempt.error(format!("redirect to {target} refused: too many redirects"))
        } else if matches!(attempt.status().as_u16(), 303 | 307 | 308) {
            // 307/308 resend the body (refresh token, client secret)
            // elsewhere; a 303 says the request was processed, so what
            // follows must not look like a request that never arrived: stop.
            attempt.stop()
        } else if downgrade
            || require_secure(attempt.url().as_str(), "redirect target").is_err()
            || (is_loopback(attempt.url())
                && attempt.previous().last().is_some_and(|p| !is_loopback(p)))
        {
            attempt.error(format!(
                "redirect to {target} refused: vmauth follows redirects only to https (or http on loopback), never from https to http, and never from another host to loopback"
            ))
        } else {
            attempt.follow()
        }
    })
}

/// The system's certificate verifier (rustls-platform-verifier: the OS trust
/// store, WebPKI path building), created at the first certificate check rather
/// than with the client: reading the trust store costs ~150 file reads and
/// several ms on Debian, and a machine without one can still reach loopback.
#[derive(Debug)]
struct LazyVerifier {
    provider: Arc<CryptoProvider>,
    inner: OnceLock<Result<Arc<rustls_platform_verifier::Verifier>, rustls::Error>>,
}

impl LazyVerifier {
    fn new(provider: Arc<CryptoProvider>) -> LazyVerifier {
        LazyVerifier {
            provider,
            inner: OnceLock::new(),
        }
    }

    fn get(&self) -> Result<&Arc<rustls_platform_verifier::Verifier>, rustls::Error> {
        self.inner
            .get_or_init(|| {
                rustls_platform_verifier::Verifier::new(self.provider.clone()).map(Arc::new)
            })
            .as_ref()
            .map_err(Clone::clone)
    }

    /// Whether the trust store has been read.
    fn loaded(&self) -> bool {
        self.inner.get().is_some()
    }
}

impl ServerCertVerifier for LazyVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        self.get()?
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
    }

    // The handshake signatures are checked with the provider's algorithms, as
    // the platform verifier (through WebPKI) does, without the trust store.
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

impl Http {
    /// A client with vmauth's transport policy: ring-only rustls, the redirect
    /// policy, `timeouts`.
    pub fn new(timeouts: Timeouts) -> Result<Http, ProtocolError> {
        // ring is the only crypto provider compiled in.
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let verifier = Arc::new(LazyVerifier::new(provider.clone()));
        let mut tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| ProtocolError::Config(format!("cannot set up TLS: {e}")))?
            .dangerous()
            .with_custom_certificate_verifier(verifier.clone())
            .with_no_client_auth();
        // reqwest is built without HTTP/2.
        tls.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Http {
            timeouts,
            tls,
            proxied: OnceLock::new(),
            direct: OnceLock::new(),
            verifier,
        })
    }

    /// The client for `url`, built at its first use: loopback is never
    /// proxied, and a command that talks to one host builds one client.
    fn client_for(&self, url: &str) -> Result<&reqwest::Client, ProtocolError> {
        let direct = Url::parse(url).is_ok_and(|u| is_loopback(&u) || is_metadata_host(&u));
        let cell = if direct { &self.direct } else { &self.proxied };
        cell.get_or_init(|| {
            let b = reqwest::Client::builder()
                .user_agent(concat!("vmauth/", env!("CARGO_PKG_VERSION")))
                .connect_timeout(self.timeouts.connect)
                .timeout(self.timeouts.total)
                .redirect(redirect_policy())
                .tls_backend_preconfigured(self.tls.clone());
            let b = if direct { b.no_proxy() } else { b };
            b.build().map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(|e| ProtocolError::Config(format!("cannot set up HTTPS client: {e}")))
    }

    /// Whether this client has read the system trust store (at a TLS handshake).
    pub fn trust_store_loaded(&self) -> bool {
        self.verifier.loaded()
    }

    /// GET a JSON document.
    pub async fn get(&self, url: &str) -> Result<Reply, ProtocolError> {
        let req = self
            .client_for(url)?
            .get(url)
            .header(reqwest::header::ACCEPT, "application/json");
        self.send(req, url).await
    }

    /// GET a JSON document with a bearer token (RFC 6750 §2.1).
    pub async fn get_bearer(&self, url: &str, token: &str) -> Result<Reply, ProtocolError> {
        let req = self
            .client_for(url)?
            .get(url)
            .header(reqwest::header::ACCEPT, "application/json")
            .header(reqwest::header::AUTHORIZATION, bearer(token)?);
        self.send(req, url).await
    }

    /// GET (or, with `post`, POST with an empty body) `url` with headers
    /// whose values may be secrets (a CI platform's request token, or fixed
    /// values such as Google's `Metadata-Flavor`): the CI platforms' token
    /// endpoints. Any content type is read.
    pub async fn call_with_headers(
        &self,
        post: bool,
        url: &str,
        headers: &[(&'static str, &Secret)],
    ) -> Result<Reply, ProtocolError> {
        let client = self.client_for(url)?;
        let mut req = if post {
            client.post(url)
        } else {
            client.get(url)
        };
        for (name, value) in headers {
            let mut v = reqwest::header::HeaderValue::from_str(value.expose()).map_err(|_| {
                ProtocolError::Config(format!(
                    "the {name} header value has characters not allowed in an HTTP header"
                ))
            })?;
            v.set_sensitive(true);
            req = req.header(*name, v);
        }
        self.send(req, url).await
    }

    /// POST a JSON document (or, without one, DELETE) with an optional bearer
    /// token: RFC 7591 registration and RFC 7592 management.
    pub async fn json_request(
        &self,
        url: &str,
        body: Option<&serde_json::Value>,
        bearer: Option<&Secret>,
    ) -> Result<Reply, ProtocolError> {
        let client = self.client_for(url)?;
        let mut req = match body {
            Some(b) => client.post(url).json(b),
            None => client.delete(url),
        }
        .header(reqwest::header::ACCEPT, "application/json");
        if let Some(token) = bearer {
            req = req.header(
                reqwest::header::AUTHORIZATION,
                self::bearer(token.expose())?,
            );
        }
        self.send(req, url).await
    }

    /// POST an `application/x-www-form-urlencoded` body, with an optional
    /// `Authorization` header value.
    pub async fn post_form(
        &self,
        url: &str,
        form: &[(String, String)],
        authorization: Option<&Secret>,
    ) -> Result<Reply, ProtocolError> {
        let mut req = self
            .client_for(url)?
            .post(url)
            .header(reqwest::header::ACCEPT, "application/json")
            .form(form);
        if let Some(value) = authorization {
            let mut v = reqwest::header::HeaderValue::from_str(value.expose()).map_err(|_| {
                ProtocolError::Config(
                    "client credentials contain characters not allowed in an HTTP header".into(),
                )
            })?;
            v.set_sensitive(true);
            req = req.header(reqwest::header::AUTHORIZATION, v);
        }
        self.send(req, url).await
    }

    /// [`Http::post_form`], the answer read as `T` (an OAuth error body
    /// becomes the error, as for every answer).
    pub async fn post_form_json<T: serde::de::DeserializeOwned>(
        &self,
        url: &str,
        form: &[(String, String)],
        authorization: Option<&Secret>,
    ) -> Result<T, ProtocolError> {
        let reply = self.post_form(url, form, authorization).await?;
        parse_reply(&reply, url)
    }

    async fn send(&self, req: reqwest::RequestBuilder, url: &str) -> Result<Reply, ProtocolError> {
        let transport = |e: &reqwest::Error| {
            if e.is_redirect() {
                return ProtocolError::Redirect {
                    reason: redirect_reason(e),
                };
            }
            ProtocolError::Transport {
                kind: classify(e),
                url: strip_query(url),
            }
        };
        let mut resp = req.send().await.map_err(|e| transport(&e))?;
        let status = resp.status().as_u16();
        let content_type = resp
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        let www_authenticate = resp
            .headers()
            .get_all(reqwest::header::WWW_AUTHENTICATE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            // Several header lines are one list (RFC 9110 §5.3).
            .fold(None, |all: Option<String>, v| {
                Some(match all {
                    Some(a) => format!("{a}, {v}"),
                    None => v.to_string(),
                })
            });
        let retry_after = resp
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(|e| transport(&e))? {
            if body.len() + chunk.len() > MAX_BODY {
                return Err(ProtocolError::BadResponse {
                    url: strip_query(url),
                    what: format!("response larger than {} KiB", MAX_BODY / 1024),
                });
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Reply {
            status,
            content_type,
            body,
            www_authenticate,
            retry_after,
        })
    }
}

/// The URL without query or fragment, for messages.
pub fn strip_query(url: &str) -> String {
    match Url::parse(url) {
        Ok(mut u) => {
            u.set_query(None);
            u.set_fragment(None);
            u.to_string()
        }
        Err(_) => url.split(['?', '#']).next().unwrap_or("").to_string(),
    }
}

/// Why the redirect policy stopped a redirect (the policy's own words).
fn redirect_reason(e: &reqwest::Error) -> String {
    let mut source = std::error::Error::source(e);
    let mut reason = "redirect refused".to_string();
    while let Some(err) = source {
        reason = err.to_string();
        source = err.source();
    }
    crate::error::from_server(&reason, 300)
}

/// Every error in `e`'s chain, including the payloads of `std::io::Error`s
/// (whose `source()` skips the payload itself: rustls errors hide there).
fn chain<'a>(
    e: &'a (dyn std::error::Error + 'static),
) -> Vec<&'a (dyn std::error::Error + 'static)> {
    let mut out = Vec::new();
    let mut todo = vec![e];
    while let Some(err) = todo.pop() {
        out.push(err);
        if let Some(inner) = err
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
        {
            todo.push(inner);
        }
        if let Some(next) = err.source() {
            todo.push(next);
        }
    }
    out
}

/// Work out why a request failed from reqwest's error chain.
fn classify(e: &reqwest::Error) -> TransportKind {
    if e.is_timeout() {
        return TransportKind::Timeout;
    }
    let errors = chain(e);
    // A TLS failure anywhere in the chain decides, whatever wraps it.
    if errors
        .iter()
        .any(|err| err.downcast_ref::<rustls::Error>().is_some())
    {
        return TransportKind::Tls;
    }
    for err in errors {
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            match io.kind() {
                std::io::ErrorKind::ConnectionRefused => return TransportKind::Refused,
                std::io::ErrorKind::TimedOut => return TransportKind::Timeout,
                _ => {}
            }
        }
        let text = err.to_string().to_ascii_lowercase();
        if text.contains("dns error") || text.contains("failed to lookup address") {
            return TransportKind::Dns;
        }
        if text.contains("certificate") || text.contains("tls") {
            return TransportKind::Tls;
        }
    }
    TransportKind::Other
}

/// `Authorization: Bearer TOKEN` (RFC 6750 §2.1), marked sensitive so no log
/// of the HTTP client shows it.
fn bearer(token: &str) -> Result<reqwest::header::HeaderValue, ProtocolError> {
    let mut value = reqwest::header::HeaderValue::from_str(&format!("Bearer {token}"))
        .map_err(|_| ProtocolError::Config("the token cannot be sent in a header".into()))?;
    value.set_sensitive(true);
    Ok(value)
}

/// Parse a JSON success body, or turn an error reply into the right [`ProtocolError`].
/// Bodies are never quoted in messages: they may hold tokens.
pub(crate) fn parse_reply<T: serde::de::DeserializeOwned>(
    reply: &Reply,
    url: &str,
) -> Result<T, ProtocolError> {
    let url = strip_query(url);
    // The body is read once, as a value, and the error document is taken
    // from that value: a body that repeats a member (`{"error":"slow_down",
    // "error":"slow_down"}`) is then the same error to both readings.
    let value = serde_json::from_slice::<serde_json::Value>(&reply.body).ok();
    let oauth_error = || {
        let value = value.clone().filter(serde_json::Value::is_object)?;
        serde_json::from_value::<OAuthError>(value)
            .ok()
            .filter(|e| !e.error.as_str().is_empty())
            .map(|e| OAuthError {
                status: reply.status,
                retry_after: reply.retry_after,
                ..e
            })
    };
    if (200..300).contains(&reply.status) {
        // Some servers (GitHub's device flow) answer errors with 200.
        if let Some(serde_json::Value::Object(map)) = &value
            && map.get("error").is_some_and(|e| e.is_string())
            && !map.contains_key("access_token")
            && let Some(err) = oauth_error()
        {
            return Err(ProtocolError::OAuth(err));
        }
        return serde_json::from_slice(&reply.body).map_err(|e| ProtocolError::BadResponse {
            url,
            what: if reply.is_json() || reply.body.first() == Some(&b'{') {
                format!("malformed JSON ({})", json_error_category(&e))
            } else {
                format!(
                    "expected JSON, got {}",
                    from_server(&reply.content_type, 60)
                )
            },
        });
    }
    if let Some(err) = oauth_error().or_else(|| www_authenticate_error(reply)) {
        return Err(ProtocolError::OAuth(err));
    }
    Err(ProtocolError::Status {
        status: reply.status,
        content_type: reply.content_type.clone(),
        url,
        retry_after: reply.retry_after,
    })
}

/// An OAuth error in a `WWW-Authenticate` header (a 401 without a JSON body,
/// RFC 6750 §3): `Bearer error="invalid_client", error_description="…"`.
fn www_authenticate_error(reply: &Reply) -> Option<OAuthError> {
    let header = reply.www_authenticate.as_deref()?;
    let param = |name: &str| {
        let start = header.find(&format!("{name}=\""))? + name.len() + 2;
        let len = header[start..].find('"')?;
        Some(header[start..start + len].to_string())
    };
    Some(OAuthError {
        error: ErrorCode::parse(&param("error").filter(|e| !e.is_empty())?),
        error_description: param("error_description"),
        interval: None,
        status: reply.status,
        retry_after: reply.retry_after,
    })
}

/// serde_json's message without any quoted input (it can echo values).
fn json_error_category(e: &serde_json::Error) -> String {
    use serde_json::error::Category;
    match e.classify() {
        Category::Syntax | Category::Eof => {
            format!("syntax error at line {} column {}", e.line(), e.column())
        }
        Category::Data => format!(
            "wrong field type at line {} column {}",
            e.line(),
            e.column()
        ),
        Category::Io => "read error".to_string(),
    }
}

#[cfg(test)]
#[path = "http_tests.rs"]
mod tests;
