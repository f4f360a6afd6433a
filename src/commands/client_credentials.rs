//! Client-credentials mode (RFC 6749 §4.4) for CI jobs and services: shared by
//! `login --client-credentials` and `token --client-credentials`.
//!
//! The secret comes from `VMAUTH_CLIENT_SECRET`, `--client-secret-file` or
//! `--client-secret-stdin`, never from an argument, and is never stored. What is
//! stored with the token is how to get the next one (method and file paths).

use std::io::Read;
use std::path::Path;
use std::time::Duration;

use crate::cli::{ClientAuthArgs, RequestArgs};
use crate::config::LoginId;
use crate::error::{Error, Kind, Result};
use crate::oidc::ProtocolError;
use crate::oidc::client_auth::{ClientAuth, Method, Signer};
use crate::oidc::discovery::{Metadata, discover};
use crate::oidc::grant::{ClientRequest, client_credentials};
use crate::secret::Secret;
use crate::store::{ClientSettings, Credential, now_unix};

use super::{Context, expires_at, http, request_params, runtime};

/// Whether client-credentials mode is asked for: the flag, or `VMAUTH_GRANT`.
pub fn requested(ctx: &Context, args: &ClientAuthArgs) -> Result<bool> {
    if args.client_secret.is_some() {
        return Err(Error::usage(
            "--client-secret is not accepted: secrets on the command line leak into ps and shell history; set VMAUTH_CLIENT_SECRET, or use --client-secret-file PATH or --client-secret-stdin",
        ));
    }
    if args.client_credentials {
        return Ok(true);
    }
    match ctx.env.var("VMAUTH_GRANT").as_deref().map(str::trim) {
        None | Some("") | Some("device_code") => Ok(false),
        Some("client_credentials") => Ok(true),
        Some(other) => Err(Error::usage(format!(
            "VMAUTH_GRANT={other:?} is not a grant vmauth knows; use client_credentials or device_code"
        ))),
    }
}

/// Where the client's credential comes from, resolved from flags, environment and
/// what a previous login stored.
struct Source {
    secret_file: Option<String>,
    private_key: Option<String>,
    key_id: Option<String>,
    assertion_file: Option<String>,
    stdin: bool,
    explicit_method: Option<Method>,
}

impl Source {
    fn new(args: &ClientAuthArgs, stored: Option<&ClientSettings>) -> Source {
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
            explicit_method: args
                .client_auth
                .as_deref()
                .and_then(Method::parse)
                .or_else(|| stored.and_then(|s| Method::parse(&s.auth))),
        }
    }

    fn settings(&self, method: Method) -> ClientSettings {
        ClientSettings {
            auth: method.name().to_string(),
            secret_file: self.secret_file.clone(),
            private_key: self.private_key.clone(),
            key_id: self.key_id.clone(),
            assertion_file: self.assertion_file.clone(),
        }
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
fn client_auth(ctx: &Context, src: &Source, meta: &Metadata) -> Result<(ClientAuth, Method)> {
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

/// Request a token with the client credentials grant and build the credential to
/// store. `previous` supplies the stored settings when no flags are given.
pub fn fetch(
    ctx: &Context,
    id: &LoginId,
    request: &RequestArgs,
    args: &ClientAuthArgs,
    previous: Option<&Credential>,
) -> Result<Credential> {
    crate::oidc::http::require_secure(&id.issuer, "issuer")?;
    let stored = previous.and_then(|p| p.client_credentials.as_ref());
    let src = Source::new(args, stored);
    let (scopes, resources) = match (
        request.scope.is_some() || !request.resource.is_empty(),
        previous,
    ) {
        // A repeat request without new parameters asks for what the login asked for.
        (false, Some(p)) => (
            p.requested_scope
                .as_deref()
                .map(crate::config::parse_scopes)
                .unwrap_or_default(),
            p.resource.clone(),
        ),
        _ => request_params(ctx, request, "")?,
    };
    let rt = runtime()?;
    let (tokens, method) = rt.block_on(async {
        let http = http(Duration::from_secs(20))?;
        let meta = discover(&http, &id.issuer).await?;
        let (auth, method) = client_auth(ctx, &src, &meta)?;
        let client = ClientRequest {
            client_id: id.client_id.clone(),
            auth,
            scopes: scopes.clone(),
            audience: id.audience.clone(),
            resources: resources.clone(),
        };
        let tokens = client_credentials(&http, meta.token_endpoint(), &client)
            .await
            .map_err(explain)?;
        Ok::<_, Error>((tokens, method))
    })?;
    let now = now_unix();
    Ok(Credential {
        issuer: id.issuer.clone(),
        client_id: id.client_id.clone(),
        audience: id.audience.clone(),
        expires_at: expires_at(now, tokens.expires_in, &tokens.access_token),
        access_token: Secret::new(tokens.access_token),
        refresh_token: None,
        id_token: None,
        scope: tokens.scope,
        token_type: tokens.token_type,
        resource: resources,
        requested_scope: Some(scopes.join(" ")).filter(|s| !s.is_empty()),
        client_credentials: Some(src.settings(method)),
        extra: Default::default(),
    })
}

/// Client-credentials failures the user fixes in their configuration get exit 2.
fn explain(e: ProtocolError) -> Error {
    match e.oauth_code() {
        Some("invalid_client") | Some("unauthorized_client") => Error::new(
            Kind::Usage,
            format!(
                "the identity provider rejected the client credentials: {e}; check the client id and its secret or key"
            ),
        ),
        Some("invalid_target") => Error::new(
            Kind::Usage,
            format!(
                "the identity provider does not know that audience or resource: {e}; check --audience / --resource"
            ),
        ),
        Some("invalid_scope") => Error::new(
            Kind::Usage,
            format!("the identity provider refused the scopes: {e}; check --scope"),
        ),
        _ => Error::from(e).context("cannot get a token with the client credentials grant"),
    }
}
