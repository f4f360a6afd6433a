//! The use case "a valid credential for this selection", shared by `token` and
//! `exec` (and the client-credentials request, by `login` too): the cached
//! credential while it has at least `min_ttl` left; else a refresh,
//! single-flight across processes; else, for client-credentials logins, a new
//! token.
//!
//! The cached path reads the store and returns: no network, no HTTP/TLS client,
//! no async runtime, no lock. A refresh holds the per-login lock, re-reads the
//! store (another process may have refreshed meanwhile), and only then talks to
//! the identity provider. The grants that get a new token instead (a CI
//! job's, an exchanged login's) are in `acquire/ci.rs`.

use std::collections::BTreeSet;
use std::time::Duration;

use crate::cli::TokenChoice;
use crate::credential::{Credential, LoginId, Secret};
use crate::error::{Error, Kind, Result};
use crate::fsutil::LOCK_WAIT;
use crate::oidc::grant::{merge_refresh, refresh};
use crate::oidc::id_token::refreshed_mix_up;
use crate::oidc::{ErrorCode, ProtocolError};
use crate::settings::{ClientInput, Request};

use super::Context;
use crate::context::client_source::Source;
use crate::oidc::provider::{Ask, IdTokenFailure, MetadataSource, Provider};

mod ci;
pub(crate) use ci::fetch_client_credentials;
use ci::{renew_client_credentials, renew_exchanged};

/// What is wanted.
pub(crate) struct Want<'a> {
    /// The login's cache key.
    pub key: &'a str,
    /// The credential must have at least this many seconds left (at most half
    /// its lifetime).
    pub min_ttl: i64,
    /// Refresh or renew even a credential that is still good.
    pub force: bool,
    /// Which token must be fresh: the access token, or the ID token (by its own `exp`).
    pub token: TokenChoice,
    /// Scopes and resources (they choose a client-credentials token).
    pub request: &'a Request,
    /// Client authentication and whether client credentials were asked for.
    pub client: &'a ClientInput,
    /// `--exchange`: the key of the login whose access token is exchanged for
    /// this one (a stored exchanged login names it itself).
    pub exchange_from: Option<&'a str>,
}

impl<'a> Want<'a> {
    /// What a `token` or `exec` command asks for (`s`), of the login `key`.
    pub(crate) fn of(s: &'a crate::settings::AcquireSettings, key: &'a str) -> Want<'a> {
        Want {
            key,
            min_ttl: s.min_ttl,
            force: s.force_refresh,
            token: s.token,
            request: &s.request,
            client: &s.client,
            exchange_from: None,
        }
    }
}

/// A valid credential for `want`, refreshed or renewed when needed.
pub(crate) fn acquire(ctx: &Context, want: &Want) -> Result<Credential> {
    let client_credentials = want.client.client_credentials;
    let cached = ctx.load(want.key)?;
    let exchange_from = want
        .exchange_from
        .map(str::to_string)
        .or_else(|| cached.as_ref().and_then(|c| c.exchanged_from.clone()));
    if want.request.explicit
        && !client_credentials
        && exchange_from.is_none()
        && cached.as_ref().is_none_or(|c| !c.is_client_credentials())
    {
        return Err(Error::usage(
            "--scope and --resource choose what a client-credentials token is for; to change a device login's scopes, run vmauth login with them",
        ));
    }
    if want.token == TokenChoice::Id
        && let Some(c) = &cached
        && c.id_token.is_none()
    {
        return Err(ctx.not_logged_in(
            Some(want.key),
            "this login has no ID token (client-credentials logins never have one; a device login needs the openid scope)",
        ));
    }
    let fingerprint = want.client.federated_fingerprint();
    let serves = |c: &Credential| {
        !want.force
            && fresh(c, want, ctx.clock.now_unix())
            && (!want.request.explicit || same_request(want.request, c))
            && same_federation(c, fingerprint.as_deref())
            && (want.exchange_from.is_none() || c.exchanged_from.as_deref() == want.exchange_from)
    };
    match &cached {
        Some(c) if serves(c) => return Ok(c.clone()),
        _ if let Some(from) = exchange_from.as_deref()
            && !client_credentials =>
        {
            return renew_exchanged(ctx, want, from, &serves);
        }
        None if !client_credentials => {
            return Err(ctx.not_logged_in(Some(want.key), "not logged in"));
        }
        _ => {}
    }
    if client_credentials || cached.is_some_and(|c| c.is_client_credentials()) {
        renew_client_credentials(ctx, want, &serves)
    } else {
        refresh_single_flight(ctx, want)
    }
}

