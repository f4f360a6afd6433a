//! One module per subcommand. Commands are the only place that combines the
//! protocol engine, storage and the terminal UI.

pub mod client_auth;
pub mod client_credentials;
pub mod login;
pub mod logout;
pub mod status;
mod stores;
pub mod token;

use std::path::PathBuf;
use std::time::Duration;

use crate::cli::Selector;
use crate::config::{self, Env, LoginId};
use crate::error::{Error, Result};
use crate::oidc::http::{Http, Timeouts};
use crate::store::current::StateDir;
use crate::store::{Credential, CredentialStore};
use crate::ui::Ui;

/// Everything a command needs from the outside world.
pub struct Context {
    pub ui: Ui,
    pub env: Box<dyn Env>,
    pub store: Box<dyn CredentialStore>,
    pub current: StateDir,
}

impl Context {
    /// Build from the process environment and `--store`. Cheap for the file store:
    /// no I/O beyond reading variables; `auto` probes the keychain once.
    /// `will_write`: the command is about to store a new login (checked up front,
    /// so a locked keychain fails before the identity provider is contacted).
    pub fn from_env(env: Box<dyn Env>, store: Option<&str>, will_write: bool) -> Result<Context> {
        let ui = Ui::detect(env.var("NO_COLOR").is_some_and(|v| !v.is_empty()));
        let home = || {
            directories::BaseDirs::new()
                .map(|b| b.home_dir().to_path_buf())
                .ok_or_else(|| {
                    Error::usage(
                        "cannot find the home directory; set HOME or VMAUTH_CREDENTIALS_FILE and VMAUTH_CONFIG_DIR",
                    )
                })
        };
        // A directory the user names is never chmod-ed; vmauth's defaults are kept 0700.
        let (creds_path, creds_own) =
            match env.var("VMAUTH_CREDENTIALS_FILE").filter(|v| !v.is_empty()) {
                Some(p) => (PathBuf::from(p), false),
                None => (home()?.join(".validmind").join("credentials.json"), true),
            };
        let (config_dir, config_own) = match env.var("VMAUTH_CONFIG_DIR").filter(|v| !v.is_empty())
        {
            Some(p) => (PathBuf::from(p), false),
            None => (
                directories::ProjectDirs::from("", "", "vmauth")
                    .map(|d| d.config_dir().to_path_buf())
                    .ok_or_else(|| {
                        Error::usage("cannot find the config directory; set VMAUTH_CONFIG_DIR")
                    })?,
                true,
            ),
        };
        let warn = move |m: &str| ui.warn(m);
        let current = StateDir::new(config_dir, config_own, Box::new(warn));
        let choice = match store {
            Some(s) => s.to_string(),
            None if env.var("VM_OIDC_NO_PERSIST").is_some_and(|v| {
                ["1", "true", "yes"].contains(&v.trim().to_ascii_lowercase().as_str())
            }) =>
            {
                "memory".to_string()
            }
            None => "auto".to_string(),
        };
        let store = stores::open(
            &choice,
            &*env,
            (creds_path, creds_own),
            &current,
            ui,
            will_write,
        )?;
        Ok(Context {
            ui,
            env,
            store,
            current,
        })
    }

    /// The login named by the selector (flags, `VMAUTH_*`, `VM_OIDC_*`), if any.
    pub fn explicit_login(&self, sel: &Selector) -> Result<Option<LoginId>> {
        let env = &*self.env;
        let issuer = config::with_fallback(env, sel.issuer.clone(), "VM_OIDC_ISSUER");
        let client = config::with_fallback(env, sel.client_id.clone(), "VM_OIDC_CLIENT_ID");
        let audience = config::with_fallback(env, sel.audience.clone(), "VM_OIDC_AUDIENCE");
        match (issuer, client) {
            (None, None) => Ok(None),
            (Some(i), Some(c)) => LoginId::new(&i, &c, audience.as_deref()).map(Some),
            (Some(_), None) => Err(Error::usage(
                "--issuer was given without --client-id; give both (or neither, for the current login)",
            )),
            (None, Some(_)) => Err(Error::usage(
                "--client-id was given without --issuer; give both (or neither, for the current login)",
            )),
        }
    }

    /// The selected login's cache key: explicit, else the current login.
    /// `None` (with no explicit selection) means nobody is logged in.
    pub fn selected_key(&self, sel: &Selector) -> Result<Option<String>> {
        match self.explicit_login(sel)? {
            Some(id) => Ok(Some(id.cache_key())),
            None => Ok(self.current.get()),
        }
    }
}

