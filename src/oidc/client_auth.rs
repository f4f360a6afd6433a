//! Client authentication at the token endpoint (RFC 6749 §2.3, RFC 7523 §2.2):
//! none (public clients), `client_secret_basic`, `client_secret_post`,
//! `private_key_jwt` with a PEM key (RS256 / ES256, signed with ring), and a
//! pre-made assertion read from a file on every request.

use std::path::PathBuf;
use std::rc::Rc;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use ring::signature::{self, EcdsaKeyPair, RsaKeyPair};
use rustls_pki_types::PrivateKeyDer;
use rustls_pki_types::pem::PemObject;

use super::ProtocolError;
use crate::clock::{Clock, Rng};
use crate::secret::Secret;

/// Where a confidential client's credential comes from (files, stdin, the
/// environment, what a login stored): the command layer implements it, so the
/// protocol chooses the method and never reads a secret itself.
pub trait CredentialSource {
    /// The method asked for, or implied by a key or an assertion; `None`:
    /// choose from the issuer's metadata ([`negotiate`]).
    fn method(&self) -> Option<Method>;
    /// The client authentication for `method` (reads the secret or the key).
    fn load(&self, method: Method) -> crate::error::Result<ClientAuth>;
    /// The `aud` of signed assertions when it is not the token endpoint.
    fn assertion_audience(&self, meta: &super::discovery::Metadata) -> Option<String>;
    /// What to store with the login: the method and paths, never the secret.
    fn settings(&self, method: Method) -> crate::credential::ClientSettings;
}

/// The method to use: the one `wanted`, else `client_secret_basic`, or
/// `client_secret_post` when the issuer's `token_endpoint_auth_methods_supported`
/// lists only that one (RFC 8414 §2).
pub fn negotiate(wanted: Option<Method>, meta: &super::discovery::Metadata) -> Method {
    if let Some(m) = wanted {
        return m;
    }
    let supported = meta
        .token_endpoint_auth_methods_supported
        .as_deref()
        .unwrap_or(&[]);
    let has = |m: Method| supported.iter().any(|s| s == m.name());
    if !has(Method::ClientSecretBasic) && has(Method::ClientSecretPost) {
        Method::ClientSecretPost
    } else {
        Method::ClientSecretBasic
    }
}

/// RFC 7523 `client_assertion_type`.
pub const JWT_BEARER_ASSERTION: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

pub use crate::credential::{AssertionAudience, Method};

/// How the client proves who it is.
#[derive(Debug, Clone, Default)]
pub enum ClientAuth {
    /// A public client: `client_id` in the body only.
    #[default]
    None,
    /// `client_secret_basic`.
    SecretBasic(Secret),
    /// `client_secret_post`.
    SecretPost(Secret),
    /// A fresh signed assertion per request.
    PrivateKeyJwt(Signer),
    /// A JWT made elsewhere (a CI platform's federated token), re-read on every request.
    AssertionFile(PathBuf),
    /// A JWT made elsewhere, fetched for this request (a CI platform's token
    /// from `--federated-token`).
    Assertion(Secret),
}

impl ClientAuth {
    /// Add this method's parameters to `form`; returns an `Authorization` header
    /// value for Basic. `audience` is the token endpoint (the assertion's `aud`).
    pub fn apply(
        &self,
        client_id: &str,
        audience: &str,
        form: &mut Vec<(String, String)>,
    ) -> Result<Option<Secret>, ProtocolError> {
        match self {
            ClientAuth::None => Ok(None),
            ClientAuth::SecretBasic(secret) => {
                // RFC 6749 §2.3.1: form-urlencode id and secret before base64.
                form.retain(|(k, _)| k != "client_id");
                let pair = format!(
                    "{}:{}",
                    form_urlencode(client_id),
                    form_urlencode(secret.expose())
                );
                Ok(Some(Secret::new(format!(
                    "Basic {}",
                    STANDARD.encode(pair)
                ))))
            }
            ClientAuth::SecretPost(secret) => {
                form.push(("client_secret".into(), secret.expose().to_string()));
                Ok(None)
            }
            ClientAuth::PrivateKeyJwt(signer) => {
                let jwt = signer.assertion(client_id, audience)?;
                push_assertion(form, jwt);
                Ok(None)
            }
            ClientAuth::Assertion(jwt) => {
                push_assertion(form, jwt.expose().to_string());
                Ok(None)
            }
            ClientAuth::AssertionFile(path) => {
                // Put in place by the platform, trusted as every file vmauth
                // reads (this user's or root's, writable by its owner only),
                // bounded and never blocking.
                let bytes = crate::fsutil::read_placed(path, 64 << 10).map_err(|e| {
                    ProtocolError::Config(format!(
                        "cannot use the client assertion file: {}",
                        e.message()
                    ))
                })?;
                let jwt = String::from_utf8_lossy(&bytes);
                let jwt = jwt.trim();
                if jwt.split('.').count() != 3 {
                    return Err(ProtocolError::Config(format!(
                        "the client assertion file {} does not hold a JWT",
                        path.display()
                    )));
                }
                push_assertion(form, jwt.to_string());
                Ok(None)
            }
        }
    }
}

fn push_assertion(form: &mut Vec<(String, String)>, jwt: String) {
    form.push(("client_assertion_type".into(), JWT_BEARER_ASSERTION.into()));
    form.push(("client_assertion".into(), jwt));
}

