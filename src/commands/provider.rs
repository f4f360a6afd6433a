//! One conversation with an identity provider: the HTTP client, the issuer's
//! metadata, and the client's request (id, authentication, audience, resources,
//! scopes), set up once per command and used by login, refresh, client
//! credentials and logout.

use std::time::Duration;

use crate::credential::{ClientSettings, LoginId};
use crate::error::{Error, Result};
use crate::oidc::ProtocolError;
use crate::oidc::client_auth::ClientAuth;
use crate::oidc::discovery::{self, Metadata, discover};
use crate::oidc::grant::ClientRequest;
use crate::oidc::http::TransportKind;
use crate::oidc::http::{Http, Timeouts};
use crate::oidc::id_token::{Expected, check_id_token};
use crate::oidc::jwks::{self, Jwks, VerifyError};

use super::Context;
use super::client_source::Source;

/// How long cached issuer metadata is used before it is fetched again (an
/// endpoint that fails as if it had moved refetches it sooner).
pub(crate) const DISCOVERY_MAX_AGE: i64 = 24 * 3600;
/// How long a cached key set is used before it is fetched again.
pub(crate) const JWKS_MAX_AGE: i64 = 24 * 3600;
/// A key id the cached set lacks refetches it only if it is at least this old.
pub(crate) const JWKS_REFETCH_AFTER: i64 = 5 * 60;

/// Why an ID token was not accepted.
#[derive(Debug)]
pub(crate) enum IdTokenFailure {
    /// The issuer's keys could not be had (or lack the token's key): nothing is
    /// known to be wrong with the token.
    KeysUnavailable(String),
    /// The token is wrong: bad signature, wrong issuer or audience, expired.
    Refused(String),
}

impl std::fmt::Display for IdTokenFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            IdTokenFailure::KeysUnavailable(w) | IdTokenFailure::Refused(w) => f.write_str(w),
        }
    }
}

/// A provider session.
pub(crate) struct Provider<'a> {
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
}

/// What to ask for.
#[derive(Default, Clone, Copy)]
pub(crate) struct Ask<'a> {
    /// Scopes.
    pub scopes: &'a [String],
    /// RFC 8707 resources.
    pub resources: &'a [String],
    /// Client authentication, for a confidential client.
    pub auth: Option<&'a Source>,
}

/// The HTTP client with vmauth's timeouts: `total` per request, connecting at
/// most 10 s of it.
pub(crate) fn http(total: Duration) -> Result<Http> {
    Http::new(Timeouts {
        connect: total.min(Duration::from_secs(10)),
        total,
    })
    .map_err(Error::from)
}

/// A profile's endpoints replace the metadata's, under the same HTTPS rules.
/// An endpoint on another host than the issuer's is refused unless the profile
/// trusts that host (`trusted_endpoint_hosts`); one it trusts is named in the
/// returned notices (who receives the tokens).
fn apply_overrides(
    meta: &mut Metadata,
    issuer: &str,
    o: &crate::settings::SelectedProfile,
) -> Result<Vec<String>> {
    let e = &o.endpoints;
    let issuer_host = url::Url::parse(issuer)
        .ok()
        .and_then(|u| u.host_str().map(str::to_ascii_lowercase))
        .unwrap_or_default();
    let mut notices = Vec::new();
    for (value, slot, what) in [
        (
            &e.device_authorization,
            &mut meta.device_authorization_endpoint,
            "device_authorization_endpoint",
        ),
        (&e.token, &mut meta.token_endpoint, "token_endpoint"),
        (
            &e.revocation,
            &mut meta.revocation_endpoint,
            "revocation_endpoint",
        ),
        (
            &e.userinfo,
            &mut meta.userinfo_endpoint,
            "userinfo_endpoint",
        ),
    ] {
        let Some(url) = value else { continue };
        let parsed = crate::oidc::http::require_secure(url, &format!("profile {what}"))?;
        let host = parsed.host_str().unwrap_or("").to_ascii_lowercase();
        if host != issuer_host {
            if !o
                .trusted_hosts
                .iter()
                .any(|t| t.trim().trim_end_matches('.').eq_ignore_ascii_case(&host))
            {
                return Err(Error::usage(format!(
                    "profile {:?} sets {what} on {host}, not on the issuer's host {issuer_host}; tokens would go there, so it is not used. If {host} is your provider's, add trusted_endpoint_hosts = [\"{host}\"] to [profiles.{}]",
                    o.profile, o.profile
                )));
            }
            notices.push(format!(
                "profile {:?}: the {what} is on {host}, not on the issuer's host {issuer_host} (trusted_endpoint_hosts); requests with tokens go there",
                o.profile
            ));
        }
        *slot = Some(url.clone());
    }
    Ok(notices)
}

