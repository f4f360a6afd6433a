//! `vmauth git-credential get|store|erase`: git's credential helper
//! (gitcredentials(7), git-credential(1)). git asks for the credentials of a
//! host; the login whose profile lists that host (`git_hosts`), or the one
//! `--profile` names, answers with a fresh token: as a Bearer credential when
//! git says it can take one (`capability[]=authtype`, git 2.46 and later),
//! else as the password of `git_username` (default `oauth2`). A host no login
//! serves gets no answer, so git asks its next helper; vmauth never prompts.
//! `store` keeps nothing (vmauth owns the login); `erase` of the token vmauth
//! gave (the server refused it) makes the next `get` refresh it first.

use crate::error::{Error, Result};
use crate::settings::{GitCredentialSettings, ToolLogin};

use super::Context;
use super::acquire::{acquire_tool, tool_login};

/// The most of git's request read.
const MAX_REQUEST: u64 = 64 * 1024;

/// Run `vmauth git-credential`.
pub(crate) fn run(s: &GitCredentialSettings, ctx: &Context) -> Result<()> {
    let operation = s.operation.as_str();
    if !matches!(operation, "get" | "erase") {
        // `store`, and operations a later git may add: nothing to do but to
        // take git's request, so that git's write never meets a closed pipe.
        let _ = ctx.io.drain_stdin();
        return Ok(());
    }
    let text = ctx
        .io
        .read_stdin(MAX_REQUEST)
        .map_err(|e| Error::io("read git's request on stdin", e))?;
    // A request longer than git ever sends is read to its end all the same.
    let _ = ctx.io.drain_stdin();
    let request = parse_request(&text);
    let host = attr(&request, "host").unwrap_or("");
    let protocol = attr(&request, "protocol").unwrap_or("");
    let Some(login) = pick(&s.logins.candidates, s.logins.named.as_deref(), host) else {
        return Ok(());
    };
    // Tokens go over HTTPS only (loopback excepted), whatever git asks.
    if crate::oidc::http::require_secure(&format!("{protocol}://{host}/"), "git remote").is_err() {
        ctx.ui.warn(&format!(
            "not giving the token of profile {:?} to {protocol}://{host}: only https (or http on loopback) carries tokens",
            login.profile
        ));
        return Ok(());
    }
    let (settings, key) = tool_login(login)?;
    if operation == "erase" {
        // git erases what the server refused: when that is vmauth's token, the
        // next `get` refreshes first rather than hand it out again.
        let given = attr(&request, "credential").or_else(|| attr(&request, "password"));
        if let (Some(given), Ok(Some(c))) = (given, ctx.load(&key))
            && given == c.access_token.expose()
        {
            ctx.state.mark_stale(&key)?;
        }
        return Ok(());
    }
    let stale = ctx.state.take_stale(&key);
    let credential = match acquire_tool(ctx, login, stale) {
        Ok(c) => c,
        Err(e) => {
            // Not refreshed: the refused token must not be handed out next time either.
            if stale {
                let _ = ctx.state.mark_stale(&key);
            }
            return Err(e);
        }
    };
    let token = match settings.token {
        crate::cli::TokenChoice::Access => credential.access_token.expose(),
        crate::cli::TokenChoice::Id => credential.id_token.as_ref().map_or("", |t| t.expose()),
    };
    // The Bearer form when git can take it and the server did not ask for
    // something else (its WWW-Authenticate challenges come as wwwauth[]).
    let challenges: Vec<&str> = request
        .iter()
        .filter(|(k, _)| k == "wwwauth[]")
        .map(|(_, v)| v.as_str())
        .collect();
    let bearer_ok = challenges.is_empty()
        || challenges
            .iter()
            .any(|c| c.get(..6).is_some_and(|s| s.eq_ignore_ascii_case("bearer")));
    let answer = if has_capability(&request, "authtype") && bearer_ok {
        format!("capability[]=authtype\nauthtype=Bearer\ncredential={token}\nephemeral=true\n")
    } else {
        format!(
            "username={}\npassword={token}\npassword_expiry_utc={}\n",
            login.git_username.as_deref().unwrap_or("oauth2"),
            credential.expires_at
        )
    };
    ctx.io.out(answer.as_bytes())
}

/// The login for `host`: the profile the helper line names (when it lists
/// hosts, only for those), else the first whose `git_hosts` lists it (host
/// names compared case-insensitively, ports exactly).
fn pick<'a>(candidates: &'a [ToolLogin], named: Option<&str>, host: &str) -> Option<&'a ToolLogin> {
    if host.is_empty() {
        return None;
    }
    let lists = |c: &ToolLogin| c.git_hosts.iter().any(|h| h.eq_ignore_ascii_case(host));
    match named {
        // The helper line's profile: the hosts it lists, or any when it lists none.
        Some(name) => candidates
            .iter()
            .find(|c| c.profile == name)
            .filter(|c| c.git_hosts.is_empty() || lists(c)),
        None => candidates.iter().find(|c| lists(c)),
    }
}

/// git's request: `key=value` lines (ending in `\n` or `\r\n`) up to a blank
/// line or the end; a key that ends in `[]` may repeat. Lines without `=`, and
/// keys or values with a NUL or a carriage return (which git refuses to send),
/// are passed over.
pub(crate) fn parse_request(text: &str) -> Vec<(String, String)> {
    text.split('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .take_while(|l| !l.is_empty())
        .filter_map(|l| l.split_once('='))
        .filter(|(k, v)| !k.is_empty() && !k.contains(['\0', '\r']) && !v.contains(['\0', '\r']))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// The first value of `key`.
pub(crate) fn attr<'a>(request: &'a [(String, String)], key: &str) -> Option<&'a str> {
    request
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

/// Whether git announced `capability[]=NAME`.
pub(crate) fn has_capability(request: &[(String, String)], name: &str) -> bool {
    request
        .iter()
        .any(|(k, v)| k == "capability[]" && v == name)
}
