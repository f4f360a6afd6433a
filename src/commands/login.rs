//! `vmauth login`: discovery → the sign-in (the device flow: a code to enter
//! anywhere; or the browser flow: this machine's browser, or an address
//! pasted back) → check the ID token → store → make it the current login.
//! `--flow auto` takes the device flow when the provider offers it, else the
//! browser, and the browser when the device flow is refused by policy.
//! With client credentials: request a token as the client and store it.

use std::time::Duration;

use crate::cli::FlowChoice;
use crate::credential::{Credential, LoginId};
use crate::error::{Error, Result};
use crate::loopback::{BindError, Listener, Verdict};
use crate::oidc::browser::{AuthorizationRequest, MAX_PARAM, Refused, Returned, parse_pasted};
use crate::oidc::device::{PollError, PollEvent, authorize, refused_by_policy};
use crate::oidc::grant::new_credential;
use crate::oidc::http::require_secure;
use crate::settings::{DEFAULT_SCOPE, LoginSettings, Redirect};
use crate::store::StoreKind;
use crate::ui::{DevicePage, Show, human_duration};

use super::Context;
use super::output::{print_token, who};
use crate::context::client_source::Source;
use crate::oidc::provider::{Ask, Login, MetadataSource, Provider};

/// Run `vmauth login`.
pub(crate) fn run(s: &LoginSettings, ctx: &Context) -> Result<()> {
    if let Some(r) = &s.resource_first {
        // Start from the API: find its sign-in and who vmauth is there.
        let started = super::resource_login::start(r, ctx)?;
        // Without --scope: the login's own scopes and the ones the API names.
        let mut scopes = s.request.scopes_or(DEFAULT_SCOPE);
        if s.request.scopes.is_none() {
            for extra in &started.scopes {
                if !scopes.contains(extra) {
                    scopes.push(extra.clone());
                }
            }
        }
        return match sign_in_and_keep(s, ctx, &started.id, &scopes) {
            Err(e) if started.kept_registration && e.find_cause::<RefusedClient>().is_some() => {
                let id = super::resource_login::register_again(r, ctx, &started.id)?;
                sign_in_and_keep(s, ctx, &id, &scopes)
            }
            other => other,
        };
    }
    let id = s.login.clone().ok_or_else(|| {
        Error::usage(
            "login needs --issuer URL and --client-id ID (or VMAUTH_ISSUER and VMAUTH_CLIENT_ID), or an API's URL: vmauth login https://api.example.com",
        )
    })?;
    if s.client.client_credentials {
        // Refuse an insecure issuer before the store is read for it.
        require_secure(&id.issuer, "issuer")?;
        let previous = ctx.load(&id.cache_key()).ok().flatten();
        let credential = super::acquire::fetch_client_credentials(
            ctx,
            &id,
            &s.request,
            &s.client,
            previous.as_ref(),
        )?;
        // Tokens a refused refresh put aside for an earlier login of this key
        // stay for `vmauth logout` (a CI job's login revokes nothing).
        save(ctx, &id, credential)?;
        return save_profile(s, ctx, &id, None, &[]);
    }
    sign_in_and_keep(s, ctx, &id, &s.request.scopes_or(DEFAULT_SCOPE))
}

