//! `vmauth login`: discovery → device authorization → show QR/URL/code →
//! poll → check the ID token → store → make it the current login.
//! With client credentials: request a token as the client and store it.

use std::time::Duration;

use crate::credential::{Credential, LoginId};
use crate::error::{Error, Result};
use crate::oidc::device::{PollError, PollEvent, authorize};
use crate::oidc::grant::new_credential;
use crate::oidc::http::require_secure;
use crate::settings::{DEFAULT_SCOPE, LoginSettings};
use crate::store::StoreKind;
use crate::ui::human_duration;

use super::Context;
use super::output::{print_token, who};
use crate::context::client_source::Source;
use crate::oidc::provider::{Ask, Login, MetadataSource, Provider};

/// Run `vmauth login`.
pub(crate) fn run(s: &LoginSettings, ctx: &Context) -> Result<()> {
    let id = s.login.clone().ok_or_else(|| {
        Error::usage(
            "login needs --issuer URL and --client-id ID (or VMAUTH_ISSUER and VMAUTH_CLIENT_ID)",
        )
    })?;
    // Refuse insecure issuers before any network traffic.
    require_secure(&id.issuer, "issuer")?;
    if s.client.client_credentials {
        let previous = ctx.load(&id.cache_key()).ok().flatten();
        let credential = super::acquire::fetch_client_credentials(
            ctx,
            &id,
            &s.request,
            &s.client,
            previous.as_ref(),
        )?;
        save(ctx, &id, credential)?;
        return save_profile(s, ctx, &id);
    }
    let scopes = s.request.scopes_or(DEFAULT_SCOPE);
    let rt = ctx.runtime()?;
    let Login {
        tokens,
        client_auth,
        userinfo,
    } = rt.block_on(async {
        tokio::select! {
            r = device_flow(s, ctx, &id, &scopes) => r,
            _ = tokio::signal::ctrl_c() => Err(Error::interrupted()),
        }
    })?;
    let verified = tokens.id_token.is_some();
    let mut credential = new_credential(
        &id,
        tokens,
        ctx.clock.now_unix(),
        &scopes,
        &s.request.resources,
    );
    credential.id_token_verified = verified;
    credential.userinfo = userinfo;
    credential.client_auth = client_auth;
    save(ctx, &id, credential)?;
    // Tokens a refresh of the old login put aside as another party's.
    if let Some(r) = super::logout::revoke_set_aside(ctx, &id.cache_key(), &s.client) {
        ctx.ui
            .info(&format!("Tokens put aside after a refused refresh: {r}."));
    }
    save_profile(s, ctx, &id)
}

/// `--save-profile NAME`: the options this login used, as `[profiles.NAME]` in
/// config.toml (secrets never; the file keeps its comments and order).
fn save_profile(s: &LoginSettings, ctx: &Context, id: &LoginId) -> Result<()> {
    let Some(name) = &s.save_profile else {
        return Ok(());
    };
    // TOML holds text: a path that is not UTF-8 is written as it displays.
    let lossy = |p: &Option<std::path::PathBuf>| {
        p.as_ref()
            .map(|p| std::path::PathBuf::from(p.to_string_lossy().into_owned()))
    };
    let c = &s.client;
    let profile = crate::profiles::Profile {
        issuer: Some(id.issuer.clone()),
        client_id: Some(id.client_id.clone()),
        audience: id.audience.clone(),
        scope: s.request.scopes.as_ref().map(|v| v.join(" ")),
        resource: (!s.request.resources.is_empty()).then(|| s.request.resources.clone()),
        grant: c
            .client_credentials
            .then(|| "client_credentials".to_string()),
        client_auth: c.method.map(|m| m.name().to_string()),
        client_secret_file: lossy(&c.secret_file),
        private_key: lossy(&c.private_key),
        client_assertion_file: lossy(&c.assertion_file),
        key_id: c.key_id.clone(),
        // The names the config file, the flag and the variable take (serde's).
        assertion_audience: c.assertion_audience.and_then(|a| {
            serde_json::to_value(a)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
        }),
        ..Default::default()
    };
    ctx.state.save_profile(name, &profile)?;
    ctx.ui.info(&format!(
        "Saved profile {name} in {}; use it with --profile {name}.",
        ctx.config_file.display()
    ));
    Ok(())
}

/// Store the new login, make it current, and say who is logged in.
fn save(ctx: &Context, id: &LoginId, credential: Credential) -> Result<()> {
    let key = id.cache_key();
    if ctx.store()?.kind() == StoreKind::Memory {
        // Nothing is persisted, so the token is this command's product (documented).
        ctx.ui.info(&format!(
            "Logged in as {} at {} (--store memory: nothing stored; the access token is on stdout).",
            who(&credential),
            id.issuer
        ));
        return print_token(ctx, &credential.access_token);
    }
    let (kind, location) = ctx.store()?.put_located(&key, &credential)?;
    // Tokens an earlier refresh kept aside are older than this login.
    ctx.state.forget_rescued(&key);
    ctx.state.set(Some(&key))?;
    ctx.ui.info(&format!(
        "Logged in as {} at {} (stored in {}: {location}).",
        who(&credential),
        id.issuer,
        kind.name(),
    ));
    if let Some(w) = super::output::audience_warning(&credential) {
        ctx.ui.warn(&w);
    }
    if credential.refresh_token.is_none() && !credential.is_client_credentials() {
        ctx.ui.warn(
            "the identity provider sent no refresh token (ask for the offline_access scope); `vmauth token` will need a new login when the access token expires",
        );
    }
    Ok(())
}

