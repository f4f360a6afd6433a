//! `vmauth cargo-credential` (`vmauth --cargo-plugin`): cargo's credential
//! provider protocol, version 1 (the Cargo book, "Credential Provider
//! Protocol"). vmauth says hello (`{"v":[1]}`), then answers each request line
//! cargo sends until it closes stdin: `get` for a registry a login serves (the
//! profile named by `--profile` among the request's `args` or vmauth's own
//! flags, else the profile whose `cargo_registries` lists the registry's name
//! or index URL) gets a fresh `Bearer` token, cached by cargo until the
//! login's refresh margin; a registry no login serves gets `not-found`, so
//! cargo tries its next provider. `login` and `logout` are vmauth's own
//! commands, and refused with the one to run.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::settings::{ToolLogin, ToolLogins};

use super::Context;

/// The longest request line read.
const MAX_REQUEST: usize = 1024 * 1024;

/// A request from cargo (only the members vmauth uses; others are ignored).
#[derive(Debug, Deserialize, PartialEq, Eq)]
pub(crate) struct Request {
    /// The protocol version.
    pub v: u32,
    /// `get`, `login` or `logout`.
    pub kind: String,
    /// For `get`: `read`, `publish`, `yank`, `owners`.
    #[serde(default)]
    pub operation: Option<String>,
    /// The registry.
    pub registry: Registry,
    /// The rest of the configured provider line, then `cargo login -- …`'s.
    #[serde(default)]
    pub args: Vec<String>,
}

/// The registry a request is about.
#[derive(Debug, Deserialize, PartialEq, Eq)]
pub(crate) struct Registry {
    /// Its index URL (`sparse+https://…`).
    #[serde(rename = "index-url")]
    pub index_url: String,
    /// Its name in cargo's configuration, when it has one.
    #[serde(default)]
    pub name: Option<String>,
}

/// A successful `get`.
#[derive(Serialize)]
struct GetAnswer<'a> {
    kind: &'a str,
    token: String,
    cache: &'a str,
    expiration: i64,
    operation_independent: bool,
}

/// A failure, as cargo reads it.
#[derive(Serialize)]
struct Failure<'a> {
    kind: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<String>,
}

/// Run the provider: hello, then one answer per request line.
pub(crate) fn run(s: &ToolLogins, ctx: &Context) -> Result<()> {
    ctx.io.out(b"{\"v\":[1]}\n")?;
    while let Some(line) = ctx
        .io
        .read_line(MAX_REQUEST)
        .map_err(|e| Error::io("read cargo's request on stdin", e))?
    {
        if line.trim().is_empty() {
            continue;
        }
        let answer = match parse_request(&line) {
            Ok(request) => answer(s, ctx, &request),
            Err(why) => failure("other", Some(why)),
        };
        ctx.io.out(format!("{answer}\n").as_bytes())?;
    }
    Ok(())
}

/// A request line, checked: version 1, a registry.
pub(crate) fn parse_request(line: &str) -> std::result::Result<Request, String> {
    let request: Request = serde_json::from_str(line).map_err(|_| {
        "vmauth: cargo sent a request vmauth cannot read (protocol version 1 expected)".to_string()
    })?;
    if request.v != 1 {
        return Err(format!(
            "vmauth: cargo asked for protocol version {}; vmauth speaks version 1",
            request.v
        ));
    }
    Ok(request)
}

fn failure(kind: &str, message: Option<String>) -> String {
    let body = Failure { kind, message };
    serde_json::json!({ "Err": body }).to_string()
}

/// The answer to one request.
fn answer(s: &ToolLogins, ctx: &Context, request: &Request) -> String {
    let login = match pick(s, request) {
        Ok(Some(login)) => login,
        Ok(None) => return failure("not-found", None),
        Err(why) => return failure("other", Some(why)),
    };
    match request.kind.as_str() {
        "get" => match token(ctx, login) {
            Ok((token, expiration)) => serde_json::json!({ "Ok": GetAnswer {
                kind: "get",
                token: format!("Bearer {token}"),
                cache: "expires",
                expiration,
                operation_independent: true,
            }})
            .to_string(),
            Err(e) => failure("other", Some(format!("vmauth: {}", e.message()))),
        },
        "login" => failure(
            "other",
            Some(format!(
                "vmauth keeps this registry's login (profile {:?}); log in with: vmauth login --profile {}",
                login.profile, login.profile
            )),
        ),
        "logout" => failure(
            "other",
            Some(format!(
                "vmauth keeps this registry's login (profile {:?}); log out with: vmauth logout --profile {}",
                login.profile, login.profile
            )),
        ),
        _ => failure("operation-not-supported", None),
    }
}

/// The login for a request: `--profile NAME` among its args (or vmauth's own
/// `--profile`), which answers the registries it lists or any when it lists
/// none; else the first whose `cargo_registries` lists the registry's name or
/// index URL. Only for an https (or loopback) index.
fn pick<'a>(
    s: &'a ToolLogins,
    request: &Request,
) -> std::result::Result<Option<&'a ToolLogin>, String> {
    let mut args = request.args.iter();
    let mut named = None;
    while let Some(a) = args.next() {
        match a.as_str() {
            // The subcommand, when the provider line names it.
            "cargo-credential" => {}
            "--profile" => match args.next() {
                Some(p) => named = Some(p.clone()),
                None => {
                    return Err(
                        "vmauth: --profile in the provider line needs a profile name".into(),
                    );
                }
            },
            other => match other.strip_prefix("--profile=") {
                Some(p) => named = Some(p.to_string()),
                None => {
                    return Err(format!(
                        "vmauth: the provider line has {other:?}, which vmauth does not take there; use [\"vmauth\", \"--profile\", \"NAME\"]"
                    ));
                }
            },
        }
    }
    let index = request.registry.index_url.trim_end_matches('/');
    let lists = |c: &ToolLogin| {
        c.cargo_registries.iter().any(|r| {
            Some(r.as_str()) == request.registry.name.as_deref() || r.trim_end_matches('/') == index
        })
    };
    let login = match named.or_else(|| s.named.clone()) {
        // The provider line's (or vmauth's own --profile): the registries it
        // lists, or any when it lists none.
        Some(name) => {
            let Some(c) = s.candidates.iter().find(|c| c.profile == name) else {
                return Err(format!(
                    "vmauth: no profile {name:?} in config.toml (the provider line's --profile)"
                ));
            };
            (c.cargo_registries.is_empty() || lists(c)).then_some(c)
        }
        None => s.candidates.iter().find(|c| lists(c)),
    };
    // Tokens go over HTTPS only (loopback excepted).
    if let Some(c) = login {
        let url = index
            .trim_start_matches("sparse+")
            .trim_start_matches("registry+");
        if crate::oidc::http::require_secure(url, "registry").is_err() {
            return Err(format!(
                "vmauth: not giving the token of profile {:?} to {url}: only https (or http on loopback) carries tokens",
                c.profile
            ));
        }
    }
    Ok(login)
}

/// A fresh token of `login`, and until when cargo may use it (the refresh margin before it expires).
fn token(ctx: &Context, login: &ToolLogin) -> Result<(String, i64)> {
    let (settings, _) = super::acquire::tool_login(login)?;
    let credential = super::acquire::acquire_tool(ctx, login, false)?;
    let until = credential.expires_at - credential.refresh_margin(settings.min_ttl);
    Ok((credential.access_token.expose().to_string(), until))
}
