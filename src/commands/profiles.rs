//! `vmauth profiles`: the profiles of config.toml, with their issuer and client
//! and whether a usable login exists for each. Offline: reads the store only.

use crate::error::Result;
use crate::settings::ProfilesSettings;

use super::Context;

/// Run `vmauth profiles`.
pub(crate) fn run(s: &ProfilesSettings, ctx: &Context) -> Result<()> {
    if s.profiles.is_empty() {
        ctx.ui.info(&format!(
            "No profiles in {}; save one with vmauth login ... --save-profile NAME",
            ctx.common.config_file.display()
        ));
        return Ok(());
    }
    let now = ctx.clock.now_unix();
    let mut out = String::new();
    for p in &s.profiles {
        let (login, state) = match &p.login {
            Some(id) => {
                let state = match ctx.load(&id.cache_key()) {
                    Ok(Some(c)) if c.ttl(now) > 0 => "logged in",
                    Ok(Some(c))
                        if c.refresh_token.is_some()
                            || c.is_client_credentials()
                            || c.exchanged_from.is_some() =>
                    {
                        "logged in (refreshable)"
                    }
                    Ok(Some(_)) => "expired",
                    Ok(None) => "not logged in",
                    Err(_) => "unreadable",
                };
                let aud = id
                    .audience
                    .as_deref()
                    .map(|a| format!(" audience {a}"))
                    .unwrap_or_default();
                (format!("{} client {}{aud}", id.issuer, id.client_id), state)
            }
            None => ("(no issuer and client id)".to_string(), "-"),
        };
        let mark = if p.default { "*" } else { " " };
        out.push_str(&format!("{mark} {:<16} {login}  [{state}]\n", p.name));
    }
    if s.profiles.iter().any(|p| p.default) {
        out.push_str("(* the default profile: a plain `vmauth token` uses its login)\n");
    }
    ctx.io.out(out.as_bytes())
}
