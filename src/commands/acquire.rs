//! The use case "a valid credential for this selection", shared by `token` and
//! `exec` (and the client-credentials request, by `login` too): the cached
//! credential while it has at least `min_ttl` left; else a refresh,
//! single-flight across processes; else, for client-credentials logins, a new
//! token.
//!
//! The cached path reads the store and returns: no network, no HTTP/TLS client,
//! no async runtime, no lock. A refresh holds the per-login lock, re-reads the
//! store (another process may have refreshed meanwhile), and only then talks to
//! the identity provider.

use std::collections::BTreeSet;
use std::time::Duration;

use crate::cli::TokenChoice;
use crate::credential::MachineGrant;
use crate::credential::{Credential, LoginId, Secret};
use crate::error::{Error, Kind, Result};
use crate::fsutil::LOCK_WAIT;
use crate::oidc::exchange::{Exchange, TokenType, jwt_bearer, token_exchange};
use crate::oidc::grant::{client_credentials, merge_refresh, new_credential, refresh};
use crate::oidc::http::require_secure;
use crate::oidc::id_token::refreshed_mix_up;
use crate::oidc::{ErrorCode, ProtocolError};
use crate::settings::{ClientInput, Request};

use super::Context;
use crate::context::client_source::Source;
use crate::oidc::provider::{Ask, IdTokenFailure, MetadataSource, Provider};

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

/// Client credentials have no refresh token: request a new token, under the same
/// per-login lock so parallel jobs share one request.
fn renew_client_credentials(
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
fn renew_exchanged(
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
