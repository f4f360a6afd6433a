//! `vmauth status`: who is logged in, until when, where it is stored.
//! Offline: it reads the store and decodes the ID token; it never refreshes.

use serde_json::{Value, json};

use crate::credential::timestamp;
use crate::error::{Error, Result};
use crate::settings::StatusSettings;
use crate::store::Located;
use crate::ui::human_duration;

use super::Context;
use super::output::{access_token_audience, shown_claims};

/// Run `vmauth status`.
pub(crate) fn run(args: &StatusSettings, ctx: &Context) -> Result<()> {
    let selected = ctx.selected_key(&args.login);
    let logins: Vec<(String, Located)> = if args.all {
        ctx.load_all()?
    } else {
        match &selected {
            Some(k) => ctx
                .load_located(k)?
                .map(|l| (k.clone(), l))
                .into_iter()
                .collect(),
            None => Vec::new(),
        }
    };
    let now = ctx.clock.now_unix();
    let views: Vec<Value> = logins
        .iter()
        // Starred: the login this selection (for a plain `status --all`: a plain
        // `vmauth token`) serves, the default profile's if there is one.
        .map(|(k, l)| view(k, l, selected.as_deref() == Some(k.as_str()), ctx, now))
        .collect();

    if args.json {
        let doc = json!({ "logins": views });
        let mut text = serde_json::to_string_pretty(&doc).map_err(|e| {
            Error::with_cause(crate::error::Kind::Storage, "cannot encode status", e)
        })?;
        text.push('\n');
        ctx.io.out(text.as_bytes())?;
    } else {
        for v in &views {
            ctx.ui.info(&human(v));
        }
        if args.all && views.iter().any(|v| v["current"] == true) {
            ctx.ui.info("(* the login a plain `vmauth token` uses)");
        }
    }

    // Exit status: the selected login (or, with --all and none selected, any login).
    let usable = |v: &Value| v["valid"] == true || v["refreshable"] == true;
    let ok = match &selected {
        Some(k) => views.iter().any(|v| v["key"] == k.as_str() && usable(v)),
        None => args.all && views.iter().any(usable),
    };
    if ok {
        return Ok(());
    }
    Err(match (&selected, views.is_empty()) {
        (None, true) => ctx.not_logged_in(None, "not logged in"),
        (Some(k), _) if !views.iter().any(|v| v["key"] == k.as_str()) => {
            ctx.not_logged_in(Some(k), "not logged in")
        }
        (Some(k), _) => ctx.not_logged_in(Some(k), "the login has expired and cannot be refreshed"),
        (None, false) => ctx.not_logged_in(
            None,
            "no current login; choose one with --issuer and --client-id",
        ),
    })
}

/// The documented JSON shape of one login.
fn view(key: &str, l: &Located, current: bool, ctx: &Context, now: i64) -> Value {
    let c = &l.credential;
    let shown = shown_claims(c);
    let scopes = c.scopes();
    json!({
        "key": key,
        "issuer": c.issuer,
        "client_id": c.client_id,
        "audience": c.audience,
        "grant": grant_name(c),
        "exchanged_from": c.exchanged_from,
        "registered": ctx
            .state
            .registration(&c.issuer)
            .is_some_and(|r| r.client_id == c.client_id),
        "current": current,
        "store": l.kind.name(),
        "location": l.location,
        "scopes": scopes,
        "expires_at": timestamp::format(c.expires_at),
        "expires_in": c.ttl(now),
        "valid": c.ttl(now) > 0,
        "refreshable": c.refresh_token.is_some() || c.is_client_credentials() || c.exchanged_from.is_some(),
        "client_auth": c.client_credentials.as_ref().map(|s| s.auth.name()),
        "id_token_verified": c.id_token.as_ref().map(|_| c.id_token_verified),
        "access_token_audience": access_token_audience(c),
        "profile": ctx.profile_of(key).map(|p| p.name.clone()),
        "claims": shown,
    })
}

fn human(v: &Value) -> String {
    let s = |k: &str| v[k].as_str().unwrap_or("").to_string();
    let claims = &v["claims"];
    let c = |k: &str| {
        claims[k]
            .as_str()
            .map(|x| crate::error::from_server(x, 100))
    };
    let mut out = format!(
        "{} {} (client {}{}){}\n",
        if v["current"] == true { "*" } else { " " },
        s("issuer"),
        s("client_id"),
        v["audience"]
            .as_str()
            .map(|a| format!(", audience {a}"))
            .unwrap_or_default(),
        v["profile"]
            .as_str()
            .map(|p| format!(" [profile {p}]"))
            .unwrap_or_default()
    );
    if v["grant"] == "client_credentials" {
        out.push_str(&format!(
            "    client:   {} (client credentials{})\n",
            c("sub").unwrap_or_else(|| s("client_id")),
            v["client_auth"]
                .as_str()
                .map(|m| format!(", {m}"))
                .unwrap_or_default()
        ));
    }
    let mut user = match (c("name"), c("email")) {
        (Some(n), Some(e)) => format!("{n} <{e}>"),
        (None, Some(e)) => e,
        (Some(n), None) => n,
        (None, None) => c("preferred_username").unwrap_or_else(|| "unknown".into()),
    };
    if let Some(sub) = c("sub") {
        user.push_str(&format!(" (subject {sub})"));
    }
    if v["grant"] != "client_credentials" {
        out.push_str(&format!("    user:     {user}\n"));
    }
    if let Some(roles) = claims["roles"].as_array() {
        let r: Vec<String> = roles
            .iter()
            .filter_map(|x| x.as_str().map(|x| crate::error::from_server(x, 60)))
            .collect();
        out.push_str(&format!("    roles:    {}\n", r.join(", ")));
    }
    let scopes: Vec<&str> = v["scopes"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    out.push_str(&format!("    scopes:   {}\n", scopes.join(" ")));
    match &v["access_token_audience"] {
        Value::String(a) => out.push_str(&format!(
            "    token for: {}\n",
            crate::error::from_server(a, 200)
        )),
        Value::Array(a) => {
            let list: Vec<String> = a
                .iter()
                .filter_map(|x| x.as_str().map(|x| crate::error::from_server(x, 100)))
                .collect();
            out.push_str(&format!("    token for: {}\n", list.join(", ")));
        }
        _ => {}
    }
    match v["id_token_verified"].as_bool() {
        Some(true) => out.push_str("    id token: signature and claims verified\n"),
        Some(false) => out.push_str("    id token: not verified (stored by another tool; the next refresh verifies a new one)\n"),
        None => {}
    }
    let left = v["expires_in"].as_i64().unwrap_or(0);
    let rel = if left > 0 {
        format!(
            "in {}",
            human_duration(std::time::Duration::from_secs(left as u64))
        )
    } else {
        format!(
            "expired {} ago",
            human_duration(std::time::Duration::from_secs(left.unsigned_abs()))
        )
    };
    out.push_str(&format!("    expires:  {} ({rel})\n", s("expires_at")));
    out.push_str(&format!(
        "    refresh:  {}\n",
        if v["grant"] == "client_credentials" {
            "by a new client-credentials request"
        } else if v["refreshable"] == true {
            "yes (refresh token stored)"
        } else {
            "no"
        }
    ));
    out.push_str(&format!("    store:    {}: {}", s("store"), s("location")));
    out
}

/// How the login got its tokens, as `status --json` names it.
fn grant_name(c: &crate::credential::Credential) -> &'static str {
    match &c.client_credentials {
        Some(s) => s.grant.unwrap_or_default().name(),
        None if c.exchanged_from.is_some() => "token-exchange",
        None => "device_code",
    }
}
