//! The data model: which login ([`LoginId`], its cache key) and what is stored for
//! it ([`Credential`]), in the ValidMind library's entry format plus vmauth's fields.
//! Normalisation follows the ValidMind library so both tools find the same login.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::{Error, Result};
pub use crate::secret::Secret;

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
    /// The issuer, normalised (no trailing slash).
    pub issuer: String,
    /// The OAuth client id.
    pub client_id: String,
    /// The API audience, part of the key when set.
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
        // Found by fuzzing: URL parsing drops some control characters (so the
        // issuer asked for and the one contacted differ); none belongs in these.
        let has_control = |s: &str| {
            // Printable ASCII (the usual case) has neither.
            !s.bytes().all(|b| (0x20..0x7f).contains(&b))
                && s.chars()
                    .any(|c| c.is_control() || crate::error::is_format_char(c))
        };
        if has_control(&issuer) || has_control(&client_id) || audience.is_some_and(has_control) {
            return Err(Error::usage(
                "issuer, client id and audience must not contain control or invisible characters; check --issuer, --client-id and --audience",
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

    /// Recover issuer / client / audience from a cache key (`a|b[|c]`).
    pub fn from_key(key: &str) -> LoginId {
        let mut parts = key.splitn(3, '|');
        LoginId {
            issuer: parts.next().unwrap_or_default().to_string(),
            client_id: parts.next().unwrap_or_default().to_string(),
            audience: parts.next().map(str::to_string),
        }
    }

    /// The ValidMind library's cache key: `issuer|client_id[|audience]`.
    pub fn cache_key(&self) -> String {
        // Joined by hand: `format!` costs several times as much, and a cached
        // `vmauth token` builds this key more than once.
        let aud = self.audience.as_deref();
        let aud_len = match aud {
            Some(a) => a.len() + 1,
            None => 0,
        };
        let mut key = String::with_capacity(self.issuer.len() + 1 + self.client_id.len() + aud_len);
        key.push_str(&self.issuer);
        key.push('|');
        key.push_str(&self.client_id);
        if let Some(aud) = aud {
            key.push('|');
            key.push_str(aud);
        }
        key
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

/// One stored login, in the ValidMind library's entry format plus vmauth's fields.
/// Unknown fields are kept (`extra`) so other tools' additions survive a rewrite.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Credential {
    /// The issuer the login belongs to.
    pub issuer: String,
    /// The OAuth client.
    pub client_id: String,
    /// The API audience asked for, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audience: Option<String>,
    /// The access token.
    pub access_token: Secret,
    /// The refresh token, if the provider issued one.
    #[serde(default)]
    pub refresh_token: Option<Secret>,
    /// The OpenID Connect ID token, if any.
    #[serde(default)]
    pub id_token: Option<Secret>,
    /// The ID token's signature and claims were verified by vmauth (false for
    /// one another tool stored).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub id_token_verified: bool,
    /// Absolute expiry of the access token (RFC 3339 UTC in the file); missing
    /// or unreadable means expired.
    #[serde(default, with = "timestamp")]
    pub expires_at: i64,
    /// When the access token was issued, as far as vmauth knows (RFC 3339 UTC in
    /// the file): with `expires_at` it gives the lifetime the server granted.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "timestamp::option"
    )]
    pub issued_at: Option<i64>,
    /// Scopes granted, space-separated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// `Bearer`, as the token response said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_type: Option<String>,
    /// RFC 8707 resources asked for at login (sent again on refresh).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resource: Vec<String>,
    /// Scopes asked for at login.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requested_scope: Option<String>,
    /// Set for client-credentials logins: how to get the next token (never the secret).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_credentials: Option<ClientSettings>,
    /// Set for device logins of confidential clients (Google's device clients need
    /// a secret): how the client authenticates on refresh (never the secret).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_auth: Option<ClientSettings>,
    /// Set for a token got by exchanging another login's access token (`vmauth
    /// token --exchange`): that login's key, whose token is exchanged again
    /// when this one runs out. Same issuer and client as this login.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exchanged_from: Option<String>,
    /// Who logged in, from the userinfo endpoint (OIDC Core §5.3), for providers
    /// that send no ID token on the device grant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub userinfo: Option<Map<String, Value>>,
    /// Fields vmauth does not know (other tools'), kept as they are.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// How a confidential client authenticates; paths only, never secrets.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientSettings {
    /// The client authentication method.
    pub auth: Method,
    /// A file holding the client secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_file: Option<String>,
    /// A PEM private key for `private_key_jwt`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub private_key: Option<String>,
    /// The `kid` of assertions signed with `private_key`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_id: Option<String>,
    /// A file holding a ready-made client assertion.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assertion_file: Option<String>,
    /// What signed assertions name as `aud` (the token endpoint when unset).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assertion_audience: Option<AssertionAudience>,
    /// The grant (absent: client credentials).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grant: Option<MachineGrant>,
    /// Where the CI platform's token came from (`github`, `file:PATH`, …; the
    /// source, never the token): the next token needs it again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub federated_token: Option<String>,
    /// A digest of everything that decides a federated token (grant, source,
    /// platform audience, actor, token type, parameters, and the CI job): the
    /// cached token serves only a request with the same one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<String>,
}

/// How a CI job gets its token.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MachineGrant {
    /// The client credentials grant (RFC 6749 §4.4).
    #[default]
    ClientCredentials,
    /// The JWT-bearer authorization grant (RFC 7523 §2.1).
    JwtBearer,
    /// Token exchange (RFC 8693).
    TokenExchange,
}

