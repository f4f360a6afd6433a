//! A CI job's token and a login exchanged for another audience: the grants
//! that get a new token instead of refreshing one (client credentials, the
//! JWT-bearer grant and token exchange with a CI platform's token, RFC 8693
//! exchange of a person's access token), single-flight under the login's lock.

use std::time::Duration;

use super::{Want, acquire};
use crate::cli::TokenChoice;
use crate::commands::Context;
use crate::context::client_source::Source;
use crate::credential::MachineGrant;
use crate::credential::{Credential, LoginId};
use crate::error::{Error, Kind, Result};
use crate::fsutil::LOCK_WAIT;
use crate::oidc::exchange::{Exchange, TokenType, jwt_bearer, token_exchange};
use crate::oidc::grant::{client_credentials, new_credential};
use crate::oidc::http::require_secure;
use crate::oidc::provider::{Ask, MetadataSource, Provider};
use crate::oidc::{ErrorCode, ProtocolError};
use crate::settings::{ClientInput, Request};

/// Client credentials have no refresh token: request a new token, under the same
/// per-login lock so parallel jobs share one request.
pub(super) fn renew_client_credentials(
    ctx: &Context,
    want: &Want,
    serves: &dyn Fn(&Credential) -> bool,
) -> Result<Credential> {
    let _lock = ctx.lock_login(want.key, LOCK_WAIT)?;
    let previous = ctx.load_latest(want.key)?;
    if let Some(c) = &previous
        && serves(c)
    {
        return Ok(c.clone());
    }
    let id = LoginId::from_key(want.key);
    let new = fetch_client_credentials(ctx, &id, want.request, want.client, previous.as_ref())?;
    ctx.store()?.put(want.key, &new)?;
    Ok(new)
}

/// An exchanged login (`vmauth token --exchange`): exchange the subject
/// login's access token (refreshed first when needed) for a new one (RFC
/// 8693), under this login's lock so parallel calls share one exchange.
pub(super) fn renew_exchanged(
    ctx: &Context,
    want: &Want,
    subject: &str,
    serves: &dyn Fn(&Credential) -> bool,
) -> Result<Credential> {
    let target = LoginId::from_key(want.key);
    let from = LoginId::from_key(subject);
    if from.issuer != target.issuer || from.client_id != target.client_id || subject == want.key {
        // A login's token goes only to its own issuer, for its own client.
        return Err(Error::storage(format!(
            "the login {:?} is to be exchanged from {subject:?}, which is not a login of the same issuer and client; remove it (vmauth logout --issuer {} --client-id {}{}) and exchange again",
            want.key,
            target.issuer,
            target.client_id,
            target
                .audience
                .as_deref()
                .map(|a| format!(" --audience {a}"))
                .unwrap_or_default()
        )));
    }
    // The subject must be a person's login: refused before any lock or request
    // (a stored chain or cycle of exchanged logins goes no further).
    match ctx.load(subject)? {
        Some(s) if s.exchanged_from.is_some() || s.is_client_credentials() => {
            return Err(Error::usage(format!(
                "the login {subject:?} is not a person's login (it is exchanged or a CI job's); --exchange exchanges the token of a login made with vmauth login"
            )));
        }
        Some(_) => {}
        None => {
            return Err(ctx.not_logged_in(
                Some(subject),
                "not logged in, so there is no token to exchange",
            ));
        }
    }
    let _lock = ctx.lock_login(want.key, LOCK_WAIT)?;
    let previous = ctx.load_latest(want.key)?;
    if let Some(c) = &previous
        && serves(c)
    {
        return Ok(c.clone());
    }
    if let Some(c) = &previous
        && c.exchanged_from.is_none()
    {
        // Never replace a login of its own (it may hold a refresh token).
        return Err(Error::usage(format!(
            "there is a login of its own for {:?}; use it without --exchange, or log out of it first (vmauth logout --issuer {} --client-id {} --audience {})",
            want.key,
            target.issuer,
            target.client_id,
            target.audience.as_deref().unwrap_or("")
        )));
    }
    let none = Request::default();
    let subject_login = acquire(
        ctx,
        &Want {
            key: subject,
            min_ttl: want.min_ttl,
            force: false,
            token: TokenChoice::Access,
            request: &none,
            client: want.client,
            exchange_from: None,
        },
    )?;
    let (scopes, resources) = match &previous {
        Some(p) if !want.request.explicit => (p.requested_scopes(), p.resource.clone()),
        _ => (want.request.scopes_or(""), want.request.resources.clone()),
    };
    // The client authenticates as on the subject's refresh (a public client: not at all).
    let src = Source::new(ctx, want.client, subject_login.client_auth.as_ref());
    let public = !src.is_confidential();
    let params = &want.client.params;
    let rt = ctx.runtime()?;
    let tokens = rt.block_on(async {
        let ask = Ask {
            scopes: &scopes,
            resources: &resources,
            auth: (!public).then_some(&src as &dyn crate::oidc::client_auth::CredentialSource),
        };
        let mut provider = Provider::open(
            ctx.seams(&target),
            &target,
            ask,
            Duration::from_secs(20),
            MetadataSource::Cached,
        )
        .await?;
        let exchange = Exchange {
            subject: &subject_login.access_token,
            subject_type: TokenType::AccessToken,
            actor: None,
        };
        provider
            .send(
                |m| m.token_endpoint.as_deref(),
                async |p: &Provider<'_>| {
                    token_exchange(
                        &p.http,
                        p.token_endpoint(),
                        &p.client,
                        &exchange,
                        params,
                        p.clock(),
                    )
                    .await
                },
            )
            .await
            .map_err(|e| explain_exchange(e, ctx, subject))
    })?;
    let mut credential = new_credential(&target, tokens, ctx.clock.now_unix(), &scopes, &resources);
    credential.refresh_token = None;
    credential.id_token = None;
    credential.exchanged_from = Some(subject.to_string());
    credential.client_auth = subject_login.client_auth.clone();
    ctx.guard(&credential);
    ctx.store()?.put(want.key, &credential)?;
    Ok(credential)
}

