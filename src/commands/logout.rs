//! `vmauth logout`: revoke at the identity provider (RFC 7009, best effort,
//! short timeout), then always remove the login locally.

use std::time::Duration;

use crate::credential::{Credential, LoginId};
use crate::error::Result;
use crate::oidc::revoke::revoke;
use crate::oidc::{ErrorCode, ProtocolError};
use crate::settings::{ClientInput, LogoutSettings};

use super::Context;
use crate::context::client_source::Source;
use crate::oidc::provider::{Ask, MetadataSource, Provider};

/// Revocation must not hold up a logout for long.
const REVOKE_TIMEOUT: Duration = Duration::from_secs(5);

/// Run `vmauth logout`.
pub(crate) fn run(args: &LogoutSettings, ctx: &Context) -> Result<()> {
    let mut keys: Vec<String> = if args.all {
        ctx.store()?.list()?.into_iter().map(|(k, _)| k).collect()
    } else {
        ctx.selected_key(&args.login).into_iter().collect()
    };
    // Logins exchanged from one that goes (`vmauth token --exchange`) go with it.
    if !args.all && !keys.is_empty() {
        let exchanged: Vec<String> = ctx
            .store()?
            .list()?
            .into_iter()
            .filter(|(k, c)| {
                c.exchanged_from.as_deref() == keys.first().map(String::as_str) && !keys.contains(k)
            })
            .map(|(k, _)| k)
            .collect();
        keys.extend(exchanged);
    }
    let current = ctx.state.get();
    let mut removed = 0;
    for key in &keys {
        let Some(cred) = ctx.load(key).ok().flatten() else {
            if let Some(r) = revoke_set_aside(ctx, key, &args.client) {
                ctx.ui
                    .info(&format!("Tokens put aside after a refused refresh: {r}."));
            }
            // A malformed entry can still be removed.
            if ctx.store()?.delete(key)? {
                removed += 1;
            }
            continue;
        };
        // Refreshed tokens kept for a store that refused them are this login too.
        if let Some(rescued) = ctx.state.rescued(key) {
            ctx.guard(&rescued);
            ctx.state.forget_rescued(key);
        }
        let (mut report, _) = revoke_all(ctx, key, &cred, &args.client);
        if let Some(r) = revoke_set_aside(ctx, key, &args.client) {
            report.push_str(&format!("; tokens put aside after a refused refresh: {r}"));
        }
        ctx.store()?.delete(key)?;
        removed += 1;
        if args.unregister
            && let Some(r) = super::resource_login::unregister_kept(ctx, &LoginId::from_key(key))
        {
            report.push_str(&format!("; {r}"));
        }
        ctx.ui.info(&format!(
            "Logged out of {} (client {}{}): {report}.",
            cred.issuer,
            cred.client_id,
            cred.audience
                .as_deref()
                .map(|a| format!(", audience {a}"))
                .unwrap_or_default()
        ));
    }
    if current.as_ref().is_some_and(|c| keys.contains(c)) {
        ctx.state.set(None)?;
    }
    if removed == 0 {
        ctx.ui.info("Not logged in; nothing to remove.");
    }
    Ok(())
}

/// Revoke the tokens of a refresh answer that was refused as another party's
/// (kept in the state directory), if there are any: a summary of what the
/// server confirmed. They are forgotten only once nothing is left to revoke;
/// otherwise the next `vmauth login` or `logout` tries again.
pub(crate) fn revoke_set_aside(ctx: &Context, key: &str, client: &ClientInput) -> Option<String> {
    let aside = ctx.state.set_aside_tokens(key)?;
    Some(revoke_aside(ctx, key, &aside, client))
}

/// Revoke `aside`, tokens put aside for `key` ([`revoke_set_aside`]), and
/// forget them once nothing is left to revoke; what was done, in words.
pub(crate) fn revoke_aside(
    ctx: &Context,
    key: &str,
    aside: &Credential,
    client: &ClientInput,
) -> String {
    ctx.guard(aside);
    let (report, done) = revoke_all(ctx, key, aside, client);
    if done {
        ctx.state.forget_set_aside(key);
        report
    } else {
        format!("{report} (kept, to be revoked by the next vmauth login or logout)")
    }
}

