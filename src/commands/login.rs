//! `vmauth login`: discovery → device authorization → show QR/URL/code →
//! poll → check the ID token → store → make it the current login.

use std::time::Duration;

use crate::cli::LoginArgs;
use crate::config::{DEFAULT_SCOPE, LoginId};
use crate::error::{Error, Result};
use crate::oidc::device::{Poll, PollError, PollEvent, SystemClock, authorize};
use crate::oidc::discovery::discover;
use crate::oidc::grant::{ClientRequest, TokenResponse};
use crate::oidc::http::require_secure;
use crate::oidc::jwt;
use crate::store::{ClientSettings, Credential, Secret, now_unix};
use crate::ui::human_duration;

use super::client_auth::{Source, resolve};
use super::{Context, expires_at, http, request_params, runtime, who};

pub fn run(args: &LoginArgs, ctx: &Context) -> Result<()> {
    let id = ctx.explicit_login(&args.selector)?.ok_or_else(|| {
        Error::usage(
            "login needs --issuer URL and --client-id ID (or VMAUTH_ISSUER and VMAUTH_CLIENT_ID)",
        )
    })?;
    // Refuse insecure issuers before any network traffic.
    require_secure(&id.issuer, "issuer")?;
    if super::client_credentials::requested(ctx, &args.client)? {
        let previous = ctx.store.get(&id.cache_key()).ok().flatten();
        let credential = super::client_credentials::fetch(
            ctx,
            &id,
            &args.request,
            &args.client,
            previous.as_ref(),
        )?;
        return save(ctx, &id, credential);
    }
    let (scopes, resources) = request_params(ctx, &args.request, DEFAULT_SCOPE)?;
    let client = ClientRequest {
        client_id: id.client_id.clone(),
        scopes,
        audience: id.audience.clone(),
        resources,
        ..Default::default()
    };

    let rt = runtime()?;
    let DeviceLogin {
        tokens,
        published_issuer,
        client_auth,
    } = rt.block_on(async {
        tokio::select! {
            r = device_flow(args, ctx, &id, client.clone()) => r,
            _ = tokio::signal::ctrl_c() => Err(Error::interrupted()),
        }
    })?;

    if let Some(idt) = &tokens.id_token {
        jwt::check_id_token(idt, &id.issuer, &published_issuer, &id.client_id)
            .map_err(|why| Error::idp(format!("refusing the login: {why}")))?;
    }
    let now = now_unix();
    let credential = Credential {
        issuer: id.issuer.clone(),
        client_id: id.client_id.clone(),
        audience: id.audience.clone(),
        expires_at: expires_at(now, tokens.expires_in, &tokens.access_token),
        access_token: Secret::new(tokens.access_token),
        refresh_token: tokens.refresh_token.map(Secret::new),
        id_token: tokens.id_token.map(Secret::new),
        scope: tokens.scope,
        token_type: tokens.token_type,
        resource: client.resources.clone(),
        requested_scope: Some(client.scopes.join(" ")),
        client_credentials: None,
        client_auth,
        extra: Default::default(),
    };
    save(ctx, &id, credential)
}

/// Store the new login, make it current, and say who is logged in.
fn save(ctx: &Context, id: &LoginId, credential: Credential) -> Result<()> {
    let key = id.cache_key();
    if ctx.store.kind() == "memory" {
        // Nothing is persisted, so the token is this command's product (documented).
        ctx.ui.info(&format!(
            "Logged in as {} at {} (--store memory: nothing stored; the access token is on stdout).",
            who(&credential),
            id.issuer
        ));
        return super::token::print_token(&credential.access_token);
    }
    ctx.store.put(&key, &credential)?;
    ctx.current.set(Some(&key))?;
    let (kind, location) = ctx
        .store
        .locate(&key)?
        .unwrap_or((ctx.store.kind(), ctx.store.location()));
    ctx.ui.info(&format!(
        "Logged in as {} at {} (stored in {kind}: {location}).",
        who(&credential),
        id.issuer,
    ));
    if credential.refresh_token.is_none() && credential.client_credentials.is_none() {
        ctx.ui.warn(
            "the identity provider sent no refresh token (ask for the offline_access scope); `vmauth token` will need a new login when the access token expires",
        );
    }
    Ok(())
}

/// What a completed device flow gives.
struct DeviceLogin {
    tokens: TokenResponse,
    /// The issuer as the metadata publishes it (may be a `{tenantid}` template).
    published_issuer: String,
    /// How a confidential client authenticated, to be used again on refresh.
    client_auth: Option<ClientSettings>,
}

async fn device_flow(
    args: &LoginArgs,
    ctx: &Context,
    id: &LoginId,
    mut client: ClientRequest,
) -> Result<DeviceLogin> {
    let http = http(Duration::from_secs(30))?;
    let meta = discover(&http, &id.issuer).await?;
    let endpoint = meta.device_endpoint()?;
    let mut client_auth = None;
    if Source::requested(&args.client) {
        let src = Source::new(&args.client, None);
        let (auth, method) = resolve(ctx, &src, &meta)?;
        client.auth = auth;
        client.assertion_audience = src.assertion_audience(&meta);
        client_auth = Some(src.settings(method));
    }
    let client = &client;
    let auth = authorize(&http, endpoint, client)
        .await
        .map_err(|e| Error::from(e).context("device authorization failed"))?;

    let ui = &ctx.ui;
    let show_qr = !args.no_qr && (args.qr || ui.tty);
    ui.device_prompt(
        &auth.verification_uri,
        auth.verification_uri_complete.as_deref(),
        &auth.user_code,
        show_qr,
    );
    if args.open {
        let url = auth
            .verification_uri_complete
            .as_deref()
            .unwrap_or(&auth.verification_uri);
        if webbrowser::open(url).is_err() {
            ui.warn("could not open a browser; open the URL above yourself");
        }
    }

    let waiting = ui.waiting(auth.expires_in);
    let clock = SystemClock::default();
    let poll = Poll {
        http: &http,
        clock: &clock,
        token_endpoint: meta.token_endpoint(),
        client,
    };
    let result = poll
        .run(&auth, |event| match event {
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
    let tokens = result.map_err(|e| match e {
        PollError::Denied => Error::not_completed("login denied at the identity provider"),
        PollError::Expired => {
            Error::not_completed("the code expired before it was approved; run vmauth login again")
        }
        PollError::Failed(e) => Error::from(e).context("login failed"),
    })?;
    Ok(DeviceLogin {
        tokens,
        published_issuer: meta.issuer.clone(),
        client_auth,
    })
}
