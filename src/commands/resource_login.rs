//! `vmauth login API_URL`: start from the API. Its RFC 9728 metadata names
//! the authorization server (one; the one chosen; or asked for in a
//! terminal), the user is told whose sign-in it is, and vmauth identifies
//! itself there: the `--client-id` given, its earlier registration, a Client
//! ID Metadata Document where the server takes them, else a new RFC 7591
//! registration (kept per server in the state directory, its registration
//! access token a secret). The login is then an ordinary one, keyed by the
//! API (`issuer|client|API_URL`) and asking for it as `resource` (RFC 8707).

use crate::credential::LoginId;
use crate::error::{Error, Result};
use crate::oidc::http::{Http, require_secure};
use crate::oidc::registration::{ClientMetadata, Read, Registration, read, register, unregister};
use crate::oidc::resource::{choose_server, discover_resource};
use crate::secret::Secret;
use crate::settings::ResourceFirst;
use crate::state::StoredRegistration;

use super::Context;

/// Each request to an API or its authorization server gives up after this.
const HTTP_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// Where the sign-in for the API is, and who vmauth is there.
pub(crate) struct Started {
    /// The login: the server's issuer, the client, the API as its audience key.
    pub id: LoginId,
    /// The client id came from a registration vmauth kept (so a refusal of
    /// it means the registration is gone: it is redone once).
    pub kept_registration: bool,
    /// The scopes the API says it knows (`scopes_supported`), asked for with
    /// the login's own when no `--scope` is given.
    pub scopes: Vec<String>,
}

/// Discover the API's authorization server and the client to use there.
pub(crate) fn start(r: &ResourceFirst, ctx: &Context) -> Result<Started> {
    let rt = ctx.runtime()?;
    rt.block_on(async {
        let http = crate::oidc::provider::http(HTTP_TIMEOUT)?;
        let found = discover_resource(&http, &r.resource).await.map_err(|e| {
            Error::from(e).context(format!(
                "cannot find where to sign in for {} (RFC 9728 protected resource metadata); if it is an issuer, use --issuer",
                r.resource
            ))
        })?;
        let server = match choose_server(&found.meta, r.server.as_deref()) {
            Ok(s) => s.to_string(),
            Err(list) => ask_for_server(ctx, &r.resource, &list, r.server.as_deref())?,
        };
        let issuer = crate::credential::normalize_issuer(&server);
        // The whole issuer: tenants and realms differ only in its path.
        ctx.ui.info(&format!(
            "{} uses the sign-in of {issuer}.",
            host(&r.resource)
        ));
        let (client_id, kept_registration) = match &r.client_id {
            Some(c) => (c.clone(), false),
            None => client_at(ctx, &http, &issuer, r, false).await?,
        };
        Ok(Started {
            id: LoginId::new(&issuer, &client_id, Some(&r.resource))?,
            kept_registration,
            scopes: found
                .meta
                .scopes_supported
                .iter()
                .filter(|s| {
                    // RFC 6749 §3.3 scope tokens, of a sensible length.
                    !s.is_empty()
                        && s.len() <= 128
                        && s.bytes().all(|b| b.is_ascii_graphic() && b != b'"' && b != b'\\')
                })
                .take(32)
                .cloned()
                .collect(),
        })
    })
}

/// The registration vmauth kept for `issuer` was refused: forget it and
/// register again (once); the new login id.
pub(crate) fn register_again(r: &ResourceFirst, ctx: &Context, id: &LoginId) -> Result<LoginId> {
    forget(ctx, &id.issuer, &id.client_id, &r.resource);
    let rt = ctx.runtime()?;
    let (client_id, _) = rt.block_on(async {
        let http = crate::oidc::provider::http(HTTP_TIMEOUT)?;
        client_at(ctx, &http, &id.issuer, r, true).await
    })?;
    LoginId::new(&id.issuer, &client_id, Some(&r.resource))
}

