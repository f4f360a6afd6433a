//! `vmauth token`: print a valid access token on stdout, refreshing it first when
//! less than `--min-ttl` is left.
//!
//! The cached path reads the store and prints: no network, no HTTP/TLS client,
//! no async runtime, no lock. Refresh is single-flight across processes: it holds
//! the per-login lock, re-reads the store, and only then talks to the server.

use std::collections::BTreeSet;
use std::io::Write;
use std::time::Duration;

use crate::cli::TokenArgs;
use crate::error::{Error, Kind, Result};
use crate::oidc::discovery::discover;
use crate::oidc::grant::{ClientRequest, refresh};
use crate::store::{Credential, Secret, now_unix};

use super::client_auth::{Source, resolve};
use super::{
    Context, client_credentials, expires_at, http, login_id_from_key, not_logged_in,
    request_params, runtime,
};

/// How long to wait for another process's refresh.
use crate::store::fsutil::LOCK_WAIT;

pub fn run(args: &TokenArgs, ctx: &Context) -> Result<()> {
    let min_ttl = i64::try_from(args.min_ttl).unwrap_or(i64::MAX);
    let client_credentials = client_credentials::requested(ctx, &args.client)?;
    let Some(key) = ctx.selected_key(&args.selector)? else {
        return Err(if client_credentials {
            Error::usage(
                "client credentials need --issuer URL and --client-id ID (or VMAUTH_ISSUER and VMAUTH_CLIENT_ID)",
            )
        } else {
            not_logged_in(None, "not logged in")
        });
    };
    let cached = ctx.store.get(&key)?;
    let wanted = Wanted::from_args(ctx, args)?;
    if wanted.is_some()
        && !client_credentials
        && cached
            .as_ref()
            .is_none_or(|c| c.client_credentials.is_none())
    {
        return Err(Error::usage(
            "--scope and --resource choose what a client-credentials token is for; to change a device login's scopes, run vmauth login with them",
        ));
    }
    let serves = |c: &Credential| {
        c.ttl(now_unix()) >= min_ttl && wanted.as_ref().is_none_or(|w| w.matches(c))
    };
    match &cached {
        Some(c) if serves(c) => return print_token(&c.access_token),
        None if !client_credentials => return Err(not_logged_in(Some(&key), "not logged in")),
        _ => {}
    }
    let fresh = if client_credentials || cached.is_some_and(|c| c.client_credentials.is_some()) {
        renew_client_credentials(ctx, &key, args, &serves)?
    } else {
        refresh_single_flight(ctx, &key, min_ttl)?
    };
    print_token(&fresh.access_token)
}

/// Client credentials have no refresh token: request a new token, under the same
/// per-login lock so parallel jobs share one request.
fn renew_client_credentials(
    ctx: &Context,
    key: &str,
    args: &TokenArgs,
    serves: &dyn Fn(&Credential) -> bool,
) -> Result<Credential> {
    let _lock = ctx.current.lock_login(key, LOCK_WAIT)?;
    let previous = ctx.store.get(key)?;
    if let Some(c) = &previous
        && serves(c)
    {
        return Ok(c.clone());
    }
    let id = login_id_from_key(key);
    let new = client_credentials::fetch(ctx, &id, &args.request, &args.client, previous.as_ref())?;
    ctx.store.put(key, &new)?;
    Ok(new)
}

/// Scopes and resources named on this command line; a cached client-credentials
/// token serves only a request for the same ones (a token for `deploy:prod` must
/// not answer a request for `read`, nor the other way round).
struct Wanted {
    scopes: BTreeSet<String>,
    resources: BTreeSet<String>,
}

impl Wanted {
    fn from_args(ctx: &Context, args: &TokenArgs) -> Result<Option<Wanted>> {
        if args.request.scope.is_none() && args.request.resource.is_empty() {
            return Ok(None);
        }
        let (scopes, resources) = request_params(ctx, &args.request, "")?;
        Ok(Some(Wanted {
            scopes: scopes.into_iter().collect(),
            resources: resources.into_iter().collect(),
        }))
    }

    fn matches(&self, c: &Credential) -> bool {
        let stored: BTreeSet<String> = c
            .requested_scope
            .as_deref()
            .map(crate::config::parse_scopes)
            .unwrap_or_default()
            .into_iter()
            .collect();
        stored == self.scopes
            && c.resource.iter().cloned().collect::<BTreeSet<_>>() == self.resources
    }
}

pub fn print_token(token: &Secret) -> Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{}", token.expose())
        .and_then(|_| out.flush())
        .map_err(|e| Error::storage(format!("cannot write the token to stdout: {e}")))
}