/// Why a token exchange of a person's login failed, and what to do.
fn explain_exchange(e: ProtocolError, ctx: &Context, subject: &str) -> Error {
    let (what, hint) = match e.oauth_code() {
        Some(ErrorCode::InvalidTarget) => (
            "the identity provider does not know that audience",
            "check --audience".to_string(),
        ),
        Some(ErrorCode::UnsupportedGrantType | ErrorCode::UnauthorizedClient) => (
            "the identity provider does not let this client exchange tokens (RFC 8693)",
            "ask its administrator to allow the token-exchange grant for the client".to_string(),
        ),
        Some(ErrorCode::InvalidGrant) => {
            return ctx.not_logged_in(
                Some(subject),
                &format!("the identity provider refused to exchange the login's token ({e})"),
            );
        }
        Some(ErrorCode::InvalidScope) => (
            "the identity provider refused the scopes",
            "check --scope".to_string(),
        ),
        _ => return Error::from(e).context("cannot exchange the login's token"),
    };
    Error::new(Kind::Usage, format!("{what}: {e}; {hint}"))
}

// Client-credentials mode (RFC 6749 §4.4) for CI jobs and services: shared by
// `login --client-credentials` and `token --client-credentials`. The secret
// comes from `VMAUTH_CLIENT_SECRET`, `--client-secret-file` or
// `--client-secret-stdin`, never from an argument, and is never stored; what is
// stored with the token is how to get the next one (method and file paths).