/// The client id at `issuer`: a kept registration (unless `fresh`), a Client
/// ID Metadata Document, else a new registration; and whether it was kept.
async fn client_at(
    ctx: &Context,
    http: &Http,
    issuer: &str,
    r: &ResourceFirst,
    fresh: bool,
) -> Result<(String, bool)> {
    if !fresh && let Some(kept) = ctx.state.registration(issuer) {
        if let Some(t) = &kept.registration_access_token {
            ctx.io.redact(t.expose());
        }
        // The server may have deleted it (RFC 7592 read; the browser flow
        // could not tell: a forgotten client gets an error page, no answer).
        match read(http, &registration_of(&kept)).await {
            Read::Known(None) => return Ok((kept.client_id, true)),
            // Rotated at this read: the old token is dead, keep the new one.
            Read::Known(Some(rotated)) => {
                keep(ctx, issuer, &rotated)?;
                return Ok((kept.client_id, true));
            }
            Read::Gone => forget(ctx, issuer, &kept.client_id, &r.resource),
        }
    }
    let meta = crate::oidc::discovery::discover(http, issuer).await?.meta;
    if let Some(url) = &r.client_metadata_url {
        if meta.client_id_metadata_document_supported {
            let u = require_secure(url, "--client-metadata-url")?;
            if u.scheme() != "https" {
                return Err(Error::usage(
                    "--client-metadata-url must be an https URL (a Client ID Metadata Document is fetched by the server)",
                ));
            }
            return Ok((url.clone(), false));
        }
        ctx.ui.warn(&format!(
            "{} does not take Client ID Metadata Documents; registering instead",
            host(issuer)
        ));
    }
    let Some(endpoint) = meta.registration_endpoint.as_deref() else {
        return Err(Error::usage(format!(
            "{issuer} offers no dynamic client registration (RFC 7591) and no --client-id was given; ask its administrator for a client id for vmauth and give --client-id"
        )));
    };
    let token = registration_token(ctx, r)?;
    let metadata = ClientMetadata::vmauth(None);
    // An initial access token goes only to a server the user named, and only
    // when it asks for one: a token exported for one server must not reach
    // whatever server an API names.
    let named = r
        .server
        .as_deref()
        .is_some_and(|p| crate::credential::normalize_issuer(p) == issuer);
    let registration = match register(http, endpoint, &metadata, None).await {
        Err(e) if wants_token(&e) && token.is_some() => {
            if !named {
                return Err(Error::usage(format!(
                    "{issuer} wants an initial access token to register vmauth; vmauth sends yours only to a server you name: add --authorization-server {issuer}"
                )));
            }
            register(http, endpoint, &metadata, token.as_ref()).await
        }
        other => other,
    };
    let registration = registration.map_err(|e| {
            let hint = if wants_token(&e) {
                "the server wants an initial access token: --registration-token-file PATH or VMAUTH_REGISTRATION_TOKEN, with --authorization-server naming the server"
            } else {
                "ask its administrator for a client id for vmauth and give --client-id"
            };
            if e.oauth_code().is_some() {
                // The server refused: a configuration the user fixes (exit 2).
                Error::new(
                    crate::error::Kind::Usage,
                    format!("{issuer} refused to register vmauth ({e}); {hint}"),
                )
            } else {
                Error::from(e).context(format!("cannot register vmauth at {issuer}"))
            }
        })?;
    keep(ctx, issuer, &registration)?;
    ctx.ui.info(&format!(
        "Registered vmauth at {} as client {}.",
        host(issuer),
        registration.client_id
    ));
    Ok((registration.client_id, false))
}

/// The server no longer knows the kept client: forget its registration and
/// its login for this API (of no use any more), and say so.
fn forget(ctx: &Context, issuer: &str, client_id: &str, resource: &str) {
    ctx.state.forget_registration(issuer);
    ctx.ui.info(&format!(
        "{} no longer knows client {client_id}; registering again.",
        host(issuer)
    ));
    if let Ok(old) = LoginId::new(issuer, client_id, Some(resource)) {
        let _ = ctx.store().and_then(|s| s.delete(&old.cache_key()));
    }
}

/// A refusal that asks for an initial access token (RFC 7591 §3.2.2 leaves
/// the form open: `invalid_token`, or a bare 401/403).
fn wants_token(e: &crate::oidc::ProtocolError) -> bool {
    matches!(e.oauth_code(), Some(crate::oidc::ErrorCode::Other(c)) if c == "invalid_token")
        || matches!(
            e,
            crate::oidc::ProtocolError::Status {
                status: 401 | 403,
                ..
            }
        )
}

fn registration_of(kept: &StoredRegistration) -> Registration {
    Registration {
        client_id: kept.client_id.clone(),
        client_secret: None,
        registration_access_token: kept.registration_access_token.clone(),
        registration_client_uri: kept.registration_client_uri.clone(),
        token_endpoint_auth_method: None,
    }
}

fn keep(ctx: &Context, issuer: &str, r: &Registration) -> Result<()> {
    if let Some(t) = &r.registration_access_token {
        ctx.io.redact(t.expose());
    }
    ctx.state.set_registration(&StoredRegistration {
        issuer: issuer.to_string(),
        client_id: r.client_id.clone(),
        registration_client_uri: r.registration_client_uri.clone(),
        registration_access_token: r.registration_access_token.clone(),
    })
}

