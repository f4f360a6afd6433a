//! The issuer's signing keys and the ID tokens they verify.
//!
//! JSON Web Key Sets (RFC 7517, RFC 7518) and JWS signature verification with
//! `ring`: RS256/384/512, PS256/384/512, ES256/384 and EdDSA (Ed25519) with the
//! issuer's published keys; HS256/384/512 only with the client's own secret
//! (a public client has none, so an HMAC-signed ID token proves nothing);
//! `alg: none` never.
//!
//! The key set is cached for a day and fetched again (at most every 5
//! minutes) when it lacks a key or does not verify a signature; then the
//! claims are checked ([`crate::oidc::id_token`]).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::signature::{self, RsaPublicKeyComponents, UnparsedPublicKey};
use serde::Deserialize;

use super::{Provider, endpoint_gone};
use crate::oidc::client_auth::ClientAuth;
use crate::oidc::id_token::{Expected, check_id_token};

/// A key set as the issuer's `jwks_uri` publishes it. Keys vmauth cannot use
/// (other types, encryption keys, malformed ones) are skipped, not fatal.
#[derive(Debug, Clone, Default)]
pub struct Jwks {
    keys: Vec<Jwk>,
}

/// One public key.
#[derive(Debug, Clone, Deserialize)]
struct Jwk {
    kty: String,
    #[serde(default)]
    kid: Option<String>,
    #[serde(default)]
    alg: Option<String>,
    #[serde(default, rename = "use")]
    use_: Option<String>,
    #[serde(default)]
    n: Option<String>,
    #[serde(default)]
    e: Option<String>,
    #[serde(default)]
    crv: Option<String>,
    #[serde(default)]
    x: Option<String>,
    #[serde(default)]
    y: Option<String>,
}

impl Jwks {
    /// Parse a JWKS document; `None` when it is not one.
    pub fn parse(body: &[u8]) -> Option<Jwks> {
        #[derive(Deserialize)]
        struct Raw {
            keys: Vec<serde_json::Value>,
        }
        let raw: Raw = serde_json::from_slice(body).ok()?;
        Some(Jwks {
            keys: raw
                .keys
                .into_iter()
                .filter_map(|k| serde_json::from_value(k).ok())
                .collect(),
        })
    }

    /// Whether some key carries this `kid`.
    pub fn has_kid(&self, kid: &str) -> bool {
        self.keys.iter().any(|k| k.kid.as_deref() == Some(kid))
    }
}

/// The protected header of a JWS.
#[derive(Debug, Clone, Deserialize)]
pub struct Header {
    /// The signature algorithm.
    pub alg: String,
    /// Which key signed it.
    #[serde(default)]
    pub kid: Option<String>,
}

/// Why a signature was not accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VerifyError {
    /// Not a compact JWS.
    Malformed,
    /// `alg: none`.
    Unsigned,
    /// HMAC, and vmauth has no client secret to check it with.
    HmacWithoutSecret(String),
    /// An algorithm vmauth does not verify.
    UnsupportedAlg(String),
    /// The header names a key the key set does not have.
    UnknownKid(String),
    /// No key in the set fits the algorithm.
    NoKey(String),
    /// The signature does not verify.
    BadSignature,
}

impl std::fmt::Display for VerifyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = |t: &str| crate::error::from_server(t, 60);
        match self {
            VerifyError::Malformed => f.write_str("it is not a signed JWT"),
            VerifyError::Unsigned => f.write_str("it is not signed (alg none)"),
            VerifyError::HmacWithoutSecret(alg) => write!(
                f,
                "it is signed with {} (HMAC), which a public client cannot check",
                s(alg)
            ),
            VerifyError::UnsupportedAlg(alg) => {
                write!(f, "its signature algorithm {:?} is not supported", s(alg))
            }
            VerifyError::UnknownKid(kid) => write!(
                f,
                "it was signed with a key the issuer does not publish (kid {:?})",
                s(kid)
            ),
            VerifyError::NoKey(alg) => {
                write!(
                    f,
                    "the issuer publishes no key for its algorithm {}",
                    s(alg)
                )
            }
            VerifyError::BadSignature => f.write_str("its signature does not verify"),
        }
    }
}

fn b64(s: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(s.trim_end_matches('=')).ok()
}

/// The header of a compact JWS.
pub fn header(token: &str) -> Result<Header, VerifyError> {
    let h = token.split('.').next().ok_or(VerifyError::Malformed)?;
    serde_json::from_slice(&b64(h).ok_or(VerifyError::Malformed)?)
        .map_err(|_| VerifyError::Malformed)
}

/// The key type an algorithm needs.
fn kty_for(alg: &str) -> Option<&'static str> {
    match alg {
        "RS256" | "RS384" | "RS512" | "PS256" | "PS384" | "PS512" => Some("RSA"),
        "ES256" | "ES384" => Some("EC"),
        "EdDSA" => Some("OKP"),
        _ => None,
    }
}

