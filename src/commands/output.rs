//! How `vmauth token` presents the token: raw, an HTTP header, JSON, shell
//! exports, or a Kubernetes ExecCredential. Whatever the format, the token is the
//! only secret printed, and only on stdout.

use serde::Serialize;
use serde_json::{Map, Value};

use crate::cli::{OutputFormat, TokenChoice};
use crate::credential::{Credential, Secret, timestamp};
use crate::error::{Error, Result};

/// The ExecCredential versions kubectl speaks.
const EXEC_V1: &str = "client.authentication.k8s.io/v1";
const EXEC_V1BETA1: &str = "client.authentication.k8s.io/v1beta1";

/// The token of `kind` and when it expires.
pub(crate) fn chosen(c: &Credential, kind: TokenChoice) -> Option<(&Secret, i64)> {
    match kind {
        TokenChoice::Access => Some((&c.access_token, c.expires_at)),
        TokenChoice::Id => Some((c.id_token.as_ref()?, c.id_token_expires_at()?)),
    }
}

/// The `-o json` document (its fields are documented in README.md).
#[derive(Serialize)]
struct TokenJson<'a> {
    token: &'a str,
    token_type: &'static str,
    token_use: &'static str,
    expires_at: String,
    expires_in: i64,
    issuer: &'a str,
    client_id: &'a str,
    audience: Option<&'a str>,
    scopes: Vec<&'a str>,
    claims: Map<String, Value>,
}

/// kubectl's ExecCredential (k8s.io/client-go/pkg/apis/clientauthentication).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ExecCredential<'a> {
    api_version: &'a str,
    kind: &'static str,
    status: ExecStatus<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ExecStatus<'a> {
    token: &'a str,
    expiration_timestamp: String,
}

/// POSIX shell single quotes: safe for any bytes but NUL.
fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// The ExecCredential version kubectl asked for in `KUBERNETES_EXEC_INFO`
/// (v1 when it says nothing).
fn exec_api_version(exec_info: Option<&str>) -> Result<&'static str> {
    let Some(info) = exec_info else {
        return Ok(EXEC_V1);
    };
    let asked = serde_json::from_str::<Value>(info)
        .ok()
        .and_then(|v| v.get("apiVersion")?.as_str().map(str::to_string));
    match asked.as_deref() {
        None | Some(EXEC_V1) => Ok(EXEC_V1),
        Some(EXEC_V1BETA1) => Ok(EXEC_V1BETA1),
        Some(other) => Err(Error::usage(format!(
            "kubectl asks for ExecCredential {:?} (KUBERNETES_EXEC_INFO); vmauth writes {EXEC_V1} and {EXEC_V1BETA1}: set apiVersion to one of them in the kubeconfig's exec section",
            crate::error::from_server(other, 80)
        ))),
    }
}

/// `c`'s token of `kind` in `format`, at `now`. An ExecCredential expires
/// when vmauth would renew the token (`--min-ttl`, at most half its
/// lifetime, before expiry), so kubectl asks again in time.
pub(crate) fn render(
    format: OutputFormat,
    c: &Credential,
    kind: TokenChoice,
    now: i64,
    min_ttl: i64,
    exec_info: Option<&str>,
) -> Result<String> {
    let (token, expires_at) =
        chosen(c, kind).ok_or_else(|| Error::auth_required("the login has no such token"))?;
    let token = token.expose();
    let encode = |v: &dyn erased::Json| {
        v.to_json().map_err(|e| {
            Error::with_cause(crate::error::Kind::Storage, "cannot encode the output", e)
        })
    };
    Ok(match format {
        OutputFormat::Raw => [token, "\n"].concat(),
        OutputFormat::Header => ["Authorization: Bearer ", token, "\n"].concat(),
        OutputFormat::Env => format!(
            "export VMAUTH_TOKEN={}\nexport VMAUTH_TOKEN_EXPIRES_AT={}\n",
            shell_quote(token),
            shell_quote(&timestamp::format(expires_at))
        ),
        OutputFormat::Json => {
            let scopes = c.scopes();
            encode(&TokenJson {
                token,
                token_type: "Bearer",
                token_use: match kind {
                    TokenChoice::Access => "access_token",
                    TokenChoice::Id => "id_token",
                },
                expires_at: timestamp::format(expires_at),
                expires_in: expires_at.saturating_sub(now),
                issuer: &c.issuer,
                client_id: &c.client_id,
                audience: c.audience.as_deref(),
                scopes,
                claims: shown_claims(c),
            })?
        }
        OutputFormat::ExecCredential => {
            let margin = match kind {
                TokenChoice::Access => c.refresh_margin(min_ttl),
                TokenChoice::Id => c.id_token_margin(min_ttl),
            };
            encode(&ExecCredential {
                api_version: exec_api_version(exec_info)?,
                kind: "ExecCredential",
                status: ExecStatus {
                    token,
                    expiration_timestamp: timestamp::format(
                        expires_at.saturating_sub(margin).max(now),
                    ),
                },
            })?
        }
    })
}