/// A token got with a CI platform's token serves only the same request from
/// the same job (the same fingerprint); other tokens, any request without one.
fn same_federation(c: &Credential, fingerprint: Option<&str>) -> bool {
    let kept = c
        .client_credentials
        .as_ref()
        .and_then(|s| s.fingerprint.as_deref());
    match (kept, fingerprint) {
        (None, None) => true,
        (Some(k), Some(f)) => k == f,
        // A federated token for a request that names no platform token (or the
        // other way round): not served; the request decides what happens.
        _ => false,
    }
}

/// Whether the token `want` asks for is still good in `c`.
fn fresh(c: &Credential, want: &Want, now: i64) -> bool {
    match want.token {
        TokenChoice::Access => c.fresh_enough(now, want.min_ttl),
        TokenChoice::Id => c.id_token_fresh_enough(now, want.min_ttl),
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

/// Refresh under the per-login lock. Another process may have refreshed while we
/// waited: use its token instead of spending the (rotating) refresh token again.
/// A refresh token is only spent when its successor can be stored; refreshed
/// tokens the store then refuses are kept in the state directory for the next
/// call rather than lost.
fn refresh_single_flight(ctx: &Context, want: &Want) -> Result<Credential> {
    let (key, min_ttl, input) = (want.key, want.min_ttl, want.client);
    let _lock = ctx.lock_login(key, LOCK_WAIT)?;
    let cred = with_rescued(ctx, key, ctx.load_latest(key)?)
        .ok_or_else(|| ctx.not_logged_in(Some(key), "not logged in"))?;
    if !want.force && fresh(&cred, want, ctx.clock.now_unix()) {
        return Ok(cred);
    }
    let Some(rt) = cred.refresh_token.clone() else {
        return Err(ctx.not_logged_in(
            Some(key),
            "the access token has expired and there is no refresh token",
        ));
    };
    if let Err(e) = ctx.store()?.check_writable() {
        let e = e.context(
            "not refreshing, because the refreshed tokens could not be saved (the login is kept)",
        );
        return serve_cached_or(ctx, cred, e);
    }
    match refresh_once(ctx, &cred, &rt, input) {
        Ok(new) => {
            let new = save(ctx, key, new)?;
            if want.token == TokenChoice::Id
                && !new.id_token_fresh_enough(ctx.clock.now_unix(), min_ttl)
            {
                return Err(ctx.not_logged_in(
                    Some(key),
                    "the identity provider sent no new ID token on refresh, and the stored one has expired",
                ));
            }
            Ok(new)
        }
        Err(RefreshError::Rejected(why)) => {
            // The refresh token was refused. If another writer (the ValidMind library,
            // an older vmauth) saved a newer one meanwhile, try once with that.
            match ctx.load_latest(key)? {
                Some(c) if !want.force && fresh(&c, want, ctx.clock.now_unix()) => Ok(c),
                // Only a newer login (another writer refreshed since): never an
                // older refresh token, which the provider may treat as a replay.
                Some(c)
                    if c.refresh_token.as_ref().is_some_and(|r| *r != rt)
                        && c.expires_at > cred.expires_at =>
                {
                    let rt2 = c.refresh_token.clone().unwrap_or(rt);
                    let new =
                        refresh_once(ctx, &c, &rt2, input).map_err(|e| e.into_error(ctx, key))?;
                    save(ctx, key, new)
                }
                _ => Err(RefreshError::Rejected(why).into_error(ctx, key)),
            }
        }
        Err(e @ RefreshError::Refused(_)) => serve_cached_or(ctx, cred, e.into_error(ctx, key)),
        Err(e) => {
            let e = e.into_error(ctx, key);
            if e.kind() == Kind::Idp {
                serve_cached_or(ctx, cred, e)
            } else {
                // A configuration problem (missing secret) is reported, not hidden.
                Err(e)
            }
        }
    }
}

/// Cannot refresh now (IdP down, network, an unwritable store), but the cached
/// token still works for a while: use it, with a warning. Otherwise fail with `e`.
fn serve_cached_or(ctx: &Context, cred: Credential, e: Error) -> Result<Credential> {
    let left = cred.ttl(ctx.clock.now_unix());
    if left > 0 {
        ctx.ui.warn(&format!(
            "{e}; using the cached token, valid for {left}s more"
        ));
        Ok(cred)
    } else {
        Err(e)
    }
}

/// Store refreshed tokens. When the store refuses them after all, keep them in
/// the state directory (where the next call looks) and say so: the old refresh
/// token may be spent already, so these are the login now.
fn save(ctx: &Context, key: &str, new: Credential) -> Result<Credential> {
    if let Some(w) = super::output::audience_warning(&new) {
        ctx.ui.warn(&w);
    }
    // No `?` before the tokens are kept somewhere: the old refresh token may
    // be spent.
    match ctx.store().and_then(|s| s.put(key, &new)) {
        Ok(()) => {
            ctx.state.forget_rescued(key);
            Ok(new)
        }
        Err(e) => match ctx.state.rescue(key, &new) {
            Ok(path) => {
                ctx.ui.warn(&format!(
                    "the tokens were refreshed but could not be saved to {} ({e}); they are kept in {} and the next vmauth call will use them; fix the store and run vmauth token again",
                    ctx.store().map(|s| s.location()).unwrap_or_default(),
                    path.display()
                ));
                Ok(new)
            }
            Err(e2) => Err(e.context(format!(
                "the tokens were refreshed but could not be saved, nor kept elsewhere ({e2}); the login may need a new vmauth login"
            ))),
        },
    }
}

/// The stored credential, or refreshed tokens an earlier call had to keep in
/// the state directory when they are newer; those are put back in the store
/// when it takes them again.
fn with_rescued(ctx: &Context, key: &str, stored: Option<Credential>) -> Option<Credential> {
    let Some(rescued) = ctx.state.rescued(key) else {
        return stored;
    };
    ctx.guard(&rescued);
    if rescued.check_key(key).is_err() {
        ctx.state.forget_rescued(key);
        return stored;
    }
    if stored
        .as_ref()
        .is_some_and(|s| s.expires_at > rescued.expires_at)
    {
        ctx.state.forget_rescued(key);
        return stored;
    }
    if ctx.store().and_then(|s| s.put(key, &rescued)).is_ok() {
        ctx.state.forget_rescued(key);
    }
    Some(rescued)
}

enum RefreshError {
    /// The identity provider said the refresh token is no good, or wants the
    /// person back: a new login is needed.
    Rejected(ErrorCode),
    /// HTTP 400 or 401 without an OAuth error (some providers answer a spent
    /// refresh token so): the login cannot be refreshed.
    Refused(u16),
    /// The answer is about another user, issuer or client (its tokens were
    /// put aside for revocation).
    MixUp(String),
    /// Anything else: network, server, configuration.
    Other(Error),
}

impl RefreshError {
    fn into_error(self, ctx: &Context, key: &str) -> Error {
        match self {
            RefreshError::Rejected(code) => ctx.not_logged_in(
                Some(key),
                &format!("the login has expired or was revoked ({})", code.as_str()),
            ),
            RefreshError::Refused(status) => ctx.not_logged_in(
                Some(key),
                &format!(
                    "the identity provider refused to refresh the login (HTTP {status} without an OAuth error)"
                ),
            ),
            RefreshError::MixUp(why) => Error::idp(why),
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
    let runtime = ctx.runtime().map_err(RefreshError::Other)?;
    let tokens = runtime.block_on(async {
        // A confidential device client authenticates again, as it did at login,
        // with the secret from the environment or its stored secret file.
        let source = cred.client_auth.as_ref().map(|stored| {
            let env_only = ClientInput {
                secret_env: input.secret_env.clone(),
                ..Default::default()
            };
            Source::new(ctx, &env_only, Some(stored))
        });
        let id = LoginId {
            issuer: cred.issuer.clone(),
            client_id: cred.client_id.clone(),
            audience: cred.audience.clone(),
        };
        let ask = Ask {
            resources: &cred.resource,
            auth: source.as_ref().map(|s| s as _),
            ..Default::default()
        };
        let mut provider = Provider::open(ctx.seams(&id), &id, ask, Duration::from_secs(20), MetadataSource::Cached)
            .await
            .map_err(RefreshError::Other)?;
        let tokens = provider
            .send(|m| m.token_endpoint.as_deref(), async |p: &Provider<'_>| {
                refresh(&p.http, p.token_endpoint(), &p.client, rt.expose(), p.clock()).await
            })
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
            _ => match e {
                ProtocolError::Status {
                    status: status @ (400 | 401),
                    ..
                } => RefreshError::Refused(status),
                e => RefreshError::Other(e.into()),
            },
        })?;
        let mut tokens = tokens;
        if let Some(idt) = tokens.id_token.clone() {
            if let Some(why) = refreshed_mix_up(&idt, cred, &provider.meta.issuer) {
                // A real mix-up: these tokens are not this login's. Put them
                // aside where `vmauth logout` revokes them, and refuse.
                let mut aside = merge_refresh(cred, tokens, ctx.clock.now_unix());
                aside.id_token_verified = false;
                ctx.guard(&aside);
                let kept = match ctx.state.set_aside(&id.cache_key(), &aside) {
                    Ok(path) => format!(
                        "they are kept in {} and vmauth logout revokes them",
                        path.display()
                    ),
                    Err(e) => format!("they could not be kept for revocation ({e})"),
                };
                return Err(RefreshError::MixUp(format!(
                    "refusing the refreshed tokens: the ID token: {why}, so they are not this login's; {kept}; log in again"
                )));
            }
            match provider
                .verify_id_token(&idt, &cred.issuer, &cred.client_id)
                .await
            {
                Ok(_) => {}
                // The access and refresh tokens came from the token endpoint over
                // TLS, and the old refresh token may be spent: keep them, and the
                // previous (verified) ID token instead of one that cannot be
                // checked (keys unavailable) or does not pass (a key rotated
                // under the same kid, a provider clock ahead, an expired token).
                Err(IdTokenFailure::KeysUnavailable(why)) => {
                    ctx.ui.warn(&format!(
                        "the refreshed ID token cannot be verified now ({why}); keeping the previous one"
                    ));
                    tokens.id_token = None;
                }
                Err(IdTokenFailure::Refused(why)) => {
                    ctx.ui.warn(&format!(
                        "the refreshed ID token was not accepted ({why}); the refreshed access and refresh tokens are kept, with the previous ID token"
                    ));
                    tokens.id_token = None;
                }
            }
        }
        Ok::<_, RefreshError>(tokens)
    })?;
    let verified = tokens.id_token.is_some();
    let mut new = merge_refresh(cred, tokens, ctx.clock.now_unix());
    new.id_token_verified |= verified;
    ctx.guard(&new);
    Ok(new)
}

#[cfg(test)]
#[path = "acquire_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "federated_tests.rs"]
mod federated_tests;

/// A tool's login (git's, cargo's): what `vmauth token --profile NAME` would
/// use, and its cache key; or why the profile cannot serve.
pub(crate) fn tool_login(
    login: &crate::settings::ToolLogin,
) -> Result<(&crate::settings::AcquireSettings, String)> {
    let settings = login
        .acquire
        .as_ref()
        .map_err(|why| Error::usage(format!("profile {:?}: {why}", login.profile)))?;
    let Some(id) = &settings.login else {
        return Err(Error::usage(format!(
            "profile {:?} names no login (issuer and client_id); a tool's credentials come from a profile's login",
            login.profile
        )));
    };
    Ok((settings, id.cache_key()))
}

/// A valid credential of a tool's login (`force`: refreshed first).
pub(crate) fn acquire_tool(
    ctx: &Context,
    login: &crate::settings::ToolLogin,
    force: bool,
) -> Result<Credential> {
    let (settings, key) = tool_login(login)?;
    acquire(
        ctx,
        &Want {
            force: settings.force_refresh || force,
            ..Want::of(settings, &key)
        },
    )
}