/// Revoke the refresh token, then the access token. Returns a human summary of
/// what the server confirmed, and whether nothing is left to revoke; never
/// fails (local removal must always happen).
fn revoke_all(ctx: &Context, key: &str, cred: &Credential, client: &ClientInput) -> (String, bool) {
    if let Some(settings) = &cred.client_credentials
        && let Some(spec) = settings.federated_token.as_deref()
        && settings.auth != crate::credential::Method::None
    {
        // Revoking would need a fresh platform token as the client's credential.
        return (
            format!(
                "a CI job's token got with its platform's token ({spec}) is not revoked; it expires in {} s; removed locally",
                cred.ttl(ctx.clock.now_unix()).max(0)
            ),
            true,
        );
    }
    let rt = match ctx.runtime() {
        Ok(rt) => rt,
        Err(e) => return (format!("tokens not revoked ({e}); removed locally"), false),
    };
    rt.block_on(async {
        // The bound is for the whole revocation: discovery and both requests.
        let outcome = tokio::time::timeout(REVOKE_TIMEOUT, async {
            let id = LoginId::from_key(key);
            // RFC 7009 §2.1: a confidential client authenticates as it does at the
            // token endpoint, with the method and files stored with the login and
            // the secret from the environment.
            let stored = cred.client_credentials.as_ref().or(cred.client_auth.as_ref());
            let source = stored.map(|s| Source::new(ctx, client, Some(s)));
            let ask = Ask {
                auth: source.as_ref().map(|s| s as _),
                ..Default::default()
            };
            let mut provider = match Provider::open(ctx.seams(&id), &id, ask, REVOKE_TIMEOUT, MetadataSource::Cached).await {
                // A cached copy without a revocation endpoint may predate one.
                Ok(p) if p.metadata_cached() && p.meta.revocation_endpoint.is_none() => {
                    match Provider::open(ctx.seams(&id), &id, ask, REVOKE_TIMEOUT, MetadataSource::Fresh).await {
                        Ok(p) => p,
                        Err(e) => return (format!("tokens not revoked ({e}); removed locally"), false),
                    }
                }
                Ok(p) => p,
                Err(e) => return (format!("tokens not revoked ({e}); removed locally"), false),
            };
            if provider.meta.revocation_endpoint.is_none() {
                // Nothing vmauth can revoke: nothing left to do.
                return ("the identity provider offers no revocation endpoint, so its tokens stay valid until they expire; removed locally".to_string(), true);
            }
            // One revocation; sent again once if the cached metadata named an
            // endpoint that is gone and the issuer now names another.
            let mut revoke_once = async |token: &str, hint: &str| {
                provider
                    .send(|m| m.revocation_endpoint.as_deref(), async |p: &Provider<'_>| {
                        let Some(endpoint) = p.meta.revocation_endpoint.as_deref() else {
                            return Err(ProtocolError::Config(
                                "the identity provider no longer offers a revocation endpoint"
                                    .into(),
                            ));
                        };
                        revoke(&p.http, endpoint, &p.client, token, hint).await
                    })
                    .await
            };
            let mut parts = Vec::new();
            let mut refresh_revoked = false;
            let mut failed = false;
            if let Some(r) = &cred.refresh_token {
                parts.push(match revoke_once(r.expose(), "refresh_token").await {
                    Ok(()) => {
                        refresh_revoked = true;
                        "refresh token revoked".to_string()
                    }
                    Err(e) => {
                        failed = true;
                        format!("refresh token NOT revoked ({})", brief(&e))
                    }
                });
            }
            parts.push(
                match revoke_once(cred.access_token.expose(), "access_token").await {
                    Ok(()) => "access token revoked".to_string(),
                    Err(e) if e.oauth_code() == Some(&ErrorCode::UnsupportedTokenType) => {
                        "access token is self-contained (JWT) and stays valid until it expires".to_string()
                    }
                    // Some providers revoke a refresh token's access tokens with
                    // it, then call the access token invalid (400): it is dead,
                    // which is what revocation means (RFC 7009 §2.2).
                    Err(
                        ProtocolError::OAuth(crate::oidc::OAuthError { status: 400, .. })
                        | ProtocolError::Status { status: 400, .. },
                    ) if refresh_revoked => {
                        "access token already invalid (revoked with the refresh token)".to_string()
                    }
                    Err(e) => {
                        failed = true;
                        format!("access token NOT revoked ({})", brief(&e))
                    }
                },
            );
            parts.push("removed locally".to_string());
            (parts.join(", "), !failed)
        })
        .await;
        outcome.unwrap_or_else(|_| ("revocation timed out; removed locally".to_string(), false))
    })
}

fn brief(e: &ProtocolError) -> String {
    match e {
        ProtocolError::OAuth(o) => o.to_string(),
        other => other.to_string(),
    }
}