/// Sign in as `id` asking for `scopes` (device or browser flow), keep the
/// login, make it current.
fn sign_in_and_keep(
    s: &LoginSettings,
    ctx: &Context,
    id: &LoginId,
    scopes: &[String],
) -> Result<()> {
    let id = id.clone();
    let scopes = scopes.to_vec();
    let rt = ctx.runtime()?;
    let (
        Login {
            tokens,
            client_auth,
            userinfo,
        },
        flow,
    ) = rt.block_on(async {
        tokio::select! {
            r = sign_in(s, ctx, &id, &scopes) => r,
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
    // Tokens a refresh of the old login put aside as another party's.
    if let Some(aside) = save(ctx, &id, credential)? {
        let r = super::logout::revoke_aside(ctx, &id.cache_key(), &aside, &s.client);
        ctx.ui
            .info(&format!("Tokens put aside after a refused refresh: {r}."));
    }
    save_profile(s, ctx, &id, Some(flow), &scopes)
}

/// `--save-profile NAME`: the options this login used, as `[profiles.NAME]` in
/// config.toml (secrets never; the file keeps its comments and order), with
/// the flow that worked.
fn save_profile(
    s: &LoginSettings,
    ctx: &Context,
    id: &LoginId,
    flow: Option<FlowChoice>,
    asked: &[String],
) -> Result<()> {
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
        // A login started from an API also asked for the API's scopes.
        scope: s.request.scopes.as_ref().map(|v| v.join(" ")).or_else(|| {
            s.resource_first
                .as_ref()
                .map(|_| asked.join(" "))
                .filter(|v| !v.is_empty())
        }),
        resource: (!s.request.resources.is_empty()).then(|| s.request.resources.clone()),
        grant: c.client_credentials.then(|| c.grant.name().to_string()),
        federated_token: c.federated.as_ref().map(|f| f.source.spec.clone()),
        federated_audience: c.federated.as_ref().and_then(|f| f.audience.clone()),
        actor_token: c
            .federated
            .as_ref()
            .and_then(|f| f.actor.as_ref().map(|a| a.spec.clone())),
        subject_token_type: c
            .federated
            .as_ref()
            .filter(|f| f.subject_type != crate::oidc::exchange::TokenType::Jwt)
            .map(|f| {
                f.subject_type
                    .urn()
                    .rsplit(':')
                    .next()
                    .unwrap_or("jwt")
                    .to_string()
            }),
        params: (!c.params.is_empty()).then(|| c.params.iter().cloned().collect()),
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
        flow: flow.map(|f| flow_name(f).to_string()),
        redirect_port: match s.redirect {
            Redirect::Port(p) => Some(p),
            _ => None,
        },
        redirect_uri: match &s.redirect {
            Redirect::Uri { ipv6, port, path } => Some(if *ipv6 {
                format!("http://[::1]:{port}{path}")
            } else {
                format!("http://127.0.0.1:{port}{path}")
            }),
            _ => None,
        },
        ..Default::default()
    };
    ctx.state.save_profile(name, &profile)?;
    ctx.ui.info(&format!(
        "Saved profile {name} in {}; use it with --profile {name}.",
        ctx.common.config_file.display()
    ));
    Ok(())
}

/// Store the new login, make it current, and say who is logged in. Returns
/// tokens put aside for this login after a refused refresh (to revoke).
fn save(ctx: &Context, id: &LoginId, credential: Credential) -> Result<Option<Credential>> {
    let key = id.cache_key();
    if ctx.store()?.kind() == StoreKind::Memory {
        // Nothing is persisted, so the token is this command's product (documented).
        ctx.ui.info(&format!(
            "Logged in as {} at {} (--store memory: nothing stored; the access token is on stdout).",
            who(&credential),
            id.issuer
        ));
        print_token(ctx, &credential.access_token)?;
        // Nothing becomes current, but what a refused refresh of an earlier
        // login put aside is still revoked now.
        return Ok(ctx.state.set_aside_tokens(&key));
    }
    let (kind, location) = ctx.store()?.put_located(&key, &credential)?;
    let aside = ctx.state.now_current(&key)?;
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
    Ok(aside)
}

/// The flow `s` asks for (`auto`: chosen here, with a notice saying which and
/// why), run to accepted tokens; and which flow it was.
async fn sign_in(
    s: &LoginSettings,
    ctx: &Context,
    id: &LoginId,
    scopes: &[String],
) -> Result<(Login, FlowChoice)> {
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
    let confidential = source.is_some();
    let flow = match s.flow {
        FlowChoice::Auto => {
            let (flow, why) = choose_flow(
                provider.meta.device_authorization_endpoint.is_some(),
                provider.offers_browser(),
            );
            if let Some(why) = why {
                ctx.ui.info(&format!("{} {why}.", id.issuer));
            }
            flow
        }
        f => f,
    };
    if flow == FlowChoice::Browser {
        return Ok((browser_flow(s, ctx, &provider).await?, FlowChoice::Browser));
    }
    match device_flow(s, ctx, id, &provider, scopes, confidential).await {
        Err(Failure::Blocked(e)) if s.flow == FlowChoice::Auto => {
            let paste = ctx.io.stdin_tty;
            let browser = match s.open {
                Some(open) => open,
                None => s.desktop.can_open_browser().is_ok(),
            };
            if !provider.offers_browser() || (!browser && !paste) {
                return Err(blocked(
                    &e,
                    id,
                    "and no browser can be opened here, nor an address pasted (stdin is not a terminal)",
                ));
            }
            ctx.ui.info(&format!(
                "The device flow is not allowed for this sign-in ({e}); signing in with the browser instead."
            ));
            Ok((browser_flow(s, ctx, &provider).await?, FlowChoice::Browser))
        }
        Err(Failure::Blocked(e)) => Err(blocked(&e, id, "")),
        Err(Failure::Other(e)) => Err(e),
        Ok(login) => Ok((login, FlowChoice::Device)),
    }
}

/// `auto`'s choice from what the issuer offers: the device flow when it has a
/// device authorization endpoint, else the browser (saying why); with neither,
/// the device flow, whose error says what is missing.
pub(crate) fn choose_flow(device: bool, browser: bool) -> (FlowChoice, Option<&'static str>) {
    match (device, browser) {
        (false, true) => (
            FlowChoice::Browser,
            Some("offers no device flow; signing in with the browser"),
        ),
        _ => (FlowChoice::Device, None),
    }
}

/// The device flow refused by policy, as an error that says what to do.
fn blocked(e: &crate::oidc::ProtocolError, id: &LoginId, also: &str) -> Error {
    let also = if also.is_empty() {
        String::new()
    } else {
        format!(" {also}")
    };
    Error::not_completed(format!(
        "the identity provider does not allow the device flow for client {:?} ({e}){also}; sign in with the browser: vmauth login --flow browser (over SSH, paste the address the browser is sent to)",
        id.client_id
    ))
}

/// How the device flow ended without tokens.
enum Failure {
    /// Refused by the client's registration or the organisation's policy
    /// (`auto` goes on with the browser).
    Blocked(crate::oidc::ProtocolError),
    /// Anything else.
    Other(Error),
}

impl From<Error> for Failure {
    fn from(e: Error) -> Failure {
        Failure::Other(e)
    }
}

async fn device_flow(
    s: &LoginSettings,
    ctx: &Context,
    id: &LoginId,
    provider: &Provider<'_>,
    scopes: &[String],
    confidential: bool,
) -> std::result::Result<Login, Failure> {
    let limit = Duration::from_secs(30);
    let endpoint = provider.meta.device_endpoint().map_err(Error::from)?;
    let auth = said_if_slow(
        ctx,
        endpoint,
        "a device code",
        limit,
        authorize(&provider.http, endpoint, &provider.client),
    )
    .await
    .map_err(|e| failure(e, id, confidential))?;

    let waiting = ctx.ui.device_prompt(
        &DevicePage {
            uri: &auth.verification_uri,
            complete: auth.verification_uri_complete.as_deref(),
            user_code: &auth.user_code,
            expires_in: auth.expires_in,
        },
        Show {
            qr: s.qr.unwrap_or(ctx.ui.tty),
            open: s.open == Some(true),
        },
    );
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
        PollError::Denied => Failure::Other(Error::not_completed(
            "login denied at the identity provider",
        )),
        PollError::Expired => Failure::Other(Error::not_completed(
            "the code expired before it was approved; run vmauth login again",
        )),
        PollError::Failed(e) => failure(e, id, confidential),
    })?;
    Ok(accept(provider, tokens, scopes, None).await?)
}

