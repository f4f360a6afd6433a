//! `vmauth exec`: run a command with a valid token in its environment. vmauth
//! replaces itself with the command (`execve` on Unix), so the command's signals
//! and exit status are its own, and the token never appears on a command line.

use std::process::Command;

use crate::credential::timestamp;
use crate::error::{Error, Kind, Result};
use crate::settings::ExecSettings;

use super::{Context, output, token};

/// Variables about who logged in, from the verified claims.
const USER_VARS: [(&str, &str); 4] = [
    ("VMAUTH_USER_SUB", "sub"),
    ("VMAUTH_USER_EMAIL", "email"),
    ("VMAUTH_USER_NAME", "name"),
    ("VMAUTH_USER_ROLES", "roles"),
];

/// Run `vmauth exec`. Returns only when the command could not be started.
pub(crate) fn run(s: &ExecSettings, ctx: &Context) -> Result<()> {
    let credential = token::acquire_for(&s.acquire, ctx)?;
    let (token, expires_at) = output::chosen(&credential, s.acquire.token)
        .ok_or_else(|| Error::auth_required("the login has no such token"))?;
    let (program, args) = s
        .command
        .split_first()
        .ok_or_else(|| Error::usage("exec needs a command after --; see 'vmauth exec --help'"))?;
    let mut cmd = Command::new(program);
    cmd.args(args)
        // The client secret is vmauth's, not the command's (as for credential helpers).
        .env_remove(crate::settings::vars::CLIENT_SECRET.name)
        .env(&s.env_name, token.expose())
        .env("VMAUTH_TOKEN_EXPIRES_AT", timestamp::format(expires_at));
    // Who logged in: only from claims vmauth verified (the ID token) or fetched
    // itself over TLS (userinfo); an outer `vmauth exec`'s values never leak in.
    let claims = if credential.id_token_verified || credential.userinfo.is_some() {
        super::output::shown_claims(&credential)
    } else {
        Default::default()
    };
    for (var, claim) in USER_VARS {
        let value = match claims.get(claim) {
            Some(serde_json::Value::String(v)) => Some(v.clone()),
            Some(serde_json::Value::Array(a)) => Some(
                a.iter()
                    .filter_map(|v| v.as_str())
                    .collect::<Vec<_>>()
                    .join(","),
            ),
            _ => None,
        };
        match value {
            // A value an environment cannot hold (a NUL byte): the command
            // still runs, without that variable.
            Some(v) if v.contains('\0') => {
                ctx.ui.warn(&format!(
                    "the {claim} claim holds a NUL byte, which an environment variable cannot; {var} is not set"
                ));
                cmd.env_remove(var)
            }
            Some(v) => cmd.env(var, v),
            None => cmd.env_remove(var),
        };
    }
    let shown = program.to_string_lossy().to_string();
    exec(cmd, &shown)
}

#[cfg(unix)]
fn exec(mut cmd: Command, shown: &str) -> Result<()> {
    use std::os::unix::process::CommandExt;
    // Only returns on failure.
    let e = cmd.exec();
    Err(cannot_run(shown, e))
}

#[cfg(not(unix))]
fn exec(mut cmd: Command, shown: &str) -> Result<()> {
    let status = cmd.status().map_err(|e| cannot_run(shown, e))?;
    Err(Error::new(
        Kind::ChildExited(status.code().unwrap_or(1)),
        "",
    ))
}

/// 127 for a command that is not there, 126 for one that cannot be run, as
/// shells say.
fn cannot_run(shown: &str, e: std::io::Error) -> Error {
    let kind = match e.kind() {
        std::io::ErrorKind::NotFound => Kind::CommandNotFound,
        _ => Kind::CommandNotRunnable,
    };
    Error::with_cause(kind, format!("cannot run {shown:?}"), e)
}
