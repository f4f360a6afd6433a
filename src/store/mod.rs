//! Credential storage behind one trait. Backends: the 0600 JSON file shared with
//! the ValidMind library ([`file::FileStore`]); keychain, memory and external
//! helpers plug in behind the same [`CredentialStore`] trait.
//!
//! Storage never prints: warnings go to the sink given at construction.

pub mod auto;
pub mod current;
pub mod file;
pub mod fsutil;
pub mod helper;
pub mod keyring;
pub mod memory;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::Result;

pub use crate::secret::Secret;

/// One stored login, in the ValidMind library's entry format plus vmauth's fields.
/// Unknown fields are kept (`extra`) so other tools' additions survive a rewrite.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Credential {
    pub issuer: String,
    pub client_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audience: Option<String>,
    pub access_token: Secret,
    #[serde(default)]
    pub refresh_token: Option<Secret>,
    #[serde(default)]
    pub id_token: Option<Secret>,
    /// Absolute expiry of the access token (RFC 3339 UTC in the file).
    #[serde(with = "timestamp")]
    pub expires_at: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
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
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// How a client-credentials login authenticates; paths only, never secrets.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientSettings {
    /// `client_secret_basic`, `client_secret_post` or `private_key_jwt`.
    pub auth: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_file: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub private_key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assertion_file: Option<String>,
    /// `issuer` when signed assertions must name the issuer as `aud`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assertion_audience: Option<String>,
}

impl Credential {
    /// Seconds of validity left at `now` (negative when expired).
    pub fn ttl(&self, now: i64) -> i64 {
        self.expires_at.saturating_sub(now)
    }
}

/// Where credentials live. Keys are the cache keys of [`crate::config::LoginId`].
pub trait CredentialStore {
    /// Short name shown by `status` ("file", "keyring", …).
    fn kind(&self) -> &'static str;
    /// Where, for humans (a path, a keychain service name).
    fn location(&self) -> String;
    fn get(&self, key: &str) -> Result<Option<Credential>>;
    /// Insert or replace one login, leaving every other login untouched.
    fn put(&self, key: &str, credential: &Credential) -> Result<()>;
    /// Remove one login; `false` when there was none.
    fn delete(&self, key: &str) -> Result<bool>;
    /// Every login, sorted by key.
    fn list(&self) -> Result<Vec<(String, Credential)>>;
    /// Which store holds `key` (kind and location), for `status`.
    fn locate(&self, key: &str) -> Result<Option<(&'static str, String)>> {
        Ok(self.get(key)?.map(|_| (self.kind(), self.location())))
    }
}

/// Receives warnings from storage code (which must not print).
pub type WarnSink = Box<dyn Fn(&str)>;

/// Current time in Unix seconds.
pub fn now_unix() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// RFC 3339 timestamps in the file; Python-style naive ISO times read as UTC.
pub mod timestamp {
    use serde::{Deserialize, Deserializer, Serializer};
    use time::OffsetDateTime;
    use time::format_description::well_known::Rfc3339;

    pub fn format(unix: i64) -> String {
        OffsetDateTime::from_unix_timestamp(unix)
            .ok()
            .and_then(|t| t.format(&Rfc3339).ok())
            .unwrap_or_else(|| "1970-01-01T00:00:00Z".to_string())
    }

    pub fn parse(s: &str) -> Option<i64> {
        let s = s.trim();
        OffsetDateTime::parse(s, &Rfc3339)
            .or_else(|_| OffsetDateTime::parse(&format!("{s}Z"), &Rfc3339))
            .ok()
            .map(|t| t.unix_timestamp())
    }

    pub fn serialize<S: Serializer>(v: &i64, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format(*v))
    }

    /// A missing or unreadable expiry counts as expired (0), as in the ValidMind library.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
        Ok(match Option::<serde_json::Value>::deserialize(d)? {
            Some(serde_json::Value::String(s)) => parse(&s).unwrap_or(0),
            Some(serde_json::Value::Number(n)) => n.as_i64().unwrap_or(0),
            _ => 0,
        })
    }
}

#[cfg(test)]
#[path = "store_tests.rs"]
mod tests;
