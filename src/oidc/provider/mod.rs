//! One conversation with an identity provider: the HTTP client, the issuer's
//! metadata (cached, with its cache policy), endpoint overrides, the client's
//! request (id, authentication, audience, resources, scopes), the retry when a
//! cached endpoint has moved, and ID-token verification against the issuer's
//! keys (cached, refetched on rotation: `keys.rs`). Set up once per command and used by
//! every grant (device code, refresh, client credentials) and by revocation.
//!
//! A login's tokens, whatever the grant that got them, are accepted in one
//! place ([`Provider::accept_login`]): the ID token verified, or who logged in
//! asked of the userinfo endpoint.
//!
//! It reaches outside the protocol only through the [`Seams`] it is given: a
//! [`ProviderCache`] for metadata and keys, a warning sink, a sink for the
//! secrets it receives, the clock, and the endpoint overrides as plain data.

pub mod keys;

pub use keys::{IdTokenFailure, JWKS_MAX_AGE, JWKS_REFETCH_AFTER};

use std::time::Duration;

use super::ProtocolError;
use super::client_auth::CredentialSource;
use super::discovery::{self, EndpointOverrides, Metadata, discover};
use super::grant::ClientRequest;
use super::http::{Http, Timeouts, TransportKind};
use crate::clock::Clock;
use crate::credential::{ClientSettings, LoginId};
use crate::error::{Error, Result};

/// How long cached issuer metadata is used before it is fetched again (an
/// endpoint that fails as if it had moved refetches it sooner).
pub const DISCOVERY_MAX_AGE: i64 = 24 * 3600;
/// Where issuers' metadata and key sets are cached between commands.
pub trait ProviderCache {
    /// The cached metadata of `issuer`: when it was fetched (Unix seconds), the
    /// URL it came from and the document, unchecked.
    fn discovery(&self, issuer: &str) -> Option<(i64, String, Vec<u8>)>;
    /// Cache the metadata document `body` of `issuer`, fetched from `url` at `now`.
    fn set_discovery(&self, issuer: &str, url: &str, now: i64, body: &[u8]) -> Result<()>;
    /// Forget the cached metadata of `issuer`.
    fn forget_discovery(&self, issuer: &str);
    /// The cached key set of `uri`, with when it was fetched.
    fn jwks(&self, uri: &str) -> Option<(i64, Vec<u8>)>;
    /// Cache the key set `body` of `uri`, fetched at `now`.
    fn set_jwks(&self, uri: &str, now: i64, body: &[u8]) -> Result<()>;
}

/// What a provider session is given from outside the protocol.
#[derive(Clone, Copy)]
pub struct Seams<'a> {
    /// Metadata and key caches.
    pub cache: &'a dyn ProviderCache,
    /// Warnings for the person (the session never prints).
    pub warn: &'a dyn Fn(&str),
    /// Told each secret the session receives (tokens), before anything else
    /// is done with it, so no message can show it.
    pub secret: &'a dyn crate::secret::Sink,
    /// Time.
    pub clock: &'a dyn Clock,
    /// Randomness (PKCE verifiers, `state`, `nonce`).
    pub rng: &'a dyn crate::clock::Rng,
    /// Endpoints that replace the metadata's, for this login only.
    pub overrides: Option<&'a EndpointOverrides>,
}

/// What to ask for.
#[derive(Default, Clone, Copy)]
pub struct Ask<'a> {
    /// Scopes.
    pub scopes: &'a [String],
    /// RFC 8707 resources.
    pub resources: &'a [String],
    /// Client authentication, for a confidential client.
    pub auth: Option<&'a dyn CredentialSource>,
}

/// A login's tokens, accepted by [`Provider::accept_login`].
#[derive(Debug)]
pub struct Login {
    /// The tokens (the ID token, if any, verified).
    pub tokens: super::grant::TokenResponse,
    /// Who logged in, from the userinfo endpoint, when no ID token came.
    pub userinfo: Option<serde_json::Map<String, serde_json::Value>>,
    /// How a confidential client authenticated (to store with the login).
    pub client_auth: Option<ClientSettings>,
}

/// A provider session.
pub struct Provider<'a> {
    /// The HTTP client, with the command's timeouts.
    pub http: Http,
    /// The issuer's metadata, checked.
    pub meta: Metadata,
    /// Who the client is and what it asks for.
    pub client: ClientRequest,
    /// How a confidential client authenticated (to store with the login).
    pub client_settings: Option<ClientSettings>,
    /// The metadata came from the cache, so an endpoint may have moved since.
    cached: bool,
    id: LoginId,
    ask: Ask<'a>,
    seams: Seams<'a>,
}

/// The HTTP client with vmauth's timeouts: `total` per request, connecting at
/// most 10 s of it.
pub fn http(total: Duration) -> Result<Http> {
    Http::new(Timeouts {
        connect: total.min(Duration::from_secs(10)),
        total,
    })
    .map_err(Error::from)
}

