//! Where a confidential client's credential comes from: flags and environment
//! (resolved by the settings layer into a [`ClientInput`]) or what an earlier
//! login stored. Used by client-credentials mode and by device logins of clients
//! that must authenticate (Google's device clients need their secret). The secret
//! itself is never stored.

use std::path::{Path, PathBuf};

use crate::credential::ClientSettings;
use crate::error::{Error, Result};
use crate::oidc::client_auth::{AssertionAudience, ClientAuth, CredentialSource, Method, Signer};
use crate::oidc::discovery::Metadata;
use crate::secret::Secret;
use crate::settings::ClientInput;

use super::Context;

/// Where the client's credential comes from, with what reading it needs (stdin,
/// and the clock and random source of signed assertions).
pub(crate) struct Source {
    secret_file: Option<String>,
    private_key: Option<String>,
    key_id: Option<String>,
    assertion_file: Option<String>,
    stdin: bool,
    secret_env: Option<Secret>,
    explicit_method: Option<Method>,
    assertion_audience: Option<AssertionAudience>,
    /// The grant and federated source, stored with the login.
    grant: crate::credential::MachineGrant,
    federated_spec: Option<String>,
    fingerprint: Option<String>,
    /// A CI platform's token fetched for this request: the client assertion
    /// of `--grant client_credentials --federated-token`.
    pub federated_assertion: Option<Secret>,
    io: crate::io::Io,
    clock: std::rc::Rc<dyn crate::clock::Clock>,
    rng: std::rc::Rc<dyn crate::clock::Rng>,
}

impl Source {
    /// From the command's input, falling back to what a login `stored`. A named
    /// source (secret file, stdin, key, assertion file) replaces the stored
    /// settings as a whole.
    pub fn new(ctx: &Context, input: &ClientInput, stored: Option<&ClientSettings>) -> Source {
        let path = |p: &Option<PathBuf>| p.as_ref().map(|p| p.display().to_string());
        let stored = if input.names_a_source() { None } else { stored };
        Source {
            secret_file: path(&input.secret_file)
                .or_else(|| stored.and_then(|s| s.secret_file.clone())),
            private_key: path(&input.private_key)
                .or_else(|| stored.and_then(|s| s.private_key.clone())),
            key_id: input
                .key_id
                .clone()
                .or_else(|| stored.and_then(|s| s.key_id.clone())),
            assertion_file: path(&input.assertion_file)
                .or_else(|| stored.and_then(|s| s.assertion_file.clone())),
            stdin: input.secret_stdin,
            secret_env: input.secret_env.clone(),
            assertion_audience: input
                .assertion_audience
                .or_else(|| stored.and_then(|s| s.assertion_audience)),
            explicit_method: input
                .method
                .or_else(|| stored.map(|s| s.auth).filter(|m| *m != Method::None)),
            grant: input.grant,
            federated_spec: input.federated.as_ref().map(|f| f.source.spec.clone()),
            fingerprint: input.federated_fingerprint(),
            federated_assertion: None,
            io: ctx.io.clone(),
            clock: ctx.clock.clone(),
            rng: ctx.rng.clone(),
        }
    }

    /// The client has a credential of its own to authenticate with (a method
    /// named now or stored, a secret, key or assertion); else, for the grants
    /// that trade a token, it is a public client.
    pub fn is_confidential(&self) -> bool {
        self.explicit_method.is_some()
            || self.secret_file.is_some()
            || self.private_key.is_some()
            || self.assertion_file.is_some()
            || self.stdin
            || self.secret_env.is_some()
            || self.federated_assertion.is_some()
    }

    /// What to store with the login: the method and paths, never the secret.
    fn stored_settings(&self, method: Method) -> ClientSettings {
        ClientSettings {
            auth: method,
            secret_file: self.secret_file.clone(),
            private_key: self.private_key.clone(),
            key_id: self.key_id.clone(),
            assertion_file: self.assertion_file.clone(),
            assertion_audience: self.assertion_audience,
            grant: Some(self.grant)
                .filter(|g| *g != crate::credential::MachineGrant::ClientCredentials),
            federated_token: self.federated_spec.clone(),
            fingerprint: self.fingerprint.clone(),
        }
    }

    fn read_secret(&self) -> Result<Secret> {
        let raw = if self.stdin {
            self.io.read_stdin(64 * 1024).map_err(|e| {
                Error::with_cause(
                    crate::error::Kind::Usage,
                    "cannot read the client secret from stdin",
                    e,
                )
            })?
        } else if let Some(secret) = &self.secret_env {
            secret.expose().to_string()
        } else if let Some(path) = &self.secret_file {
            crate::secret::read_file(std::path::Path::new(path), "client secret file")?
        } else {
            return Err(Error::usage(MISSING_SECRET));
        };
        let secret = raw.trim_end_matches(['\r', '\n']).to_string();
        if secret.is_empty() {
            return Err(Error::usage(format!(
                "the client secret is empty; {MISSING_SECRET}"
            )));
        }
        self.io.redact(&secret);
        Ok(Secret::new(secret))
    }
}

impl CredentialSource for Source {
    /// Explicit, else implied by a key or an assertion (else the issuer's
    /// metadata decides: [`crate::oidc::client_auth::negotiate`]).
    fn method(&self) -> Option<Method> {
        self.explicit_method.or_else(|| {
            (self.private_key.is_some()
                || self.assertion_file.is_some()
                || self.federated_assertion.is_some())
            .then_some(Method::PrivateKeyJwt)
        })
    }

    fn load(&self, method: Method) -> Result<ClientAuth> {
        if let (Method::PrivateKeyJwt, Some(jwt)) = (method, &self.federated_assertion) {
            return Ok(ClientAuth::Assertion(jwt.clone()));
        }
        Ok(match method {
            Method::ClientSecretBasic => ClientAuth::SecretBasic(self.read_secret()?),
            Method::ClientSecretPost => ClientAuth::SecretPost(self.read_secret()?),
            Method::PrivateKeyJwt => match (&self.private_key, &self.assertion_file) {
                (Some(key), _) => {
                    let pem = std::fs::read(key).map_err(|e| {
                        Error::with_cause(
                            crate::error::Kind::Usage,
                            format!("cannot read the private key {key}"),
                            e,
                        )
                    })?;
                    ClientAuth::PrivateKeyJwt(
                        Signer::from_pem(
                            &pem,
                            self.key_id.clone(),
                            &format!("private key {key}"),
                            self.clock.clone(),
                            self.rng.clone(),
                        )
                        .map_err(Error::from)?,
                    )
                }
                (None, Some(file)) => ClientAuth::AssertionFile(Path::new(file).to_path_buf()),
                (None, None) => {
                    return Err(Error::usage(
                        "private_key_jwt needs --private-key PATH (or VMAUTH_PRIVATE_KEY) or --client-assertion-file PATH",
                    ));
                }
            },
            Method::None => {
                return Err(Error::usage(
                    "client credentials need client authentication",
                ));
            }
        })
    }

    /// The issuer exactly as the metadata publishes it (Auth0 wants its
    /// trailing slash) when asked for; else the token endpoint (`None`).
    fn assertion_audience(&self, meta: &Metadata) -> Option<String> {
        (self.assertion_audience == Some(AssertionAudience::Issuer)).then(|| meta.issuer.clone())
    }

    fn settings(&self, method: Method) -> ClientSettings {
        self.stored_settings(method)
    }
}

const MISSING_SECRET: &str = "no client secret; set VMAUTH_CLIENT_SECRET, or use --client-secret-file PATH or --client-secret-stdin";