/// The initial access token: from `--registration-token-file`, else
/// `VMAUTH_REGISTRATION_TOKEN`; never an argument.
fn registration_token(ctx: &Context, r: &ResourceFirst) -> Result<Option<Secret>> {
    let token = match &r.registration_token_file {
        Some(path) => {
            let text = crate::secret::read_file(path, "registration token file")?;
            if text.trim().is_empty() {
                return Err(Error::usage(format!(
                    "the registration token file {} is empty",
                    path.display()
                )));
            }
            Some(Secret::new(text.trim().to_string()))
        }
        None => r.registration_token.clone(),
    };
    if let Some(t) = &token {
        ctx.io.redact(t.expose());
    }
    Ok(token.filter(|t| !t.expose().is_empty()))
}

/// Several servers and none chosen: ask in a terminal, else refuse with the list.
fn ask_for_server(
    ctx: &Context,
    resource: &str,
    list: &[&str],
    asked: Option<&str>,
) -> Result<String> {
    let listed = list.join(", ");
    if let Some(a) = asked {
        return Err(Error::usage(format!(
            "{resource} does not name {a} among its authorization servers ({listed})"
        )));
    }
    if !ctx.io.stdin_tty {
        return Err(Error::usage(format!(
            "{resource} names several authorization servers ({listed}); choose one with --authorization-server URL (or the profile key authorization_server)"
        )));
    }
    let mut text = format!("{resource} takes tokens from several authorization servers:\n");
    for (i, s) in list.iter().enumerate() {
        text.push_str(&format!("  {}. {s}\n", i + 1));
    }
    text.push_str("Sign in with which one (number)? ");
    ctx.io.err(&text);
    let line = ctx
        .io
        .read_line(64)
        .map_err(|e| Error::io("read the choice", e))?
        .unwrap_or_default();
    line.trim()
        .parse::<usize>()
        .ok()
        .and_then(|n| n.checked_sub(1))
        .and_then(|i| list.get(i))
        .map(|s| s.to_string())
        .ok_or_else(|| {
            Error::usage(format!(
                "{:?} is not one of the numbers shown; choose with --authorization-server URL",
                crate::error::from_server(line.trim(), 20)
            ))
        })
}

/// `logout --unregister`: delete the registration kept for the login's server
/// (RFC 7592) when the login's client is it; a summary for the user.
pub(crate) fn unregister_kept(ctx: &Context, id: &LoginId) -> Option<String> {
    let kept = ctx.state.registration(&id.issuer)?;
    if kept.client_id != id.client_id {
        return None;
    }
    if let Some(t) = &kept.registration_access_token {
        ctx.io.redact(t.expose());
    }
    // Other logins (other APIs of the same server) still use the client; a
    // store that cannot list them keeps the registration.
    let others = match ctx.store().and_then(|s| s.list()).map(|all| {
        all.iter()
            .filter(|(k, _)| {
                let other = LoginId::from_key(k);
                other.issuer == id.issuer && other.client_id == id.client_id
            })
            .count()
    }) {
        Ok(n) => n,
        Err(e) => {
            return Some(format!(
                "registration of client {} kept: cannot tell whether other logins use it ({})",
                kept.client_id,
                e.message()
            ));
        }
    };
    if others > 0 {
        return Some(format!(
            "registration of client {} kept: {others} other login(s) use it; log out of them too",
            kept.client_id
        ));
    }
    if kept.registration_client_uri.is_none() {
        ctx.state.forget_registration(&id.issuer);
        return Some(format!(
            "registration of client {} forgotten here, not deleted at the server (it offers no RFC 7592 management)",
            kept.client_id
        ));
    }
    let registration = registration_of(&kept);
    let outcome = ctx.runtime().map_err(|e| e.message()).and_then(|rt| {
        rt.block_on(async {
            let http = crate::oidc::provider::http(HTTP_TIMEOUT).map_err(|e| e.message())?;
            unregister(&http, &registration)
                .await
                .map_err(|e| e.to_string())
        })
    });
    Some(match outcome {
        Ok(()) => {
            ctx.state.forget_registration(&id.issuer);
            format!("registration of client {} deleted", kept.client_id)
        }
        // Kept, with its token, so that a later logout --unregister can try again.
        Err(e) => format!(
            "registration of client {} not deleted ({e}); kept, run vmauth logout --unregister again",
            kept.client_id
        ),
    })
}

/// A URL's host (and port), for messages.
fn host(url: &str) -> String {
    url::Url::parse(url)
        .ok()
        .and_then(|u| {
            u.host_str()
                .map(|h| u.port().map_or(h.to_string(), |p| format!("{h}:{p}")))
        })
        .unwrap_or_else(|| url.to_string())
}
