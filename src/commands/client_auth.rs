//! Client authentication for confidential clients, resolved from flags, the
//! environment and what an earlier login stored: used by client-credentials mode
//! and by device logins of clients that must authenticate (Google's device
//! clients need their secret). The secret itself is never stored.

use std::io::Read;
use std::path::Path;

use crate::cli::ClientAuthArgs;
use crate::error::{Error, Result};
use crate::oidc::client_auth::{ClientAuth, Method, Signer};
use crate::oidc::discovery::Metadata;
use crate::secret::Secret;
use crate::store::ClientSettings;

use super::Context;

/// Where the client's credential comes from, resolved from flags, environment and
/// what a previous login stored.
pub struct Source {
    secret_file: Option<String>,
    private_key: Option<String>,
    key_id: Option<String>,
    assertion_file: Option<String>,
    stdin: bool,
    explicit_method: Option<Method>,
    /// `issuer` or `token-endpoint` (the default).
    assertion_audience: Option<String>,
}

impl Source {
    pub fn new(args: &ClientAuthArgs, stored: Option<&ClientSettings>) -> Source {
        let path = |p: &Option<std::path::PathBuf>| p.as_ref().map(|p| p.display().to_string());
        let given = args.client_secret_file.is_some()
            || args.client_secret_stdin
            || args.private_key.is_some()
            || args.client_assertion_file.is_some();
        // Flags replace the stored settings as a whole; otherwise reuse them.
        let stored = if given { None } else { stored };
        Source {
            secret_file: path(&args.client_secret_file)
                .or_else(|| stored.and_then(|s| s.secret_file.clone())),
            private_key: path(&args.private_key)
                .or_else(|| stored.and_then(|s| s.private_key.clone())),
            key_id: args
                .key_id
                .clone()
                .or_else(|| stored.and_then(|s| s.key_id.clone())),
            assertion_file: path(&args.client_assertion_file)
                .or_else(|| stored.and_then(|s| s.assertion_file.clone())),
            stdin: args.client_secret_stdin,
            assertion_audience: args
                .assertion_audience
                .clone()
                .or_else(|| stored.and_then(|s| s.assertion_audience.clone())),
            explicit_method: args
                .client_auth
                .as_deref()
                .and_then(Method::parse)
                .or_else(|| stored.and_then(|s| Method::parse(&s.auth))),
        }
    }

    pub fn settings(&self, method: Method) -> ClientSettings {
        ClientSettings {
            auth: method.name().to_string(),
            secret_file: self.secret_file.clone(),
            private_key: self.private_key.clone(),
            key_id: self.key_id.clone(),
            assertion_file: self.assertion_file.clone(),
            assertion_audience: self.assertion_audience.clone(),
        }
    }

    /// Whether the command line asks for client authentication at all.
    pub fn requested(args: &ClientAuthArgs) -> bool {
        args.client_auth.is_some()
            || args.client_secret_file.is_some()
            || args.client_secret_stdin
            || args.private_key.is_some()
            || args.client_assertion_file.is_some()
    }

    /// The `aud` for signed assertions, when it is not the token endpoint: the
    /// issuer exactly as the metadata publishes it (Auth0 wants its trailing slash).
    pub fn assertion_audience(&self, meta: &Metadata) -> Option<String> {
        (self.assertion_audience.as_deref() == Some("issuer")).then(|| meta.issuer.clone())
    }
}

const MISSING_SECRET: &str = "no client secret; set VMAUTH_CLIENT_SECRET, or use --client-secret-file PATH or --client-secret-stdin";

fn read_secret(ctx: &Context, src: &Source) -> Result<Secret> {
    let raw = if src.stdin {
        let mut s = String::new();
        std::io::stdin()
            .take(64 * 1024)
            .read_to_string(&mut s)
            .map_err(|e| Error::usage(format!("cannot read the client secret from stdin: {e}")))?;
        s
    } else if let Some(env) = ctx
        .env
        .var("VMAUTH_CLIENT_SECRET")
        .filter(|v| !v.is_empty())
    {
        env
    } else if let Some(path) = &src.secret_file {
        std::fs::read_to_string(path)
            .map_err(|e| Error::usage(format!("cannot read the client secret file {path}: {e}")))?
    } else {
        return Err(Error::usage(MISSING_SECRET));
    };
    let secret = raw.trim_end_matches(['\r', '\n']).to_string();
    if secret.is_empty() {
        return Err(Error::usage(format!(
            "the client secret is empty; {MISSING_SECRET}"
        )));
    }
    Ok(Secret::new(secret))
}

/// Choose the method and build the client authentication.
pub fn resolve(ctx: &Context, src: &Source, meta: &Metadata) -> Result<(ClientAuth, Method)> {
    let method = match src.explicit_method {
        Some(m) => m,
        None if src.private_key.is_some() || src.assertion_file.is_some() => Method::PrivateKeyJwt,
        None => {
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
    };
    let auth = match method {
        Method::ClientSecretBasic => ClientAuth::SecretBasic(read_secret(ctx, src)?),
        Method::ClientSecretPost => ClientAuth::SecretPost(read_secret(ctx, src)?),
        Method::PrivateKeyJwt => match (&src.private_key, &src.assertion_file) {
            (Some(key), _) => {
                let pem = std::fs::read(key)
                    .map_err(|e| Error::usage(format!("cannot read the private key {key}: {e}")))?;
                ClientAuth::PrivateKeyJwt(
                    Signer::from_pem(&pem, src.key_id.clone(), &format!("private key {key}"))
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
    };
    Ok((auth, method))
}