/// Whether a failure at an endpoint says the endpoint is not there (any more):
/// nothing answers (connection refused, unknown host) or the server has no
/// such resource (404, 405, 410). The request was not processed, so it can be
/// sent again elsewhere. A TLS failure is not one of these: it may come after
/// the request (a refresh token) was sent.
pub(crate) fn endpoint_gone(e: &ProtocolError) -> bool {
    match e {
        ProtocolError::Transport { kind, .. } => {
            matches!(kind, TransportKind::Refused | TransportKind::Dns)
        }
        // An OAuth error body, even with a 404, came from the OAuth server.
        ProtocolError::Status { status, .. } => matches!(status, 404 | 405 | 410),
        _ => false,
    }
}

impl<'a> Seams<'a> {
    /// The cached metadata of `issuer`, if fetched less than
    /// [`DISCOVERY_MAX_AGE`] ago and still passing every check a fetched
    /// document must pass. A cached document that fails them is removed.
    fn cached_metadata(&self, issuer: &str) -> Option<Metadata> {
        let (at, url, body) = self.cache.discovery(issuer)?;
        // A copy dated in the future (a clock that ran ahead) counts as stale.
        if !(0..DISCOVERY_MAX_AGE).contains(&self.clock.now_unix().saturating_sub(at)) {
            return None;
        }
        match discovery::from_cache(issuer, &url, &body) {
            Ok(meta) => Some(meta),
            Err(_) => {
                self.cache.forget_discovery(issuer);
                None
            }
        }
    }

    /// Fetch the metadata of `issuer` and cache it.
    async fn fetch_metadata(&self, http: &Http, issuer: &str) -> Result<Metadata> {
        let found = discover(http, issuer).await?;
        if let Err(e) =
            self.cache
                .set_discovery(issuer, &found.url, self.clock.now_unix(), &found.body)
        {
            (self.warn)(&format!(
                "cannot cache the issuer's metadata: {}",
                e.message()
            ));
        }
        Ok(found.meta)
    }

    /// The overrides, applied to `meta` (with a notice for each that sends
    /// tokens to another host than the issuer's).
    fn apply_overrides(&self, meta: &mut Metadata, issuer: &str) -> Result<()> {
        if let Some(o) = self.overrides {
            for notice in o.apply(meta, issuer)? {
                (self.warn)(&notice);
            }
        }
        Ok(())
    }
}

/// Where [`Provider::open`] takes the issuer's metadata from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetadataSource {
    /// The cached copy while it is fresh, else the issuer's.
    Cached,
    /// What the issuer publishes now (a login starts from it).
    Fresh,
}

