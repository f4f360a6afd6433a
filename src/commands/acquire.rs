//! The use case "a valid credential for this selection", shared by `token` (and
//! the coming `exec` and output formats): the cached credential while it has at
//! least `min_ttl` left; else a refresh, single-flight across processes; else,
//! for client-credentials logins, a new token.
//!
//! The cached path reads the store and returns: no network, no HTTP/TLS client,
//! no async runtime, no lock. A refresh holds the per-login lock, re-reads the
//! store (another process may have refreshed meanwhile), and only then talks to
//! the identity provider.

use std::collections::BTreeSet;
use std::time::Duration;

use crate::credential::{Credential, LoginId, Secret};
use crate::error::{Error, Kind, Result};
use crate::oidc::ErrorCode;
use crate::oidc::grant::{merge_refresh, refresh};
use crate::oidc::id_token::check_refreshed;
use crate::settings::{ClientInput, Request};
use crate::store::fsutil::LOCK_WAIT;

use super::client_source::Source;
use super::provider::{Ask, Provider};
use super::{Context, client_credentials, not_logged_in, runtime};

/// What is wanted.
pub(crate) struct Want<'a> {
    /// The login's cache key.
    pub key: &'a str,
    /// The credential must have at least this many seconds left.
    pub min_ttl: i64,
    /// Scopes and resources (they choose a client-credentials token).
    pub request: &'a Request,
    /// Client authentication and whether client credentials were asked for.
    pub client: &'a ClientInput,
}

/// A valid credential for `want`, refreshed or renewed when needed.
pub(crate) fn acquire(ctx: &Context, want: &Want) -> Result<Credential> {
    let client_credentials = want.client.client_credentials;
    let cached = ctx.store.get(want.key)?;
    if want.request.explicit
        && !client_credentials
        && cached.as_ref().is_none_or(|c| !c.is_client_credentials())
    {
        return Err(Error::usage(
            "--scope and --resource choose what a client-credentials token is for; to change a device login's scopes, run vmauth login with them",
        ));
    }
    let serves = |c: &Credential| {
        c.ttl(ctx.now()) >= want.min_ttl
            && (!want.request.explicit || same_request(want.request, c))
    };
    match &cached {
        Some(c) if serves(c) => return Ok(c.clone()),
        None if !client_credentials => return Err(not_logged_in(Some(want.key), "not logged in")),
        _ => {}
    }
    if client_credentials || cached.is_some_and(|c| c.is_client_credentials()) {
        renew_client_credentials(ctx, want, &serves)
    } else {
        refresh_single_flight(ctx, want.key, want.min_ttl, want.client)
    }
}

/// A cached client-credentials token serves only a request for the same scopes
/// and resources (a token for `deploy:prod` must not answer a request for `read`,
/// nor the other way round), in any order.
fn same_request(request: &Request, c: &Credential) -> bool {
    let set = |v: &[String]| v.iter().cloned().collect::<BTreeSet<_>>();
    set(&request.scopes_or("")) == set(&c.requested_scopes())
        && set(&request.resources) == set(&c.resource)
}

/// Client credentials have no refresh token: request a new token, under the same
/// per-login lock so parallel jobs share one request.
fn renew_client_credentials(
    ctx: &Context,
    want: &Want,
    serves: &dyn Fn(&Credential) -> bool,
) -> Result<Credential> {
    let _lock = ctx.state.lock_login(want.key, LOCK_WAIT)?;
    let previous = ctx.store.get(want.key)?;
    if let Some(c) = &previous
        && serves(c)
    {
        return Ok(c.clone());
    }
    let id = LoginId::from_key(want.key);
    let new = client_credentials::fetch(ctx, &id, want.request, want.client, previous.as_ref())?;
    ctx.store.put(want.key, &new)?;
    Ok(new)
}