/// Whether a failure at an endpoint says the endpoint is not there (any more):
/// nothing answers (connection refused, unknown host) or the server has no
/// such resource (404, 405, 410). The request was not processed, so it can be
/// sent again elsewhere. A TLS failure is not one of these: it may come after
/// the request (a refresh token) was sent.
fn endpoint_gone(e: &ProtocolError) -> bool {
    match e {
        ProtocolError::Transport { kind, .. } => {
            matches!(kind, TransportKind::Refused | TransportKind::Dns)
        }
        // An OAuth error body, even with a 404, came from the OAuth server.
        ProtocolError::Status { status, .. } => matches!(status, 404 | 405 | 410),
        _ => false,
    }
}

/// The cached metadata of `issuer`, if fetched less than [`DISCOVERY_MAX_AGE`]
/// ago and still passing every check a fetched document must pass. A cached
/// document that fails them is removed.
fn cached_metadata(ctx: &Context, issuer: &str) -> Option<Metadata> {
    let (at, url, body) = ctx.state.discovery(issuer)?;
    // A copy dated in the future (a clock that ran ahead) counts as stale.
    if !(0..DISCOVERY_MAX_AGE).contains(&ctx.now().saturating_sub(at)) {
        return None;
    }
    match discovery::from_cache(issuer, &url, &body) {
        Ok(meta) => Some(meta),
        Err(_) => {
            ctx.state.forget_discovery(issuer);
            None
        }
    }
}

/// Fetch the metadata of `issuer` and cache it.
async fn fetch_metadata(ctx: &Context, http: &Http, issuer: &str) -> Result<Metadata> {
    let found = discover(http, issuer).await?;
    if let Err(e) = ctx
        .state
        .set_discovery(issuer, &found.url, ctx.now(), &found.body)
    {
        ctx.ui.warn(&format!(
            "cannot cache the issuer's metadata: {}",
            e.message()
        ));
    }
    Ok(found.meta)
}