/// Scopes (flag, `VMAUTH_SCOPE`, `VM_OIDC_SCOPE`, else `default_scope`) and
/// RFC 8707 resources (each must be an absolute URI).
pub fn request_params(
    ctx: &Context,
    args: &crate::cli::RequestArgs,
    default_scope: &str,
) -> Result<(Vec<String>, Vec<String>)> {
    let scope = config::with_fallback(&*ctx.env, args.scope.clone(), "VM_OIDC_SCOPE")
        .unwrap_or_else(|| default_scope.to_string());
    let mut resources = Vec::new();
    for r in args.resource.iter().map(|r| config::normalize(r)) {
        if r.is_empty() {
            continue;
        }
        if url::Url::parse(&r).is_err() {
            return Err(Error::usage(format!(
                "--resource {r:?} is not an absolute URI (RFC 8707); use e.g. https://api.example.com"
            )));
        }
        resources.push(r);
    }
    Ok((config::parse_scopes(&scope), resources))
}

/// The "not logged in" error, naming the command that fixes it.
pub fn not_logged_in(key: Option<&str>, why: &str) -> Error {
    let hint = match key.map(login_id_from_key) {
        Some(id) => id.login_hint(),
        None => "vmauth login --issuer URL --client-id ID".to_string(),
    };
    Error::auth_required(format!("{why}; run: {hint}"))
}

/// Recover issuer / client / audience from a cache key (`a|b[|c]`).
pub fn login_id_from_key(key: &str) -> LoginId {
    let mut parts = key.splitn(3, '|');
    LoginId {
        issuer: parts.next().unwrap_or_default().to_string(),
        client_id: parts.next().unwrap_or_default().to_string(),
        audience: parts.next().map(str::to_string),
    }
}

/// A single-threaded async runtime, built only by commands that use the network.
pub fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::idp(format!("cannot start the async runtime: {e}")))
}

/// The HTTP client with vmauth's timeouts.
pub fn http(total: Duration) -> Result<Http> {
    Http::new(Timeouts {
        connect: total.min(Duration::from_secs(10)),
        total,
    })
    .map_err(Error::from)
}

/// The claims that say who a login is: the ID token's, else a JWT access token's
/// (client-credentials tokens), else none.
pub fn identity_claims(c: &Credential) -> serde_json::Map<String, serde_json::Value> {
    c.id_token
        .as_ref()
        .and_then(|t| crate::oidc::jwt::claims(t.expose()))
        .or_else(|| crate::oidc::jwt::claims(c.access_token.expose()))
        .unwrap_or_default()
}

/// Who a login belongs to, for messages: email, else preferred_username, else sub.
pub fn who(c: &Credential) -> String {
    let claims = identity_claims(c);
    ["email", "preferred_username", "sub", "client_id"]
        .iter()
        .find_map(|k| claims.get(*k).and_then(|v| v.as_str()))
        .map(|s| crate::error::from_server(s, 100))
        .unwrap_or_else(|| "an unknown user".to_string())
}

/// Absolute expiry for a token response: `expires_in`, else the JWT's `exp`,
/// else one hour (the ValidMind library's assumption).
pub fn expires_at(now: i64, expires_in: Option<u64>, access_token: &str) -> i64 {
    // Clamp absurd lifetimes: an expiry that cannot be written would read back as 1970.
    const MAX_LIFETIME: i64 = 366 * 24 * 3600;
    match expires_in {
        Some(s) => now.saturating_add(i64::try_from(s).unwrap_or(i64::MAX).min(MAX_LIFETIME)),
        None => crate::oidc::jwt::expiry(access_token).unwrap_or(now + 3600),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip() {
        let id = login_id_from_key("https://i|c|https://api");
        assert_eq!(id.audience.as_deref(), Some("https://api"));
        assert_eq!(id.cache_key(), "https://i|c|https://api");
        assert_eq!(login_id_from_key("https://i|c").audience, None);
    }

    #[test]
    fn not_logged_in_names_the_fix() {
        let e = not_logged_in(Some("https://i|c"), "not logged in");
        assert_eq!(e.exit_code(), 4);
        assert_eq!(
            e.message(),
            "not logged in; run: vmauth login --issuer https://i --client-id c"
        );
    }

    #[test]
    fn expiry_fallbacks() {
        assert_eq!(expires_at(100, Some(60), "x"), 160);
        assert_eq!(expires_at(100, None, "opaque"), 3700);
    }
}
