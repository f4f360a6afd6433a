//! One conversation with an identity provider: the HTTP client, the issuer's
//! metadata, and the client's request (id, authentication, audience, resources,
//! scopes), set up once per command and used by login, refresh, client
//! credentials and logout.

use std::time::Duration;

use crate::credential::{ClientSettings, LoginId};
use crate::error::{Error, Result};
use crate::oidc::client_auth::ClientAuth;
use crate::oidc::discovery::{Metadata, discover};
use crate::oidc::grant::ClientRequest;
use crate::oidc::http::{Http, Timeouts};
use crate::oidc::id_token::{Expected, check_id_token};
use crate::oidc::jwks::{self, Jwks, VerifyError};

use super::Context;
use super::client_source::Source;

/// How long a cached key set is used before it is fetched again.
pub(crate) const JWKS_MAX_AGE: i64 = 24 * 3600;
/// A key id the cached set lacks refetches it only if it is at least this old.
pub(crate) const JWKS_REFETCH_AFTER: i64 = 5 * 60;

/// A provider session.
pub(crate) struct Provider {
    /// The HTTP client, with the command's timeouts.
    pub http: Http,
    /// The issuer's metadata, checked.
    pub meta: Metadata,
    /// Who the client is and what it asks for.
    pub client: ClientRequest,
    /// How a confidential client authenticated (to store with the login).
    pub client_settings: Option<ClientSettings>,
}

/// What to ask for.
#[derive(Default)]
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
fn apply_overrides(meta: &mut Metadata, e: &crate::settings::Endpoints) -> Result<()> {
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
        if let Some(url) = value {
            crate::oidc::http::require_secure(url, &format!("profile {what}"))?;
            *slot = Some(url.clone());
        }
    }
    Ok(())
}

impl Provider {
    /// Discover `id.issuer` and build the client's request.
    pub async fn open(
        ctx: &Context,
        id: &LoginId,
        ask: Ask<'_>,
        timeout: Duration,
    ) -> Result<Provider> {
        let http = http(timeout)?;
        let mut meta = discover(&http, &id.issuer).await?;
        if let Some(p) = ctx.profile_of(&id.cache_key()) {
            apply_overrides(&mut meta, &p.endpoints)?;
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
        })
    }

    /// Check an ID token from this provider: its signature with the issuer's
    /// published keys (or, for HMAC, this client's secret), then its claims.
    /// The key set is cached in the state directory for [`JWKS_MAX_AGE`]; a key id
    /// it does not have refetches it, at most once per call and once every
    /// [`JWKS_REFETCH_AFTER`]. Returns the algorithm that verified.
    pub async fn verify_id_token(
        &self,
        ctx: &Context,
        id_token: &str,
        issuer: &str,
        client_id: &str,
    ) -> Result<String, String> {
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
        let header = jwks::header(id_token).map_err(|e| e.to_string())?;
        let alg = if header.alg.starts_with("HS") {
            jwks::verify(id_token, &Jwks::default(), secret).map_err(|e| e.to_string())?
        } else {
            let uri = self
                .meta
                .jwks_uri
                .as_deref()
                .ok_or("its signature cannot be checked: the issuer publishes no jwks_uri")?;
            let now = ctx.now();
            let cached = ctx
                .state
                .jwks(uri)
                .and_then(|(at, body)| Some((Jwks::parse(&body)?, now.saturating_sub(at))))
                .filter(|(_, age)| *age < JWKS_MAX_AGE);
            let (set, age) = match cached {
                Some((set, age)) => (set, Some(age)),
                None => (self.fetch_jwks(ctx, uri).await?, None),
            };
            match jwks::verify(id_token, &set, secret) {
                Err(VerifyError::UnknownKid(_) | VerifyError::NoKey(_))
                    if age.is_some_and(|a| a >= JWKS_REFETCH_AFTER) =>
                {
                    // The issuer may have rotated its keys since the set was cached.
                    let fresh = self.fetch_jwks(ctx, uri).await?;
                    jwks::verify(id_token, &fresh, secret)
                }
                r => r,
            }
            .map_err(|e| e.to_string())?
        };
        check_id_token(id_token, &expected)?;
        Ok(alg)
    }

    async fn fetch_jwks(&self, ctx: &Context, uri: &str) -> Result<Jwks, String> {
        let reply = self
            .http
            .get(uri)
            .await
            .map_err(|e| format!("its signature cannot be checked: {e}"))?;
        let set = (reply.status == 200)
            .then(|| Jwks::parse(&reply.body))
            .flatten()
            .ok_or_else(|| {
                format!(
                    "its signature cannot be checked: {} answered HTTP {} without a key set",
                    crate::oidc::http::strip_query(uri),
                    reply.status
                )
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
        let reply = self.http.get_bearer(endpoint, access_token).await?;
        let claims: serde_json::Map<String, serde_json::Value> =
            crate::oidc::parse_reply(&reply, endpoint)?;
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