impl<'a> Provider<'a> {
    /// Discover `id.issuer` and build the client's request; `metadata` says
    /// whether cached metadata serves while fresh.
    pub async fn open(
        seams: Seams<'a>,
        id: &LoginId,
        ask: Ask<'a>,
        timeout: Duration,
        metadata: MetadataSource,
    ) -> Result<Provider<'a>> {
        let http = http(timeout)?;
        let cached = (metadata == MetadataSource::Cached)
            .then(|| seams.cached_metadata(&id.issuer))
            .flatten();
        let from_cache = cached.is_some();
        let mut meta = match cached {
            Some(meta) => meta,
            None => seams.fetch_metadata(&http, &id.issuer).await?,
        };
        seams.apply_overrides(&mut meta, &id.issuer)?;
        let mut client = ClientRequest {
            client_id: id.client_id.clone(),
            scopes: ask.scopes.to_vec(),
            // A login keyed by a resource (resource-first login) asks for it
            // as `resource` (RFC 8707) only, never also as an `audience`.
            audience: id.audience.clone().filter(|a| !ask.resources.contains(a)),
            resources: ask.resources.to_vec(),
            ..Default::default()
        };
        let mut client_settings = None;
        if let Some(src) = ask.auth {
            let method = super::client_auth::negotiate(src.method(), &meta);
            client.auth = src.load(method)?;
            client.assertion_audience = src.assertion_audience(&meta);
            client_settings = Some(src.settings(method));
        }
        Ok(Provider {
            http,
            meta,
            client,
            client_settings,
            cached: from_cache,
            id: id.clone(),
            ask,
            seams,
        })
    }

    /// After `e` at the endpoint `pick` names: when the metadata came from the
    /// cache and `e` says the endpoint is not there, fetch the metadata again
    /// (and cache it). True when it now names another endpoint, so the request,
    /// which was not processed, is worth sending once more, there.
    async fn refetched(&mut self, e: &ProtocolError, pick: fn(&Metadata) -> Option<&str>) -> bool {
        if !self.cached || !endpoint_gone(e) {
            return false;
        }
        self.cached = false;
        let seams = self.seams;
        let Ok(mut meta) = seams.fetch_metadata(&self.http, &self.id.issuer).await else {
            // The cached endpoint is gone and the issuer cannot say where it
            // went: fetch the metadata next time rather than trust the copy.
            seams.cache.forget_discovery(&self.id.issuer);
            return false;
        };
        // The overrides were applied (and their notices given) at open.
        if let Some(o) = seams.overrides
            && o.apply(&mut meta, &self.id.issuer).is_err()
        {
            return false;
        }
        if let Some(src) = self.ask.auth {
            // Signed assertions name the token endpoint (the secret, read once, stays).
            self.client.assertion_audience = src.assertion_audience(&meta);
        }
        let moved = pick(&meta) != pick(&self.meta);
        self.meta = meta;
        moved
    }

    /// Whether the metadata came from the cache (and may be out of date).
    pub fn metadata_cached(&self) -> bool {
        self.cached
    }

    /// `send` a request to the endpoint `pick` names; sent once more if it
    /// failed because a cached endpoint is gone and the issuer now names
    /// another one.
    pub async fn send<T>(
        &mut self,
        pick: fn(&Metadata) -> Option<&str>,
        send: impl AsyncFn(&Provider<'a>) -> Result<T, ProtocolError>,
    ) -> Result<T, ProtocolError> {
        let result = send(self).await;
        match &result {
            Err(e) if self.refetched(e, pick).await && pick(&self.meta).is_some() => {
                send(self).await
            }
            _ => result,
        }
    }

    /// The claims of the userinfo endpoint for `access_token` (OIDC Core §5.3).
    pub async fn userinfo(
        &self,
        endpoint: &str,
        access_token: &str,
    ) -> Result<serde_json::Map<String, serde_json::Value>, Error> {
        let scrub = |e: ProtocolError| {
            let bearer = crate::secret::Secret::new(format!("Bearer {access_token}"));
            e.scrubbed(&super::grant::request_secrets(&[], Some(&bearer)))
        };
        let reply = self
            .http
            .get_bearer(endpoint, access_token)
            .await
            .map_err(scrub)?;
        super::parse_reply(&reply, endpoint)
            .map_err(scrub)
            .map_err(Error::from)
    }

    /// A login's new tokens, accepted: registered as secrets; the ID token, if
    /// one came, verified ([`Provider::verify_id_token`]) and, when the sign-in
    /// sent a `nonce`, checked to carry it; else, when `openid`
    /// was granted (or asked for, if the answer names no scope) and the issuer
    /// has a userinfo endpoint, who logged in asked of it once (OIDC Core §5.3;
    /// django-oauth-toolkit sends no ID token on the device grant), keeping
    /// only the `shown` claims. A userinfo failure is a warning, not a failure.
    pub async fn accept_login(
        &self,
        tokens: super::grant::TokenResponse,
        asked: &[String],
        nonce: Option<&str>,
        shown: &[&str],
    ) -> Result<Login, IdTokenFailure> {
        self.seams.secret.keep(&tokens.access_token);
        for t in [&tokens.refresh_token, &tokens.id_token]
            .into_iter()
            .flatten()
        {
            self.seams.secret.keep(t);
        }
        if let Some(idt) = &tokens.id_token {
            self.verify_id_token(idt, &self.id.issuer, &self.id.client_id)
                .await?;
            if let Some(nonce) = nonce {
                super::id_token::check_nonce(idt, nonce).map_err(IdTokenFailure::Refused)?;
            }
        } else if nonce.is_some() {
            // OIDC Core §3.1.3.3: a sign-in that asked for openid gets an ID
            // token; without one, nothing ties the code to this sign-in.
            return Err(IdTokenFailure::Refused(
                "the sign-in asked for openid (with a nonce) but the answer has no id_token".into(),
            ));
        }
        let granted = tokens.scope.as_deref().map(crate::credential::parse_scopes);
        let openid = granted
            .as_deref()
            .unwrap_or(asked)
            .iter()
            .any(|s| s == "openid");
        let userinfo = match (&tokens.id_token, &self.meta.userinfo_endpoint) {
            (None, Some(endpoint)) if openid => {
                match self.userinfo(endpoint, &tokens.access_token).await {
                    Ok(claims) => Some(
                        claims
                            .into_iter()
                            .filter(|(k, _)| shown.contains(&k.as_str()))
                            .collect(),
                    ),
                    Err(e) => {
                        (self.seams.warn)(&format!("cannot tell who logged in: {e}"));
                        None
                    }
                }
            }
            _ => None,
        };
        Ok(Login {
            tokens,
            userinfo,
            client_auth: self.client_settings.clone(),
        })
    }

    /// The session's clock.
    pub fn clock(&self) -> &'a dyn Clock {
        self.seams.clock
    }

    /// Tell the secret seam that `value` is a secret from now on.
    pub fn keep_secret(&self, value: &str) {
        self.seams.secret.keep(value)
    }

    /// The session's random source.
    pub fn rng(&self) -> &'a dyn crate::clock::Rng {
        self.seams.rng
    }

    /// The token endpoint (checked present and secure by discovery).
    pub fn token_endpoint(&self) -> &str {
        self.meta.token_endpoint.as_deref().unwrap_or_default()
    }
}