impl MachineGrant {
    /// The name `--grant` takes.
    pub fn name(self) -> &'static str {
        match self {
            MachineGrant::ClientCredentials => "client_credentials",
            MachineGrant::JwtBearer => "jwt-bearer",
            MachineGrant::TokenExchange => "token-exchange",
        }
    }
}

impl Credential {
    /// A login as the credentials file holds it: the ValidMind library's
    /// JSON (times as RFC 3339, [`timestamp`]), other tools' fields kept.
    pub fn to_json(&self) -> serde_json::Result<serde_json::Value> {
        serde_json::to_value(self)
    }

    /// A login from its JSON text, read directly, not through a `Value`:
    /// other tools' fields keep integers beyond 64 bits (a `Value` in between
    /// loses them to serde's buffering of flattened fields).
    pub fn from_json(text: &str) -> serde_json::Result<Credential> {
        serde_json::from_str(text)
    }

    /// Whether this entry, stored under `key`, is about the login the key
    /// names: a planted or edited entry must not send its tokens, or the
    /// client's secret, to another issuer.
    pub fn check_key(&self, key: &str) -> std::result::Result<(), String> {
        let c = self;
        let id = LoginId::from_key(key);
        // A key must name a login `vmauth login` could have made: the rules of
        // `LoginId::new` (no control or invisible characters, no empty parts).
        if LoginId::new(&id.issuer, &id.client_id, id.audience.as_deref()).is_err() {
            return Err("is stored under a key no login can have (an empty part, or control or invisible characters)".into());
        }
        let audience = c
            .audience
            .as_deref()
            .map(normalize)
            .filter(|a| !a.is_empty());
        if normalize_issuer(&c.issuer) != id.issuer {
            return Err(format!(
                "names the issuer {:?}, which does not match its key",
                crate::error::from_server(&c.issuer, 100)
            ));
        }
        if normalize(&c.client_id) != id.client_id {
            return Err(format!(
                "names the client {:?}, which does not match its key",
                crate::error::from_server(&c.client_id, 100)
            ));
        }
        if audience != id.audience {
            return Err(format!(
                "names the audience {:?}, which does not match its key",
                crate::error::from_server(c.audience.as_deref().unwrap_or(""), 100)
            ));
        }
        Ok(())
    }

    /// Seconds of validity left at `now` (negative when expired).
    pub fn ttl(&self, now: i64) -> i64 {
        self.expires_at.saturating_sub(now)
    }

    /// How long before expiry this credential is renewed: `min_ttl`, but never
    /// more than half the lifetime the server granted (from `issued_at`, else
    /// from a JWT access token's `iat`), so a token that lives 30 s is not
    /// refreshed on every call when `min_ttl` is 60 s.
    pub fn refresh_margin(&self, min_ttl: i64) -> i64 {
        let lifetime = self
            .issued_at
            .map(|i| self.expires_at.saturating_sub(i))
            .or_else(|| {
                let claims = crate::jwt::claims(self.access_token.expose())?;
                let iat = claims.get("iat")?.as_i64()?;
                let exp = claims.get("exp")?.as_i64()?;
                Some(exp.saturating_sub(iat))
            })
            .filter(|l| *l > 0);
        match lifetime {
            Some(l) => min_ttl.min(l / 2),
            None => min_ttl,
        }
    }

    /// Whether the access token is still good for a caller that needs `min_ttl`
    /// seconds, by [`Credential::refresh_margin`].
    pub fn fresh_enough(&self, now: i64, min_ttl: i64) -> bool {
        self.ttl(now) >= self.refresh_margin(min_ttl)
    }

    /// The ID token's `exp` and `iat`, if it has an ID token with them.
    fn id_token_times(&self) -> Option<(i64, Option<i64>)> {
        let claims = crate::jwt::claims(self.id_token.as_ref()?.expose())?;
        let exp = claims.get("exp")?.as_i64()?;
        Some((exp, claims.get("iat").and_then(Value::as_i64)))
    }

    /// When the ID token expires, if there is one.
    pub fn id_token_expires_at(&self) -> Option<i64> {
        self.id_token_times().map(|(exp, _)| exp)
    }

