//! Configuration: environment-variable precedence, normalisation of issuer /
//! client id / audience (the ValidMind library's rules), scopes and cache keys.

use crate::error::{Error, Result};

/// Default scopes requested by `vmauth login`.
pub const DEFAULT_SCOPE: &str = "openid profile email offline_access";

/// Reads environment variables. Injected so tests can use a fake environment.
pub trait Env {
    fn var(&self, name: &str) -> Option<String>;
}

/// The real process environment.
pub struct ProcessEnv;

impl Env for ProcessEnv {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok()
    }
}

/// The first non-empty of: an explicit value (flag or `VMAUTH_*`, already merged by clap),
/// then the legacy `VM_OIDC_*` variable.
pub fn with_fallback(env: &dyn Env, value: Option<String>, legacy: &str) -> Option<String> {
    value
        .filter(|v| !v.trim().is_empty())
        .or_else(|| env.var(legacy).filter(|v| !v.trim().is_empty()))
}

/// Trim whitespace and strip matching wrapping quotes, repeatedly:
/// `' "x" '` becomes `x`.
pub fn normalize(value: &str) -> String {
    let mut s = value.trim();
    loop {
        let stripped = ['"', '\'']
            .iter()
            .find_map(|q| s.strip_prefix(*q).and_then(|r| r.strip_suffix(*q)));
        match stripped {
            Some(inner) if s.len() >= 2 => s = inner.trim(),
            _ => return s.to_string(),
        }
    }
}

/// [`normalize`], then drop trailing slashes: `"https://idp/"` is `https://idp`.
pub fn normalize_issuer(value: &str) -> String {
    normalize(value).trim_end_matches('/').to_string()
}

/// Scopes given space- or comma-separated; duplicates removed, order kept.
pub fn parse_scopes(value: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for s in value
        .split(|c: char| c == ',' || c.is_whitespace())
        .map(normalize)
        .filter(|s| !s.is_empty())
    {
        if !out.contains(&s) {
            out.push(s);
        }
    }
    out
}

/// Which login: issuer, client and audience. Its cache key is the ValidMind
/// library's `issuer|client_id[|audience]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginId {
    pub issuer: String,
    pub client_id: String,
    pub audience: Option<String>,
}

impl LoginId {
    /// Normalises each part; empty parts are rejected with the flag and variable to set.
    pub fn new(issuer: &str, client_id: &str, audience: Option<&str>) -> Result<LoginId> {
        let issuer = normalize_issuer(issuer);
        let client_id = normalize(client_id);
        if issuer.is_empty() {
            return Err(Error::usage(
                "no issuer given; pass --issuer URL or set VMAUTH_ISSUER",
            ));
        }
        if client_id.is_empty() {
            return Err(Error::usage(
                "no client id given; pass --client-id ID or set VMAUTH_CLIENT_ID",
            ));
        }
        if client_id.contains('|') || issuer.contains('|') {
            return Err(Error::usage(
                "issuer and client id must not contain '|'; check --issuer and --client-id",
            ));
        }
        let audience = audience.map(normalize).filter(|a| !a.is_empty());
        Ok(LoginId {
            issuer,
            client_id,
            audience,
        })
    }

    pub fn cache_key(&self) -> String {
        match &self.audience {
            Some(aud) => format!("{}|{}|{}", self.issuer, self.client_id, aud),
            None => format!("{}|{}", self.issuer, self.client_id),
        }
    }

    /// The `vmauth login …` command line that recreates this login (for error messages).
    pub fn login_hint(&self) -> String {
        let mut s = format!(
            "vmauth login --issuer {} --client-id {}",
            self.issuer, self.client_id
        );
        if let Some(aud) = &self.audience {
            s.push_str(&format!(" --audience {aud}"));
        }
        s
    }
}

#[cfg(test)]
#[path = "config_tests.rs"]
mod tests;