/// One JSON line for any of the documents above.
mod erased {
    pub(super) trait Json {
        fn to_json(&self) -> serde_json::Result<String>;
    }
    impl<T: serde::Serialize> Json for T {
        fn to_json(&self) -> serde_json::Result<String> {
            let mut s = serde_json::to_string(self)?;
            s.push('\n');
            Ok(s)
        }
    }
}

/// Print a token and a newline on stdout: the product of the command.
pub(crate) fn print_token(ctx: &super::Context, token: &Secret) -> Result<()> {
    let mut line = String::with_capacity(token.expose().len() + 1);
    line.push_str(token.expose());
    line.push('\n');
    ctx.io.out(line.as_bytes())
}

/// The claims `names` of the claims that say who a login is: the ID token's,
/// else the userinfo endpoint's, else a JWT access token's (client-credentials
/// tokens), else none.
fn identity_claims(c: &Credential, names: &[&str]) -> serde_json::Map<String, serde_json::Value> {
    let named = |t: &crate::credential::Secret| crate::jwt::claims_named(t.expose(), names);
    c.id_token
        .as_ref()
        .and_then(named)
        .or_else(|| c.userinfo.as_ref().map(|u| pick(u, names)))
        .or_else(|| named(&c.access_token))
        .unwrap_or_default()
}

/// The claims that say who a login is, as `status`, `-o json` and `exec` show
/// them: only these, from [`identity_claims`].
pub(crate) const SHOWN_CLAIMS: &[&str] = &[
    "sub",
    "email",
    "email_verified",
    "name",
    "preferred_username",
    "roles",
];

/// [`SHOWN_CLAIMS`] of a login.
pub(crate) fn shown_claims(c: &Credential) -> serde_json::Map<String, serde_json::Value> {
    identity_claims(c, SHOWN_CLAIMS)
}

/// The claims `names` of `claims`.
pub(crate) fn pick(
    claims: &serde_json::Map<String, serde_json::Value>,
    names: &[&str],
) -> serde_json::Map<String, serde_json::Value> {
    claims
        .iter()
        .filter(|(k, _)| names.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// The `aud` of a JWT access token (opaque tokens have none).
pub(crate) fn access_token_audience(c: &Credential) -> Option<serde_json::Value> {
    crate::jwt::claims(c.access_token.expose())?
        .get("aud")
        .cloned()
}

/// When an audience or resource was asked for and the access token is a JWT
/// whose `aud` names none of them, the warning that says so and what usually
/// fixes it. Opaque tokens are not judged.
pub(crate) fn audience_warning(c: &Credential) -> Option<String> {
    let wanted: Vec<&str> = c
        .audience
        .iter()
        .chain(&c.resource)
        .map(String::as_str)
        .collect();
    if wanted.is_empty() {
        return None;
    }
    let aud = access_token_audience(c)?;
    let got: Vec<&str> = match &aud {
        serde_json::Value::String(a) => vec![a.as_str()],
        serde_json::Value::Array(a) => a.iter().filter_map(|v| v.as_str()).collect(),
        _ => vec![],
    };
    if wanted.iter().any(|w| got.contains(w)) {
        return None;
    }
    Some(format!(
        "the access token is for {} (aud), not {}; the API may refuse it. Many providers map an API to a scope: ask for it (e.g. --scope \"openid offline_access api\") and log in again",
        crate::error::from_server(&aud.to_string(), 200),
        wanted.join(", ")
    ))
}

/// Who a login belongs to, for messages: email, else preferred_username, else sub.
pub(crate) fn who(c: &Credential) -> String {
    const WHO: [&str; 4] = ["email", "preferred_username", "sub", "client_id"];
    let claims = identity_claims(c, &WHO);
    WHO.iter()
        .find_map(|k| claims.get(*k).and_then(|v| v.as_str()))
        .map(|s| crate::error::from_server(s, 100))
        .unwrap_or_else(|| "an unknown user".to_string())
}

#[cfg(test)]
#[path = "output_tests.rs"]
mod tests;