/// The tokens of a sign-in, accepted ([`Provider::accept_login`]).
async fn accept(
    provider: &Provider<'_>,
    tokens: crate::oidc::grant::TokenResponse,
    scopes: &[String],
    nonce: Option<&str>,
) -> Result<Login> {
    provider
        .accept_login(tokens, scopes, nonce, super::output::SHOWN_CLAIMS)
        .await
        .map_err(|why| Error::idp(format!("refusing the login: the ID token: {why}")))
}

/// A device authorization or poll failure: refused by policy, or an error.
fn failure(e: crate::oidc::ProtocolError, id: &LoginId, confidential: bool) -> Failure {
    if refused_by_policy(&e) {
        Failure::Blocked(e)
    } else {
        Failure::Other(refused_client(e, id, confidential))
    }
}

/// The browser flow: a loopback listener, the sign-in page (opened where a
/// browser is plausible, always printed), and, when stdin is a terminal in
/// the foreground, a prompt for the address the browser was sent to,
/// whichever answers first within `--timeout`; then the code is redeemed (while
/// the browser gets its page) and the tokens accepted.
async fn browser_flow(s: &LoginSettings, ctx: &Context, provider: &Provider<'_>) -> Result<Login> {
    let listener = Listener::bind(&s.redirect).await.map_err(|e| match e {
        BindError::InUse(port) => Error::usage(format!(
            "port {port} on the loopback interface is in use, so the browser cannot be sent back to vmauth; close what listens there (another vmauth login?) or register another redirect URI for the client and give it with --redirect-port or --redirect-uri"
        )),
        BindError::Other(e) => Error::with_cause(
            crate::error::Kind::Idp,
            "cannot listen on the loopback interface (127.0.0.1 or [::1]) for the browser's answer",
            e,
        ),
    })?;
    let request = provider
        .authorization_request(&listener.redirect_uri)
        .await
        .map_err(|e| Error::from(e).context("cannot start the browser sign-in"))?;
    let ui = &ctx.ui;
    let paste = ctx.io.stdin_tty;
    ui.browser_prompt(&request.url, s.qr.unwrap_or(ui.tty), paste);
    if let Some(within) = request.expires_in.filter(|d| *d < s.timeout) {
        ui.info(&format!(
            "The address is good for {}: open it before then.",
            human_duration(within)
        ));
    }
    if open_browser_here(s, ui) {
        // On its own thread: a text browser (BROWSER=w3m) runs until it is quit.
        let (ui, url) = (ui.clone(), request.url.clone());
        std::thread::spawn(move || {
            if let Err(why) = crate::ui::open_browser(&url) {
                ui.warn(&format!(
                    "could not open a browser ({why}); open the address above yourself"
                ));
            }
        });
    }
    let waiting = ui.waiting_for_browser(s.timeout);
    let mut warned = 0;
    let answer = tokio::time::timeout(s.timeout, async {
        let mut judge = |params: Vec<(String, String)>| match request.code(&Returned::Query(params))
        {
            Ok(code) => Verdict::Accept(Ok(code)),
            Err(Refused::NotOurs(why)) => {
                // Anyone on this machine can send these: a few are said, not all.
                match warned {
                    0..3 => ui.warn(&format!("refused a request to the sign-in listener: {why}")),
                    3 => ui.warn("refused more requests to the sign-in listener (not shown)"),
                    _ => {}
                }
                warned += 1;
                Verdict::Ignore("This answer is not for the sign-in vmauth is waiting for.".into())
            }
            Err(e @ Refused::Error { .. }) => {
                let msg = e.to_string();
                Verdict::Reject(Err(e), msg)
            }
        };
        let listened = async {
            match listener.answer(&mut judge).await {
                Ok((code, done)) => (code, Some(done)),
                Err((refused, _)) => (refused, None),
            }
        };
        if paste {
            tokio::select! {
                r = listened => r,
                r = pasted(ctx, &request) => (r, None),
            }
        } else {
            listened.await
        }
    })
    .await;
    drop(waiting);
    let (code, done) = match answer {
        Err(_) => {
            return Err(Error::not_completed(format!(
                "no answer from the browser within {}; run vmauth login again (--timeout gives more time; over SSH, paste the address the browser was sent to)",
                human_duration(s.timeout)
            )));
        }
        Ok((Err(Refused::Error { error, description }), _)) => {
            let text = match description {
                Some(d) => format!("{error}: {d}"),
                None => error,
            };
            return Err(Error::not_completed(format!(
                "the sign-in was not completed: the identity provider answered {text}"
            )));
        }
        Ok((Err(Refused::NotOurs(why)), _)) => return Err(Error::not_completed(why)),
        Ok((Ok(code), done)) => (code, done),
    };
    // The browser gets its page while the code is redeemed.
    let serve = async {
        if let Some(done) = done {
            done.serve().await;
        }
    };
    let (tokens, ()) = tokio::join!(provider.exchange_code(&request, &code), serve);
    let tokens = tokens.map_err(|e| {
        Error::from(e).context("the identity provider did not redeem the sign-in's code")
    })?;
    let scopes = &provider.client.scopes;
    accept(provider, tokens, scopes, request.nonce.as_deref()).await
}

