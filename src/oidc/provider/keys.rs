//! The issuer's signing keys and the ID tokens they verify: the key set cached
//! for a day, fetched again (at most every 5 minutes) when it lacks a key or
//! does not verify a signature, then the claims checked.

use super::{Provider, endpoint_gone};
use crate::oidc::client_auth::ClientAuth;
use crate::oidc::id_token::{Expected, check_id_token};
use crate::oidc::jwks::{self, Jwks, VerifyError};

/// How long a cached key set is used before it is fetched again.
pub const JWKS_MAX_AGE: i64 = 24 * 3600;
/// A key the cached set lacks (or a signature it does not verify) refetches it
/// only if it is at least this old.
pub const JWKS_REFETCH_AFTER: i64 = 5 * 60;

/// Why an ID token was not accepted.
#[derive(Debug)]
pub enum IdTokenFailure {
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

impl Provider<'_> {
    /// Check an ID token from this provider: its signature with the issuer's
    /// published keys (or, for HMAC, this client's secret), then its claims.
    /// The key set is cached for [`JWKS_MAX_AGE`]; a key it lacks (an unknown
    /// `kid`) or a signature it does not verify (a key rotated under the same
    /// `kid`) refetches it, at most once per call and once every
    /// [`JWKS_REFETCH_AFTER`].
    pub async fn verify_id_token(
        &self,
        id_token: &str,
        issuer: &str,
        client_id: &str,
    ) -> Result<(), IdTokenFailure> {
        let now = self.seams.clock.now_unix();
        let expected = Expected {
            issuer,
            published: &self.meta.issuer,
            client_id,
            now,
        };
        let secret = match &self.client.auth {
            ClientAuth::SecretBasic(s) | ClientAuth::SecretPost(s) => Some(s.expose()),
            _ => None,
        };
        let refused = |e: VerifyError| IdTokenFailure::Refused(e.to_string());
        let header = jwks::header(id_token).map_err(refused)?;
        if header.alg.starts_with("HS") {
            jwks::verify(id_token, &Jwks::default(), secret).map_err(refused)?;
        } else {
            let uri = self.meta.jwks_uri.as_deref().ok_or_else(|| {
                IdTokenFailure::KeysUnavailable("the issuer publishes no jwks_uri".into())
            })?;
            // A copy dated in the future (a clock that ran ahead) counts as stale.
            let cached = self
                .seams
                .cache
                .jwks(uri)
                .and_then(|(at, body)| Some((Jwks::parse(&body)?, now.saturating_sub(at))))
                .filter(|(_, age)| (0..JWKS_MAX_AGE).contains(age));
            let (set, age) = match cached {
                Some((set, age)) => (set, Some(age)),
                None => (self.fetch_jwks(uri).await?, None),
            };
            // A key the set lacks, or a signature it does not verify (the
            // issuer may have rotated a key under the same id): the issuer may
            // have changed its keys since the set was cached.
            let stale_set = |e: &VerifyError| {
                matches!(
                    e,
                    VerifyError::UnknownKid(_) | VerifyError::NoKey(_) | VerifyError::BadSignature
                )
            };
            let result = match jwks::verify(id_token, &set, secret) {
                Err(e) if stale_set(&e) && age.is_some_and(|a| a >= JWKS_REFETCH_AFTER) => {
                    let fresh = self.fetch_jwks(uri).await?;
                    jwks::verify(id_token, &fresh, secret)
                }
                r => r,
            };
            result.map_err(|e| match e {
                VerifyError::UnknownKid(_) | VerifyError::NoKey(_) => {
                    IdTokenFailure::KeysUnavailable(e.to_string())
                }
                e => IdTokenFailure::Refused(e.to_string()),
            })?;
        }
        check_id_token(id_token, &expected).map_err(IdTokenFailure::Refused)
    }

    async fn fetch_jwks(&self, uri: &str) -> Result<Jwks, IdTokenFailure> {
        let cache = self.seams.cache;
        let reply = self.http.get(uri).await.map_err(|e| {
            if self.cached && endpoint_gone(&e) {
                // The keys may have moved: the next call fetches the metadata.
                cache.forget_discovery(&self.id.issuer);
            }
            IdTokenFailure::KeysUnavailable(format!("its signature cannot be checked: {e}"))
        })?;
        if self.cached && matches!(reply.status, 404 | 405 | 410) {
            cache.forget_discovery(&self.id.issuer);
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
        if let Err(e) = cache.set_jwks(uri, self.seams.clock.now_unix(), &reply.body) {
            (self.seams.warn)(&format!("cannot cache the issuer's keys: {e}"));
        }
        Ok(set)
    }
}