async fn device_flow(
    s: &LoginSettings,
    ctx: &Context,
    id: &LoginId,
    scopes: &[String],
) -> Result<Login> {
    let source = s
        .client
        .requested()
        .then(|| Source::new(ctx, &s.client, None));
    let ask = Ask {
        scopes,
        resources: &s.request.resources,
        auth: source.as_ref().map(|s| s as _),
    };
    let limit = Duration::from_secs(30);
    let provider = said_if_slow(
        ctx,
        &id.issuer,
        "its metadata",
        limit,
        Provider::open(ctx.seams(id), id, ask, limit, MetadataSource::Fresh),
    )
    .await?;
    let endpoint = provider.meta.device_endpoint()?;
    let auth = said_if_slow(
        ctx,
        endpoint,
        "a device code",
        limit,
        authorize(&provider.http, endpoint, &provider.client),
    )
    .await
    .map_err(|e| refused_client(e, id, source.is_some()))?;

    let ui = &ctx.ui;
    let show_qr = s.qr.unwrap_or(ui.tty);
    ui.device_prompt(
        &auth.verification_uri,
        auth.verification_uri_complete.as_deref(),
        &auth.user_code,
        show_qr,
    );
    if s.open {
        let url = auth
            .verification_uri_complete
            .as_deref()
            .unwrap_or(&auth.verification_uri);
        if webbrowser::open(url).is_err() {
            ui.warn("could not open a browser; open the URL above yourself");
        }
    }

    let waiting = ui.waiting(auth.expires_in);
    let tokens = provider
        .device_tokens(&auth, |event| match event {
            PollEvent::SlowDown(i) => waiting.note(&format!(
                "the identity provider asked to poll more slowly; now every {}",
                human_duration(i)
            )),
            PollEvent::Retrying { reason, wait } => {
                waiting.note(&format!("{reason}; retrying in {}", human_duration(wait)))
            }
        })
        .await;
    drop(waiting);
    let tokens = tokens.map_err(|e| match e {
        PollError::Denied => Error::not_completed("login denied at the identity provider"),
        PollError::Expired => {
            Error::not_completed("the code expired before it was approved; run vmauth login again")
        }
        PollError::Failed(e) if e.refuses_client() => refused_client(e, id, source.is_some()),
        PollError::Failed(e) => Error::from(e).context("login failed"),
    })?;
    provider
        .accept_login(tokens, scopes, super::output::SHOWN_CLAIMS)
        .await
        .map_err(|why| Error::idp(format!("refusing the login: the ID token: {why}")))
}

/// A device authorization or poll failure; one that refuses the client is a
/// configuration problem (exit 2) with what to check.
fn refused_client(e: crate::oidc::ProtocolError, id: &LoginId, confidential: bool) -> Error {
    if !e.refuses_client() {
        return Error::from(e).context("device authorization failed");
    }
    let check = if confidential {
        "check the client id and its secret or key, and that the device code grant is enabled for it"
    } else {
        "check that it is the client id registered at the provider, and that the client is a public client (no secret) with the device code grant enabled; a confidential client needs its secret (VMAUTH_CLIENT_SECRET or --client-secret-stdin)"
    };
    Error::new(
        crate::error::Kind::Usage,
        format!(
            "the identity provider refused client {:?} ({e}); {check}",
            id.client_id
        ),
    )
}

/// After this long without an answer, a terminal is told what vmauth waits for.
const SLOW: Duration = Duration::from_millis(1500);

/// `request`, with a line on a terminal when `url`'s server has not answered
/// within [`SLOW`]: what vmauth waits for and how long it will (`limit`, the
/// bound the request keeps).
async fn said_if_slow<T>(
    ctx: &Context,
    url: &str,
    what: &str,
    limit: Duration,
    request: impl std::future::Future<Output = T>,
) -> T {
    if !ctx.ui.tty {
        return request.await;
    }
    let mut request = std::pin::pin!(request);
    tokio::select! {
        answer = &mut request => answer,
        () = tokio::time::sleep(SLOW) => {
            let host = url::Url::parse(url)
                .ok()
                .and_then(|u| u.host_str().map(str::to_string))
                .unwrap_or_else(|| url.to_string());
            ctx.ui.info(&format!(
                "Waiting for {host} to answer ({what}); giving up after {} …",
                crate::ui::human_duration(limit)
            ));
            request.await
        }
    }
}