    /// The refresh margin of the ID token: `min_ttl`, at most half its lifetime.
    pub fn id_token_margin(&self, min_ttl: i64) -> i64 {
        match self.id_token_times() {
            Some((exp, Some(iat))) if exp > iat => min_ttl.min((exp - iat) / 2),
            _ => min_ttl,
        }
    }

    /// Whether the ID token is still good for `min_ttl` (by its own `exp`).
    pub fn id_token_fresh_enough(&self, now: i64, min_ttl: i64) -> bool {
        self.id_token_expires_at()
            .is_some_and(|exp| exp.saturating_sub(now) >= self.id_token_margin(min_ttl))
    }

    /// Whether this is a client-credentials login (renewed by a new request).
    pub fn is_client_credentials(&self) -> bool {
        self.client_credentials.is_some()
    }

    /// The scopes the login has: as granted, else as asked for.
    pub fn scopes(&self) -> Vec<&str> {
        self.scope
            .as_deref()
            .filter(|s| !s.is_empty())
            .or(self.requested_scope.as_deref())
            .unwrap_or("")
            .split_whitespace()
            .collect()
    }

    /// The scopes asked for at login, as a list.
    pub fn requested_scopes(&self) -> Vec<String> {
        self.requested_scope
            .as_deref()
            .map(parse_scopes)
            .unwrap_or_default()
    }
}

/// RFC 3339 timestamps in the file; Python-style naive ISO times read as UTC.
pub mod timestamp {
    use serde::{Deserialize, Deserializer, Serializer};
    use time::OffsetDateTime;
    use time::format_description::well_known::Rfc3339;

    /// The latest time the file format can say: 9999-12-31T23:59:59Z.
    pub const MAX: i64 = 253_402_300_799;

    /// Unix seconds as RFC 3339 UTC (`2030-01-01T00:00:00Z`), within 1970 to 9999.
    pub fn format(unix: i64) -> String {
        OffsetDateTime::from_unix_timestamp(unix.clamp(0, MAX))
            .ok()
            .and_then(|t| t.format(&Rfc3339).ok())
            .unwrap_or_else(|| "1970-01-01T00:00:00Z".to_string())
    }

    /// RFC 3339, or an ISO time without offset (read as UTC), to Unix seconds.
    pub fn parse(s: &str) -> Option<i64> {
        let s = s.trim();
        OffsetDateTime::parse(s, &Rfc3339)
            .or_else(|_| OffsetDateTime::parse(&format!("{s}Z"), &Rfc3339))
            .ok()
            .map(|t| t.unix_timestamp())
    }

    /// serde: write as RFC 3339.
    pub fn serialize<S: Serializer>(v: &i64, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format(*v))
    }

    /// A missing or unreadable expiry counts as expired (0), as in the ValidMind library.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
        Ok(read(Option::<serde_json::Value>::deserialize(d)?).unwrap_or(0))
    }

    /// A time as it reads back after [`format`]: within 1970 to 9999.
    fn read(v: Option<serde_json::Value>) -> Option<i64> {
        match v? {
            serde_json::Value::String(s) => parse(&s),
            serde_json::Value::Number(n) => n.as_i64(),
            _ => None,
        }
        .map(|t| t.clamp(0, MAX))
    }

    /// An optional timestamp: absent or unreadable is `None`.
    pub mod option {
        use serde::{Deserialize, Deserializer, Serializer};

        /// serde: write as RFC 3339.
        pub fn serialize<S: Serializer>(v: &Option<i64>, s: S) -> Result<S::Ok, S::Error> {
            match v {
                Some(v) => super::serialize(v, s),
                None => s.serialize_none(),
            }
        }

        /// serde: read RFC 3339 (or Unix seconds); anything else is `None`.
        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
            Ok(super::read(Option::<serde_json::Value>::deserialize(d)?))
        }
    }
}

/// Client authentication methods, by their registered names (RFC 7591 §2).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// A public client.
    #[default]
    None,
    /// `client_secret_basic`.
    ClientSecretBasic,
    /// `client_secret_post`.
    ClientSecretPost,
    /// `private_key_jwt`.
    PrivateKeyJwt,
}

impl Method {
    /// The registered name.
    pub fn name(self) -> &'static str {
        match self {
            Method::None => "none",
            Method::ClientSecretBasic => "client_secret_basic",
            Method::ClientSecretPost => "client_secret_post",
            Method::PrivateKeyJwt => "private_key_jwt",
        }
    }
}

/// What signed client assertions name as their `aud`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AssertionAudience {
    /// The endpoint the assertion is sent to (Okta, Entra, Keycloak).
    #[default]
    TokenEndpoint,
    /// The issuer exactly as its metadata publishes it (Auth0).
    Issuer,
}

#[cfg(test)]
#[path = "credential_tests.rs"]
mod tests;