/// Request a token with the client credentials grant and build the credential to
/// store. `previous` supplies the stored settings (and, when the command names
/// no scopes or resources, what to ask for) when no flags are given.
pub(crate) fn fetch_client_credentials(
    ctx: &Context,
    id: &LoginId,
    request: &Request,
    input: &ClientInput,
    previous: Option<&Credential>,
) -> Result<Credential> {
    require_secure(&id.issuer, "issuer")?;
    let stored = previous.and_then(|p| p.client_credentials.as_ref());
    if input.federated.is_none()
        && !input.names_a_source()
        && let Some(spec) = stored.and_then(|s| s.federated_token.as_deref())
    {
        // The platform's token is never stored: its source must be named again.
        return Err(Error::usage(format!(
            "this login gets its tokens with a CI platform's token ({spec}); give --federated-token {spec} (or VMAUTH_FEDERATED_TOKEN={spec}) again"
        )));
    }
    let grant = match &input.federated {
        Some(_) => input.grant,
        // A secret, key or assertion named now: a plain client-credentials request.
        None if input.names_a_source() => MachineGrant::ClientCredentials,
        None => stored.and_then(|s| s.grant).unwrap_or_default(),
    };
    let mut src = Source::new(ctx, input, stored);
    let (scopes, resources) = match previous {
        // A repeat request without new parameters asks for what the login asked for.
        Some(p) if !request.explicit => (p.requested_scopes(), p.resource.clone()),
        _ => (request.scopes_or(""), request.resources.clone()),
    };
    let rt = ctx.runtime()?;
    let (tokens, settings) = rt.block_on(async {
        // A CI platform's token, fresh for this request; never stored or shown.
        let (platform, actor) = match &input.federated {
            Some(f) => {
                let http = crate::oidc::provider::http(Duration::from_secs(30))?;
                let now = ctx.clock.now_unix();
                let warn = |m: &str| ctx.ui.warn(m);
                for s in f
                    .source
                    .request_secrets()
                    .into_iter()
                    .chain(f.actor.iter().flat_map(|a| a.request_secrets()))
                {
                    ctx.io.redact(s.expose());
                }
                if f.source.detected {
                    ctx.ui.info(&format!(
                        "using the OIDC token of {} (--federated-token auto chose {})",
                        f.source.platform(),
                        f.source.spec
                    ));
                }
                let platform = f
                    .source
                    .fetch(f.audience.as_deref(), &http, now, &warn)
                    .await?;
                ctx.io.redact(platform.expose());
                let actor = match &f.actor {
                    Some(a) => {
                        let t = a.fetch(f.audience.as_deref(), &http, now, &warn).await?;
                        ctx.io.redact(t.expose());
                        Some(t)
                    }
                    None => None,
                };
                (Some(platform), actor)
            }
            None => (None, None),
        };
        if grant == MachineGrant::ClientCredentials {
            src.federated_assertion = platform.clone();
        }
        // The grants that trade a token need no client credential of their
        // own: without one, the client is a public client.
        let public = grant != MachineGrant::ClientCredentials && !src.is_confidential();
        let ask = Ask {
            scopes: &scopes,
            resources: &resources,
            auth: (!public).then_some(&src as &dyn crate::oidc::client_auth::CredentialSource),
        };
        let mut provider = Provider::open(
            ctx.seams(id),
            id,
            ask,
            Duration::from_secs(20),
            MetadataSource::Cached,
        )
        .await?;
        let params = &input.params;
        let subject_type = input
            .federated
            .as_ref()
            .map_or(TokenType::Jwt, |f| f.subject_type);
        let tokens = provider
            .send(
                |m| m.token_endpoint.as_deref(),
                async |p: &Provider<'_>| {
                    let (http, endpoint, client) = (&p.http, p.token_endpoint(), &p.client);
                    match (grant, &platform) {
                        (MachineGrant::JwtBearer, Some(assertion)) => {
                            jwt_bearer(http, endpoint, client, assertion, params, p.clock()).await
                        }
                        (MachineGrant::TokenExchange, Some(subject)) => {
                            let exchange = Exchange {
                                subject,
                                subject_type,
                                actor: actor.as_ref().map(|a| (a, TokenType::Jwt)),
                            };
                            token_exchange(http, endpoint, client, &exchange, params, p.clock())
                                .await
                        }
                        (MachineGrant::ClientCredentials, _) => {
                            client_credentials(http, endpoint, client, params, p.clock()).await
                        }
                        (_, None) => Err(ProtocolError::Config(format!(
                            "--grant {} needs --federated-token SOURCE",
                            grant.name()
                        ))),
                    }
                },
            )
            .await
            .map_err(|e| explain(e, grant, platform.is_some()))?;
        // A public client's login is a CI job's all the same: what to ask next
        // time is kept (grant and source; no authentication).
        let settings = provider.client_settings.or_else(|| {
            Some(crate::oidc::client_auth::CredentialSource::settings(
                &src,
                crate::credential::Method::None,
            ))
        });
        Ok::<_, Error>((tokens, settings))
    })?;
    let mut credential = new_credential(id, tokens, ctx.clock.now_unix(), &scopes, &resources);
    // These grants keep no refresh token (RFC 6749 §4.4.3; the others are
    // traded again) and no ID token.
    credential.refresh_token = None;
    credential.id_token = None;
    credential.client_credentials = settings;
    ctx.guard(&credential);
    Ok(credential)
}

/// Client-credentials failures the user fixes in their configuration get exit 2.
fn explain(e: ProtocolError, grant: MachineGrant, federated: bool) -> Error {
    let (what, hint) = match e.oauth_code() {
        Some(ErrorCode::InvalidClient | ErrorCode::UnauthorizedClient)
            if federated && grant == MachineGrant::ClientCredentials =>
        {
            (
                "the identity provider did not accept the CI platform's token as the client's credential",
                "check the federated credential's issuer, subject and audience (--federated-audience) at the identity provider, and that the client may use the client credentials grant",
            )
        }
        Some(ErrorCode::UnauthorizedClient) if federated => (
            "the identity provider does not let this client use the grant",
            "check --grant and the grants the client is allowed",
        ),
        Some(ErrorCode::InvalidGrant) if federated => (
            "the identity provider refused the CI platform's token",
            "check the trust it has for the platform (issuer, subject, audience: --federated-audience) and any --param it requires",
        ),
        Some(ErrorCode::UnsupportedGrantType) => (
            "the identity provider does not offer this grant",
            "check --grant and that the client may use it",
        ),
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
            return Error::from(e).context(format!(
                "cannot get a token with the {} grant",
                grant.name()
            ));
        }
    };
    Error::new(Kind::Usage, format!("{what}: {e}; {hint}"))
}
