//! Client-credentials mode (RFC 6749 §4.4) for CI jobs and services: shared by
//! `login --client-credentials` and `token --client-credentials`.
//!
//! The secret comes from `VMAUTH_CLIENT_SECRET`, `--client-secret-file` or
//! `--client-secret-stdin`, never from an argument, and is never stored. What is
//! stored with the token is how to get the next one (method and file paths).

use std::time::Duration;

use crate::credential::{Credential, LoginId};
use crate::error::{Error, Kind, Result};
use crate::oidc::grant::{client_credentials, new_credential};
use crate::oidc::http::require_secure;
use crate::oidc::{ErrorCode, ProtocolError};
use crate::settings::{ClientInput, Request};

use super::client_source::Source;
use super::{Context, runtime};
use crate::oidc::provider::{Ask, Provider};

/// Request a token with the client credentials grant and build the credential to
/// store. `previous` supplies the stored settings (and, when the command names
/// no scopes or resources, what to ask for) when no flags are given.
pub(crate) fn fetch(
    ctx: &Context,
    id: &LoginId,
    request: &Request,
    input: &ClientInput,
    previous: Option<&Credential>,
) -> Result<Credential> {
    require_secure(&id.issuer, "issuer")?;
    let src = Source::new(
        ctx,
        input,
        previous.and_then(|p| p.client_credentials.as_ref()),
    );
    let (scopes, resources) = match previous {
        // A repeat request without new parameters asks for what the login asked for.
        Some(p) if !request.explicit => (p.requested_scopes(), p.resource.clone()),
        _ => (request.scopes_or(""), request.resources.clone()),
    };
    let rt = runtime()?;
    let (tokens, settings) = rt.block_on(async {
        let ask = Ask {
            scopes: &scopes,
            resources: &resources,
            auth: Some(&src),
        };
        let mut provider = Provider::open(ctx.seams(id), id, ask, Duration::from_secs(20)).await?;
        let tokens = provider
            .send(
                |m| m.token_endpoint.as_deref(),
                async |p: &Provider<'_>| {
                    client_credentials(&p.http, p.token_endpoint(), &p.client).await
                },
            )
            .await
            .map_err(explain)?;
        Ok::<_, Error>((tokens, provider.client_settings))
    })?;
    let mut credential = new_credential(id, tokens, ctx.now(), &scopes, &resources);
    // This grant has no refresh token (RFC 6749 §4.4.3) and no ID token.
    credential.refresh_token = None;
    credential.id_token = None;
    credential.client_credentials = settings;
    ctx.guard(&credential);
    Ok(credential)
}

/// Client-credentials failures the user fixes in their configuration get exit 2.
fn explain(e: ProtocolError) -> Error {
    let (what, hint) = match e.oauth_code() {
        Some(ErrorCode::InvalidClient | ErrorCode::UnauthorizedClient) => (
            "the identity provider rejected the client credentials",
            "check the client id and its secret or key",
        ),
        Some(ErrorCode::InvalidTarget) => (
            "the identity provider does not know that audience or resource",
            "check --audience / --resource",
        ),
        Some(ErrorCode::InvalidScope) => {
            ("the identity provider refused the scopes", "check --scope")
        }
        _ => {
            return Error::from(e).context("cannot get a token with the client credentials grant");
        }
    };
    Error::new(Kind::Usage, format!("{what}: {e}; {hint}"))
}