/// Whether the browser flow opens a browser: `--open`/`--no-open`, else where
/// one is plausible (saying why not).
fn open_browser_here(s: &LoginSettings, ui: &crate::ui::Ui) -> bool {
    match s.open {
        Some(open) => open,
        None => match s.desktop.can_open_browser() {
            Ok(()) => true,
            Err(why) => {
                ui.info(&format!("Not opening a browser: {why}."));
                false
            }
        },
    }
}

/// Lines pasted on the terminal, until one is this sign-in's answer (an
/// address or code that is not says why and asks again); never ends at the
/// end of input (the listener may still answer). The terminal is read on a
/// thread of its own, which a finished login leaves behind (a blocked read
/// cannot be cancelled; the process's exit ends it).
async fn pasted(
    ctx: &Context,
    request: &AuthorizationRequest,
) -> std::result::Result<String, Refused> {
    let (tx, mut lines) = tokio::sync::mpsc::unbounded_channel();
    let io = ctx.io.clone();
    std::thread::spawn(move || {
        loop {
            let line = io.read_line(4 * MAX_PARAM);
            let end = !matches!(line, Ok(Some(_)) | Err(_));
            if tx.send(line).is_err() || end {
                return;
            }
        }
    });
    loop {
        let line = match lines.recv().await {
            Some(Ok(Some(line))) => line,
            Some(Err(_)) => {
                ctx.ui.warn("that line is too long to be the address the browser was sent to; paste it again");
                continue;
            }
            // The end of input: only the listener can answer now.
            Some(Ok(None)) | None => return std::future::pending().await,
        };
        if line.trim().is_empty() {
            continue;
        }
        let Some(returned) = parse_pasted(&line) else {
            ctx.ui.warn("that is neither the address the browser was sent to nor a code; paste the whole address from the browser's address bar");
            continue;
        };
        match request.code(&returned) {
            Ok(code) => return Ok(code),
            Err(Refused::NotOurs(why)) => ctx
                .ui
                .warn(&format!("{why}; paste the address of this sign-in")),
            Err(e) => return Err(e),
        }
    }
}

/// The name `--flow` and the profile key `flow` take.
fn flow_name(f: FlowChoice) -> &'static str {
    match f {
        FlowChoice::Auto => "auto",
        FlowChoice::Device => "device",
        FlowChoice::Browser => "browser",
    }
}

/// The identity provider refused the client itself (a kept registration the
/// server forgot is then registered again); the message says what to check.
#[derive(Debug)]
struct RefusedClient(String);

impl std::fmt::Display for RefusedClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for RefusedClient {}

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
    Error::wrap(
        crate::error::Kind::Usage,
        RefusedClient(format!(
            "the identity provider refused client {:?} ({e}); {check}",
            id.client_id
        )),
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

#[cfg(test)]
#[path = "resource_login_tests.rs"]
mod resource_login_tests;