impl<'a> Provider<'a> {
    /// Discover `id.issuer` (its cached metadata while fresh) and build the
    /// client's request.
    pub async fn open(
        ctx: &Context,
        id: &LoginId,
        ask: Ask<'a>,
        timeout: Duration,
    ) -> Result<Provider<'a>> {
        Self::open_with(ctx, id, ask, timeout, true).await
    }

    /// [`Provider::open`] with metadata fetched now, whatever the cache holds:
    /// a login starts from what the issuer publishes now.
    pub async fn open_fresh(
        ctx: &Context,
        id: &LoginId,
        ask: Ask<'a>,
        timeout: Duration,
    ) -> Result<Provider<'a>> {
        Self::open_with(ctx, id, ask, timeout, false).await
    }

    async fn open_with(
        ctx: &Context,
        id: &LoginId,
        ask: Ask<'a>,
        timeout: Duration,
        use_cache: bool,
    ) -> Result<Provider<'a>> {
        let http = http(timeout)?;
        let cached = use_cache
            .then(|| cached_metadata(ctx, &id.issuer))
            .flatten();
        let from_cache = cached.is_some();
        let mut meta = match cached {
            Some(meta) => meta,
            None => fetch_metadata(ctx, &http, &id.issuer).await?,
        };
        if let Some(o) = ctx.overrides_for(&id.cache_key()) {
            for notice in apply_overrides(&mut meta, &id.issuer, o)? {
                ctx.ui.warn(&notice);
            }
        }
        let mut client = ClientRequest {
            client_id: id.client_id.clone(),
            scopes: ask.scopes.to_vec(),
            audience: id.audience.clone(),
            resources: ask.resources.to_vec(),
            ..Default::default()
        };
        let mut client_settings = None;
        if let Some(src) = ask.auth {
            let (auth, method) = src.resolve(ctx, &meta)?;
            client.auth = auth;
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
        })
    }

    /// After `e` at the endpoint `pick` names: when the metadata came from the
    /// cache and `e` says the endpoint is not there, fetch the metadata again
    /// (and cache it). True when it now names another endpoint, so the request,
    /// which was not processed, is worth sending once more, there.
    async fn refetched(
        &mut self,
        ctx: &Context,
        e: &ProtocolError,
        pick: fn(&Metadata) -> Option<&str>,
    ) -> bool {
        if !self.cached || !endpoint_gone(e) {
            return false;
        }
        self.cached = false;
        let Ok(mut meta) = fetch_metadata(ctx, &self.http, &self.id.issuer).await else {
            // The cached endpoint is gone and the issuer cannot say where it
            // went: fetch the metadata next time rather than trust the copy.
            ctx.state.forget_discovery(&self.id.issuer);
            return false;
        };
        if let Some(o) = ctx.overrides_for(&self.id.cache_key())
            && apply_overrides(&mut meta, &self.id.issuer, o).is_err()
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
    /// another one (see [`Provider::refetched`]).
    pub async fn send<T>(
        &mut self,
        ctx: &Context,
        pick: fn(&Metadata) -> Option<&str>,
        send: impl AsyncFn(&Provider<'a>) -> Result<T, ProtocolError>,
    ) -> Result<T, ProtocolError> {
        let result = send(self).await;
        match &result {
            Err(e) if self.refetched(ctx, e, pick).await && pick(&self.meta).is_some() => {
                send(self).await
            }
            _ => result,
        }
    }

    /// Check an ID token from this provider: its signature with the issuer's
    /// published keys (or, for HMAC, this client's secret), then its claims.
    /// The key set is cached in the state directory for [`JWKS_MAX_AGE`]; a key it
    /// lacks (an unknown `kid`, or a bad signature from a token without one)
    /// refetches it, at most once per call and once every [`JWKS_REFETCH_AFTER`].
    /// Returns the algorithm that verified.
    pub async fn verify_id_token(
        &self,
        ctx: &Context,
        id_token: &str,
        issuer: &str,
        client_id: &str,
    ) -> Result<String, IdTokenFailure> {
        let expected = Expected {
            issuer,
            published: &self.meta.issuer,
            client_id,
            now: ctx.now(),
        };
        let secret = match &self.client.auth {
            ClientAuth::SecretBasic(s) | ClientAuth::SecretPost(s) => Some(s.expose()),
            _ => None,
        };
        let refused = |e: VerifyError| IdTokenFailure::Refused(e.to_string());
        let header = jwks::header(id_token).map_err(refused)?;
        let alg = if header.alg.starts_with("HS") {
            jwks::verify(id_token, &Jwks::default(), secret).map_err(refused)?
        } else {
            let uri = self.meta.jwks_uri.as_deref().ok_or_else(|| {
                IdTokenFailure::KeysUnavailable("the issuer publishes no jwks_uri".into())
            })?;
            let now = ctx.now();
            // A copy dated in the future (a clock that ran ahead) counts as stale.
            let cached = ctx
                .state
                .jwks(uri)
                .and_then(|(at, body)| Some((Jwks::parse(&body)?, now.saturating_sub(at))))
                .filter(|(_, age)| (0..JWKS_MAX_AGE).contains(age));
            let (set, age) = match cached {
                Some((set, age)) => (set, Some(age)),
                None => (self.fetch_jwks(ctx, uri).await?, None),
            };
            let missing_key = |e: &VerifyError| match e {
                VerifyError::UnknownKid(_) | VerifyError::NoKey(_) => true,
                // A bad signature with a kid: the issuer may have rotated the key
                // under the same id. Refetched too (at most every 5 minutes).
                VerifyError::BadSignature => true,
                _ => false,
            };
            let result = match jwks::verify(id_token, &set, secret) {
                Err(e) if missing_key(&e) && age.is_some_and(|a| a >= JWKS_REFETCH_AFTER) => {
                    // The issuer may have rotated its keys since the set was cached.
                    let fresh = self.fetch_jwks(ctx, uri).await?;
                    jwks::verify(id_token, &fresh, secret)
                }
                r => r,
            };
            result.map_err(|e| match e {
                VerifyError::UnknownKid(_) | VerifyError::NoKey(_) => {
                    IdTokenFailure::KeysUnavailable(e.to_string())
                }
                e => IdTokenFailure::Refused(e.to_string()),
            })?
        };
        check_id_token(id_token, &expected).map_err(IdTokenFailure::Refused)?;
        Ok(alg)
    }

    async fn fetch_jwks(&self, ctx: &Context, uri: &str) -> Result<Jwks, IdTokenFailure> {
        let reply = self.http.get(uri).await.map_err(|e| {
            if self.cached && endpoint_gone(&e) {
                // The keys may have moved: the next call fetches the metadata.
                ctx.state.forget_discovery(&self.id.issuer);
            }
            IdTokenFailure::KeysUnavailable(format!("its signature cannot be checked: {e}"))
        })?;
        if self.cached && matches!(reply.status, 404 | 405 | 410) {
            ctx.state.forget_discovery(&self.id.issuer);
        }
        let set = (reply.status == 200)
            .then(|| Jwks::parse(&reply.body))
            .flatten()
            .ok_or_else(|| {
                IdTokenFailure::KeysUnavailable(format!(
                    "its signature cannot be checked: {} answered HTTP {} without a key set",
                    crate::oidc::http::strip_query(uri),
                    reply.status
                ))
            })?;
        if let Err(e) = ctx.state.set_jwks(uri, ctx.now(), &reply.body) {
            ctx.ui.warn(&format!("cannot cache the issuer's keys: {e}"));
        }
        Ok(set)
    }

    /// The claims of the userinfo endpoint for `access_token` (OIDC Core §5.3),
    /// only those vmauth shows.
    pub async fn userinfo(
        &self,
        endpoint: &str,
        access_token: &str,
    ) -> Result<serde_json::Map<String, serde_json::Value>, Error> {
        let scrub = |e: crate::oidc::ProtocolError| {
            let bearer = crate::secret::Secret::new(format!("Bearer {access_token}"));
            e.scrubbed(&crate::oidc::request_secrets(&[], Some(&bearer)))
        };
        let reply = self
            .http
            .get_bearer(endpoint, access_token)
            .await
            .map_err(scrub)?;
        let claims: serde_json::Map<String, serde_json::Value> =
            crate::oidc::parse_reply(&reply, endpoint).map_err(scrub)?;
        Ok(super::SHOWN_CLAIMS
            .iter()
            .filter_map(|k| claims.get(*k).map(|v| (k.to_string(), v.clone())))
            .collect())
    }

    /// The token endpoint (checked present and secure by discovery).
    pub fn token_endpoint(&self) -> &str {
        self.meta.token_endpoint()
    }
}

#[cfg(test)]
#[path = "provider_tests.rs"]
mod tests;