/// `application/x-www-form-urlencoded` encoding of one value.
fn form_urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[derive(Clone)]
enum Key {
    Rsa(std::sync::Arc<RsaKeyPair>),
    Ec(std::sync::Arc<EcdsaKeyPair>),
}

/// Signs RFC 7523 client assertions with a private key, at the time its clock
/// says and with ids from its random source.
#[derive(Clone)]
pub struct Signer {
    key: Key,
    key_id: Option<String>,
    clock: Rc<dyn Clock>,
    rng: Rc<dyn Rng>,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer")
            .field("alg", &self.alg())
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

impl Signer {
    /// Load a PEM private key: PKCS#8 (RSA or P-256) or PKCS#1 RSA. `what`
    /// names the key in messages.
    pub fn from_pem(
        pem: &[u8],
        key_id: Option<String>,
        what: &str,
        clock: Rc<dyn Clock>,
        rng: Rc<dyn Rng>,
    ) -> Result<Signer, ProtocolError> {
        let bad = |why: &str| ProtocolError::Config(format!("{what}: {why}"));
        let der = PrivateKeyDer::from_pem_slice(pem).map_err(|_| {
            bad("no PEM private key found; give a PKCS#8 (BEGIN PRIVATE KEY) or RSA key")
        })?;
        // ring says why it rejects a key: "WrongAlgorithm" means try the next
        // kind; anything else means the key is of that kind but damaged or weak.
        let damaged = |kind: &str, e: ring::error::KeyRejected| {
            bad(&format!(
                "the {kind} key is damaged or not usable ({e}); export it again (PKCS#8, RSA of 2048+ bits or P-256)"
            ))
        };
        let wrong_kind = |e: &ring::error::KeyRejected| e.to_string() == "WrongAlgorithm";
        let key = match &der {
            PrivateKeyDer::Pkcs8(k) => match RsaKeyPair::from_pkcs8(k.secret_pkcs8_der()) {
                Ok(rsa) => Key::Rsa(rsa.into()),
                Err(e) if !wrong_kind(&e) => return Err(damaged("RSA", e)),
                Err(_) => match EcdsaKeyPair::from_pkcs8(
                    &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
                    k.secret_pkcs8_der(),
                    rng.secure(),
                ) {
                    Ok(ec) => Key::Ec(ec.into()),
                    Err(e) if !wrong_kind(&e) => return Err(damaged("EC", e)),
                    Err(_) => {
                        return Err(bad(
                            "unsupported key type; use an RSA (2048+ bits) or P-256 EC key",
                        ));
                    }
                },
            },
            PrivateKeyDer::Pkcs1(k) => RsaKeyPair::from_der(k.secret_pkcs1_der())
                .map(|rsa| Key::Rsa(rsa.into()))
                .map_err(|e| damaged("RSA", e))?,
            PrivateKeyDer::Sec1(_) => {
                return Err(bad(
                    "SEC1 EC keys are not supported; convert with: openssl pkcs8 -topk8 -nocrypt -in KEY -out key.p8.pem",
                ));
            }
            _ => return Err(bad("unsupported key type")),
        };
        let signer = Signer {
            key,
            key_id,
            clock,
            rng,
        };
        // ring accepts some damaged RSA keys (a wrong CRT exponent) that then
        // cannot sign: find out now, not at the first token request.
        signer
            .sign(b"vmauth key check")
            .map_err(|_| bad("the key is damaged: it cannot sign; export it again"))?;
        Ok(signer)
    }

    /// A signature of `message` with this key.
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, ring::error::Unspecified> {
        match &self.key {
            Key::Rsa(k) => {
                let mut sig = vec![0; k.public().modulus_len()];
                k.sign(
                    &signature::RSA_PKCS1_SHA256,
                    self.rng.secure(),
                    message,
                    &mut sig,
                )?;
                Ok(sig)
            }
            Key::Ec(k) => Ok(k.sign(self.rng.secure(), message)?.as_ref().to_vec()),
        }
    }

    /// The JWS algorithm of this key.
    pub fn alg(&self) -> &'static str {
        match self.key {
            Key::Rsa(_) => "RS256",
            Key::Ec(_) => "ES256",
        }
    }

    /// A fresh assertion: `iss` = `sub` = client id, `aud` = token endpoint, unique
    /// `jti`, `exp` one minute ahead.
    pub fn assertion(&self, client_id: &str, audience: &str) -> Result<String, ProtocolError> {
        let mut jti = [0u8; 16];
        self.rng
            .fill(&mut jti)
            .map_err(|_| ProtocolError::Config("no system randomness".into()))?;
        let now = self.clock.now_unix();
        let mut header = serde_json::json!({"alg": self.alg(), "typ": "JWT"});
        if let Some(kid) = &self.key_id {
            header["kid"] = kid.clone().into();
        }
        let claims = serde_json::json!({
            "iss": client_id,
            "sub": client_id,
            "aud": audience,
            "jti": URL_SAFE_NO_PAD.encode(jti),
            "iat": now,
            "exp": now + 60,
        });
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let sig = self
            .sign(signing_input.as_bytes())
            .map_err(|_| ProtocolError::Config("cannot sign the client assertion".into()))?;
        Ok(format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(sig)))
    }
}

#[cfg(test)]
#[path = "client_auth_tests.rs"]
mod tests;