/// Verify `token`'s signature with a key of `jwks` (or, for HMAC, the client
/// secret). Returns the algorithm that verified.
pub fn verify(
    token: &str,
    jwks: &Jwks,
    client_secret: Option<&str>,
) -> Result<String, VerifyError> {
    let mut parts = token.split('.');
    let (Some(h), Some(p), Some(sig), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(VerifyError::Malformed);
    };
    let header = header(token)?;
    let signed = format!("{h}.{p}");
    let sig = b64(sig).ok_or(VerifyError::Malformed)?;
    let alg = header.alg.as_str();
    if alg.eq_ignore_ascii_case("none") {
        return Err(VerifyError::Unsigned);
    }
    if let Some(hmac_alg) = match alg {
        "HS256" => Some(ring::hmac::HMAC_SHA256),
        "HS384" => Some(ring::hmac::HMAC_SHA384),
        "HS512" => Some(ring::hmac::HMAC_SHA512),
        _ => None,
    } {
        let secret = client_secret.ok_or_else(|| VerifyError::HmacWithoutSecret(alg.into()))?;
        let key = ring::hmac::Key::new(hmac_alg, secret.as_bytes());
        return ring::hmac::verify(&key, signed.as_bytes(), &sig)
            .map(|()| alg.to_string())
            .map_err(|_| VerifyError::BadSignature);
    }
    let kty = kty_for(alg).ok_or_else(|| VerifyError::UnsupportedAlg(alg.into()))?;
    let candidates: Vec<&Jwk> = jwks
        .keys
        .iter()
        .filter(|k| header.kid.is_none() || k.kid == header.kid)
        .filter(|k| k.kty == kty)
        .filter(|k| k.alg.as_deref().is_none_or(|a| a == alg))
        .filter(|k| k.use_.as_deref().is_none_or(|u| u == "sig"))
        .collect();
    if candidates.is_empty() {
        return Err(match &header.kid {
            Some(kid) if !jwks.has_kid(kid) => VerifyError::UnknownKid(kid.clone()),
            _ => VerifyError::NoKey(alg.into()),
        });
    }
    if candidates
        .iter()
        .any(|k| verify_with(k, alg, signed.as_bytes(), &sig))
    {
        Ok(alg.to_string())
    } else {
        Err(VerifyError::BadSignature)
    }
}

fn verify_with(k: &Jwk, alg: &str, signed: &[u8], sig: &[u8]) -> bool {
    let field = |v: &Option<String>| v.as_deref().and_then(b64);
    match alg {
        "RS256" | "RS384" | "RS512" | "PS256" | "PS384" | "PS512" => {
            let (Some(n), Some(e)) = (field(&k.n), field(&k.e)) else {
                return false;
            };
            let params: &signature::RsaParameters = match alg {
                "RS256" => &signature::RSA_PKCS1_2048_8192_SHA256,
                "RS384" => &signature::RSA_PKCS1_2048_8192_SHA384,
                "RS512" => &signature::RSA_PKCS1_2048_8192_SHA512,
                "PS256" => &signature::RSA_PSS_2048_8192_SHA256,
                "PS384" => &signature::RSA_PSS_2048_8192_SHA384,
                _ => &signature::RSA_PSS_2048_8192_SHA512,
            };
            RsaPublicKeyComponents { n: &n, e: &e }
                .verify(params, signed, sig)
                .is_ok()
        }
        "ES256" | "ES384" => {
            let (want_crv, params): (&str, &signature::EcdsaVerificationAlgorithm) =
                if alg == "ES256" {
                    ("P-256", &signature::ECDSA_P256_SHA256_FIXED)
                } else {
                    ("P-384", &signature::ECDSA_P384_SHA384_FIXED)
                };
            let (Some(x), Some(y)) = (field(&k.x), field(&k.y)) else {
                return false;
            };
            if k.crv.as_deref() != Some(want_crv) {
                return false;
            }
            let mut point = vec![0x04];
            point.extend_from_slice(&x);
            point.extend_from_slice(&y);
            UnparsedPublicKey::new(params, point)
                .verify(signed, sig)
                .is_ok()
        }
        "EdDSA" => {
            let Some(x) = field(&k.x) else {
                return false;
            };
            k.crv.as_deref() == Some("Ed25519")
                && UnparsedPublicKey::new(&signature::ED25519, x)
                    .verify(signed, sig)
                    .is_ok()
        }
        _ => false,
    }
}

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
        let h = header(id_token).map_err(refused)?;
        if h.alg.starts_with("HS") {
            verify(id_token, &Jwks::default(), secret).map_err(refused)?;
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
            let result = match verify(id_token, &set, secret) {
                Err(e) if stale_set(&e) && age.is_some_and(|a| a >= JWKS_REFETCH_AFTER) => {
                    let fresh = self.fetch_jwks(uri).await?;
                    verify(id_token, &fresh, secret)
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

#[cfg(test)]
#[path = "keys_tests.rs"]
mod tests;