/// Refresh under the per-login lock. Another process may have refreshed while we
/// waited: use its token instead of spending the (rotating) refresh token again.
fn refresh_single_flight(
    ctx: &Context,
    key: &str,
    min_ttl: i64,
    input: &ClientInput,
) -> Result<Credential> {
    let _lock = ctx.state.lock_login(key, LOCK_WAIT)?;
    let cred = ctx
        .store
        .get(key)?
        .ok_or_else(|| not_logged_in(Some(key), "not logged in"))?;
    if cred.ttl(ctx.now()) >= min_ttl {
        return Ok(cred);
    }
    let Some(rt) = cred.refresh_token.clone() else {
        return Err(not_logged_in(
            Some(key),
            "the access token has expired and there is no refresh token",
        ));
    };
    match refresh_once(ctx, &cred, &rt, input) {
        Ok(new) => {
            ctx.store.put(key, &new)?;
            Ok(new)
        }
        Err(RefreshError::Rejected(why)) => {
            // The refresh token was refused. If another writer (the ValidMind library,
            // an older vmauth) saved a newer one meanwhile, try once with that.
            match ctx.store.get(key)? {
                Some(c) if c.ttl(ctx.now()) >= min_ttl => Ok(c),
                Some(c) if c.refresh_token.as_ref().is_some_and(|r| *r != rt) => {
                    let rt2 = c.refresh_token.clone().unwrap_or(rt);
                    let new = refresh_once(ctx, &c, &rt2, input).map_err(|e| e.into_error(key))?;
                    ctx.store.put(key, &new)?;
                    Ok(new)
                }
                _ => Err(RefreshError::Rejected(why).into_error(key)),
            }
        }
        Err(e) => {
            let e = e.into_error(key);
            let left = cred.ttl(ctx.now());
            // Cannot refresh now (IdP down, network), but the token still works for a
            // while. A configuration problem (missing secret) is reported, not hidden.
            if left > 0 && e.kind() == Kind::Idp {
                ctx.ui.warn(&format!(
                    "{e}; using the cached token, valid for {left}s more"
                ));
                Ok(cred)
            } else {
                Err(e)
            }
        }
    }
}

enum RefreshError {
    /// The identity provider said the refresh token is no good, or wants the
    /// person back: a new login is needed.
    Rejected(ErrorCode),
    /// Anything else: network, server, configuration.
    Other(Error),
}

impl RefreshError {
    fn into_error(self, key: &str) -> Error {
        match self {
            RefreshError::Rejected(code) => not_logged_in(
                Some(key),
                &format!("the login has expired or was revoked ({})", code.as_str()),
            ),
            RefreshError::Other(e) => e.context("cannot refresh the access token"),
        }
    }
}

fn refresh_once(
    ctx: &Context,
    cred: &Credential,
    rt: &Secret,
    input: &ClientInput,
) -> Result<Credential, RefreshError> {
    let runtime = runtime().map_err(RefreshError::Other)?;
    let (tokens, published) = runtime.block_on(async {
        // A confidential device client authenticates again, as it did at login,
        // with the secret from the environment or its stored secret file.
        let source = cred.client_auth.as_ref().map(|stored| {
            let env_only = ClientInput {
                secret_env: input.secret_env.clone(),
                ..Default::default()
            };
            Source::new(&env_only, Some(stored))
        });
        let id = LoginId {
            issuer: cred.issuer.clone(),
            client_id: cred.client_id.clone(),
            audience: cred.audience.clone(),
        };
        let ask = Ask {
            resources: &cred.resource,
            auth: source.as_ref(),
            ..Default::default()
        };
        let provider = Provider::open(ctx, &id, ask, Duration::from_secs(20))
            .await
            .map_err(RefreshError::Other)?;
        let tokens = refresh(
            &provider.http,
            provider.token_endpoint(),
            &provider.client,
            rt.expose(),
        )
        .await
        .map_err(|e| match e.oauth_code() {
            // The grant is gone, or the provider wants the person back (Entra
            // conditional access, MFA, consent): a new login is needed.
            Some(
                code @ (ErrorCode::InvalidGrant
                | ErrorCode::InteractionRequired
                | ErrorCode::LoginRequired
                | ErrorCode::ConsentRequired),
            ) => RefreshError::Rejected(code.clone()),
            _ => RefreshError::Other(e.into()),
        })?;
        Ok::<_, RefreshError>((tokens, provider.meta.issuer))
    })?;
    if let Some(idt) = &tokens.id_token {
        check_refreshed(idt, cred, &published).map_err(|why| {
            RefreshError::Other(Error::idp(format!("refusing the refreshed tokens: {why}")))
        })?;
    }
    Ok(merge_refresh(cred, tokens, ctx.now()))
}
