//! Client-credentials mode (RFC 6749 §4.4) for CI jobs and services: shared by
//! `login --client-credentials` and `token --client-credentials`.
//!
//! The secret comes from `VMAUTH_CLIENT_SECRET`, `--client-secret-file` or
//! `--client-secret-stdin`, never from an argument, and is never stored. What is
//! stored with the token is how to get the next one (method and file paths).

use std::time::Duration;

use crate::cli::{ClientAuthArgs, RequestArgs};
use crate::config::LoginId;
use crate::error::{Error, Kind, Result};
use crate::oidc::ProtocolError;
use crate::oidc::discovery::discover;
use crate::oidc::grant::{ClientRequest, client_credentials};
use crate::secret::Secret;
use crate::store::{Credential, now_unix};

use super::client_auth::{Source, resolve};
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
        let (auth, method) = resolve(ctx, &src, &meta)?;
        let client = ClientRequest {
            client_id: id.client_id.clone(),
            assertion_audience: src.assertion_audience(&meta),
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
        client_auth: None,
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