/// Refresh under the per-login lock. Another process may have refreshed while we
/// waited: use its token instead of spending the (rotating) refresh token again.
pub fn refresh_single_flight(ctx: &Context, key: &str, min_ttl: i64) -> Result<Credential> {
    let _lock = ctx.current.lock_login(key, LOCK_WAIT)?;
    let cred = ctx
        .store
        .get(key)?
        .ok_or_else(|| not_logged_in(Some(key), "not logged in"))?;
    if cred.ttl(now_unix()) >= min_ttl {
        return Ok(cred);
    }
    let Some(rt) = cred.refresh_token.clone() else {
        return Err(not_logged_in(
            Some(key),
            "the access token has expired and there is no refresh token",
        ));
    };
    match refresh_once(ctx, &cred, &rt) {
        Ok(new) => {
            ctx.store.put(key, &new)?;
            Ok(new)
        }
        Err(RefreshError::Rejected(why)) => {
            // The refresh token was refused. If another writer (the ValidMind library,
            // an older vmauth) saved a newer one meanwhile, try once with that.
            let again = ctx.store.get(key)?;
            match again {
                Some(c) if c.ttl(now_unix()) >= min_ttl => Ok(c),
                Some(c) if c.refresh_token.as_ref().is_some_and(|r| *r != rt) => {
                    let rt2 = c.refresh_token.clone().unwrap_or(rt);
                    let new = refresh_once(ctx, &c, &rt2).map_err(|e| e.into_error(key))?;
                    ctx.store.put(key, &new)?;
                    Ok(new)
                }
                _ => Err(RefreshError::Rejected(why).into_error(key)),
            }
        }
        Err(e) => {
            let now = now_unix();
            let e = e.into_error(key);
            // Cannot refresh now (IdP down, network), but the token still works for a
            // while. A configuration problem (missing secret) is reported, not hidden.
            if cred.ttl(now) > 0 && e.kind() == Kind::Idp {
                ctx.ui.warn(&format!(
                    "{e}; using the cached token, valid for {}s more",
                    cred.ttl(now)
                ));
                Ok(cred)
            } else {
                Err(e)
            }
        }
    }
}

enum RefreshError {
    /// The identity provider said the refresh token is no good (`invalid_grant`).
    Rejected(String),
    /// Anything else: network, server, configuration.
    Other(Error),
}

impl RefreshError {
    fn into_error(self, key: &str) -> Error {
        match self {
            RefreshError::Rejected(why) => not_logged_in(
                Some(key),
                &format!("the login has expired or was revoked ({why})"),
            ),
            RefreshError::Other(e) => e.context("cannot refresh the access token"),
        }
    }
}

fn refresh_once(ctx: &Context, cred: &Credential, rt: &Secret) -> Result<Credential, RefreshError> {
    let rt_value = runtime().map_err(RefreshError::Other)?;
    let (tokens, published) = rt_value.block_on(async {
        let http = http(Duration::from_secs(20)).map_err(RefreshError::Other)?;
        let meta = discover(&http, &cred.issuer)
            .await
            .map_err(|e| RefreshError::Other(e.into()))?;
        let mut client = ClientRequest {
            client_id: cred.client_id.clone(),
            audience: cred.audience.clone(),
            resources: cred.resource.clone(),
            ..Default::default()
        };
        // A confidential device client authenticates again, as it did at login.
        if let Some(settings) = &cred.client_auth {
            let src = Source::new(&Default::default(), Some(settings));
            let (auth, _) = resolve(ctx, &src, &meta).map_err(RefreshError::Other)?;
            client.auth = auth;
            client.assertion_audience = src.assertion_audience(&meta);
        }
        let tokens = refresh(&http, meta.token_endpoint(), &client, rt.expose())
            .await
            .map_err(|e| match e.oauth_code() {
                // The grant is gone, or the provider wants the person back (Entra
                // conditional access, MFA, consent): a new login is needed.
                Some(
                    code @ ("invalid_grant"
                    | "interaction_required"
                    | "login_required"
                    | "consent_required"),
                ) => RefreshError::Rejected(code.to_string()),
                _ => RefreshError::Other(e.into()),
            })?;
        Ok::<_, RefreshError>((tokens, meta.issuer))
    })?;
    if let Some(idt) = &tokens.id_token {
        let refuse = |why: String| {
            RefreshError::Other(Error::new(
                Kind::Idp,
                format!("refusing the refreshed tokens: {why}"),
            ))
        };
        crate::oidc::jwt::check_id_token(idt, &cred.issuer, &published, &cred.client_id)
            .map_err(refuse)?;
        // OIDC Core §12.2: a refreshed ID token is about the same person.
        let sub = |t: &str| {
            crate::oidc::jwt::claims(t)
                .and_then(|c| c.get("sub").and_then(|s| s.as_str()).map(str::to_string))
        };
        if let (Some(old), Some(new)) = (
            cred.id_token.as_ref().and_then(|t| sub(t.expose())),
            sub(idt),
        ) && old != new
        {
            return Err(refuse("its subject differs from the logged-in user".into()));
        }
    }
    let now = now_unix();
    let mut new = cred.clone();
    new.expires_at = expires_at(now, tokens.expires_in, &tokens.access_token);
    new.access_token = Secret::new(tokens.access_token);
    // Keep the old refresh token / id token when the server sends none (RFC 6749 §6).
    if let Some(r) = tokens.refresh_token {
        new.refresh_token = Some(Secret::new(r));
    }
    if let Some(i) = tokens.id_token {
        new.id_token = Some(Secret::new(i));
    }
    if tokens.scope.is_some() {
        new.scope = tokens.scope;
    }
    if tokens.token_type.is_some() {
        new.token_type = tokens.token_type;
    }
    Ok(new)
}
