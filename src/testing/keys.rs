//! Support for the crate's own tests: signing keys and JWTs signed with them, as
//! an identity provider would make them.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::rand::SystemRandom;
use ring::signature::{self, EcdsaKeyPair, Ed25519KeyPair, KeyPair, RsaKeyPair};
use rustls_pki_types::PrivateKeyDer;
use rustls_pki_types::pem::PemObject;
use serde_json::{Value, json};

/// A signing key with its public JWK.
pub(crate) enum TestKey {
    Rsa(RsaKeyPair, String),
    Ec(EcdsaKeyPair, String),
    Ed(Ed25519KeyPair, String),
}

fn b64(b: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(b)
}

impl TestKey {
    /// The project's RSA test key (tests/idp/keys), under `kid`.
    pub fn rsa(kid: &str) -> TestKey {
        let pem = include_bytes!("../../tests/idp/keys/vmauth-ci-jwt.private.pem");
        let der = PrivateKeyDer::from_pem_slice(pem).unwrap();
        let kp = match der {
            PrivateKeyDer::Pkcs8(k) => RsaKeyPair::from_pkcs8(k.secret_pkcs8_der()).unwrap(),
            PrivateKeyDer::Pkcs1(k) => RsaKeyPair::from_der(k.secret_pkcs1_der()).unwrap(),
            _ => panic!("not an RSA key"),
        };
        TestKey::Rsa(kp, kid.into())
    }

    /// A fresh P-256 key under `kid`.
    pub fn ec(kid: &str) -> TestKey {
        let rng = SystemRandom::new();
        let alg = &signature::ECDSA_P256_SHA256_FIXED_SIGNING;
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(alg, &rng).unwrap();
        TestKey::Ec(
            EcdsaKeyPair::from_pkcs8(alg, pkcs8.as_ref(), &rng).unwrap(),
            kid.into(),
        )
    }

    /// A fresh Ed25519 key under `kid`.
    pub fn ed(kid: &str) -> TestKey {
        let pkcs8 = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).unwrap();
        TestKey::Ed(
            Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap(),
            kid.into(),
        )
    }

    /// The public key as a JWK.
    pub fn jwk(&self) -> Value {
        match self {
            TestKey::Rsa(k, kid) => {
                let p: signature::RsaPublicKeyComponents<Vec<u8>> = k.public().into();
                let trim = |v: &[u8]| {
                    let start = v.iter().position(|b| *b != 0).unwrap_or(v.len());
                    b64(&v[start..])
                };
                json!({"kty": "RSA", "kid": kid, "use": "sig", "n": trim(&p.n), "e": trim(&p.e)})
            }
            TestKey::Ec(k, kid) => {
                let p = k.public_key().as_ref();
                json!({"kty": "EC", "kid": kid, "crv": "P-256", "alg": "ES256",
                       "x": b64(&p[1..33]), "y": b64(&p[33..65])})
            }
            TestKey::Ed(k, kid) => json!({"kty": "OKP", "kid": kid, "crv": "Ed25519",
                                          "x": b64(k.public_key().as_ref())}),
        }
    }

    /// The default algorithm of this key.
    pub fn alg(&self) -> &'static str {
        match self {
            TestKey::Rsa(..) => "RS256",
            TestKey::Ec(..) => "ES256",
            TestKey::Ed(..) => "EdDSA",
        }
    }

    fn kid(&self) -> &str {
        match self {
            TestKey::Rsa(_, k) | TestKey::Ec(_, k) | TestKey::Ed(_, k) => k,
        }
    }

    /// A JWT of `claims` signed with this key, with `alg` (RSA keys: RS* or PS*).
    pub fn sign_alg(&self, alg: &str, claims: &Value) -> String {
        let header = json!({"alg": alg, "kid": self.kid(), "typ": "JWT"});
        let input = format!(
            "{}.{}",
            b64(header.to_string().as_bytes()),
            b64(claims.to_string().as_bytes())
        );
        let rng = SystemRandom::new();
        let sig = match self {
            TestKey::Rsa(k, _) => {
                let enc: &dyn signature::RsaEncoding = match alg {
                    "RS256" => &signature::RSA_PKCS1_SHA256,
                    "RS384" => &signature::RSA_PKCS1_SHA384,
                    "RS512" => &signature::RSA_PKCS1_SHA512,
                    "PS256" => &signature::RSA_PSS_SHA256,
                    "PS384" => &signature::RSA_PSS_SHA384,
                    _ => &signature::RSA_PSS_SHA512,
                };
                let mut sig = vec![0; k.public().modulus_len()];
                k.sign(enc, &rng, input.as_bytes(), &mut sig).unwrap();
                sig
            }
            TestKey::Ec(k, _) => k.sign(&rng, input.as_bytes()).unwrap().as_ref().to_vec(),
            TestKey::Ed(k, _) => k.sign(input.as_bytes()).as_ref().to_vec(),
        };
        format!("{input}.{}", b64(&sig))
    }

    /// A JWT of `claims` signed with this key's default algorithm.
    pub fn sign(&self, claims: &Value) -> String {
        self.sign_alg(self.alg(), claims)
    }
}

/// A JWKS document of `keys`.
pub(crate) fn jwks(keys: &[&TestKey]) -> Value {
    json!({"keys": keys.iter().map(|k| k.jwk()).collect::<Vec<_>>()})
}
