//! `config.toml` in vmauth's config directory: named profiles of settings.
//!
//! ```toml
//! default_profile = "work"
//!
//! [profiles.work]
//! issuer = "https://idp.example.com"
//! client_id = "my-cli"
//! audience = "https://api.example.com"
//! ```
//!
//! Read by the settings layer (which decides precedence), written by
//! `vmauth login --save-profile` (with `toml_edit`, so comments and order stay;
//! reading uses `toml`, which builds no editable document).
//! Secrets never live here: a `client_secret` key is refused.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The file's name in the config directory.
pub const FILE_NAME: &str = "config.toml";

/// One profile: any subset of these keys.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// Issuer URL.
    pub issuer: Option<String>,
    /// OAuth client id.
    pub client_id: Option<String>,
    /// API audience.
    pub audience: Option<String>,
    /// Scopes, space- or comma-separated.
    pub scope: Option<String>,
    /// RFC 8707 resources.
    pub resource: Option<Vec<String>>,
    /// `access` or `id`.
    pub token_type: Option<String>,
    /// `auto`, `keyring`, `file`, `memory` or `helper`.
    pub store: Option<String>,
    /// Seconds, or a duration such as `90s`, `5m`.
    #[serde(default, deserialize_with = "string_or_number")]
    pub min_ttl: Option<String>,
    /// `vmauth token` output format.
    pub output: Option<String>,
    /// `client_credentials`, `jwt-bearer`, `token-exchange` (or `device_code`).
    pub grant: Option<String>,
    /// Where a CI platform's OIDC token comes from (`--federated-token`).
    pub federated_token: Option<String>,
    /// The audience asked of the CI platform.
    pub federated_audience: Option<String>,
    /// The actor token's source (token exchange).
    pub actor_token: Option<String>,
    /// The federated token's type for token exchange (`jwt`, `id_token`, `access_token`).
    pub subject_token_type: Option<String>,
    /// Extra token-request parameters a provider requires.
    pub params: Option<BTreeMap<String, String>>,
    /// Starting from an API: the authorization server to sign in with.
    pub authorization_server: Option<String>,
    /// Starting from an API: vmauth's Client ID Metadata Document.
    pub client_metadata_url: Option<String>,
    /// Client authentication method.
    pub client_auth: Option<String>,
    /// A file holding the client secret.
    pub client_secret_file: Option<PathBuf>,
    /// PEM private key for `private_key_jwt`.
    pub private_key: Option<PathBuf>,
    /// A ready-made client assertion.
    pub client_assertion_file: Option<PathBuf>,
    /// `kid` of signed assertions.
    pub key_id: Option<String>,
    /// `token-endpoint` or `issuer`.
    pub assertion_audience: Option<String>,
    /// Overrides a missing or wrong `device_authorization_endpoint` in the metadata.
    pub device_authorization_endpoint: Option<String>,
    /// Overrides the metadata's `token_endpoint`.
    pub token_endpoint: Option<String>,
    /// Overrides the metadata's `revocation_endpoint`.
    pub revocation_endpoint: Option<String>,
    /// Overrides the metadata's `userinfo_endpoint`.
    pub userinfo_endpoint: Option<String>,
    /// `auto`, `device` or `browser`: how `vmauth login` signs in.
    pub flow: Option<String>,
    /// The browser flow's loopback port.
    pub redirect_port: Option<u16>,
    /// The browser flow's redirect URI, exactly as registered.
    pub redirect_uri: Option<String>,
    /// The git hosts (`host` or `host:port`) whose credentials this login is.
    pub git_hosts: Option<Vec<String>>,
    /// The user name git gets with the token as password (default `oauth2`).
    pub git_username: Option<String>,
    /// The cargo registries (names, or index URLs) whose credentials this login is.
    pub cargo_registries: Option<Vec<String>>,
    /// Hosts other than the issuer's that the endpoint overrides may name
    /// (tokens and client secrets are sent there); any other host is refused.
    pub trusted_endpoint_hosts: Option<Vec<String>>,
}

/// The whole file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The profile used when none is named.
    pub default_profile: Option<String>,
    /// The profiles by name.
    #[serde(default)]
    pub profiles: BTreeMap<String, Profile>,
    /// Where it was read from (for messages).
    #[serde(skip)]
    pub path: PathBuf,
}

/// Keys that would hold a secret, and what to use instead.
const SECRET_KEYS: &[&str] = &[
    "client_secret",
    "secret",
    "password",
    "refresh_token",
    "access_token",
];

/// `min_ttl = 90` or `min_ttl = "5m"`.
fn string_or_number<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum V {
        S(String),
        N(u64),
    }
    Ok(Option::<V>::deserialize(d)?.map(|v| match v {
        V::S(s) => s,
        V::N(n) => n.to_string(),
    }))
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

impl Config {
    /// Read `config.toml` in `dir`, after checking `dir` as every directory
    /// vmauth reads from (`fsutil::read_user_file_in`; `own`: the directory is
    /// vmauth's default one). An absent file is an empty configuration.
    /// Errors name the file, the line and the key (exit 2).
    pub fn load_in(dir: &Path, own: bool) -> Result<Config> {
        let path = dir.join(FILE_NAME);
        let bytes = crate::fsutil::read_user_file_in(dir, own, FILE_NAME, MAX_SIZE)?;
        Self::from_text(bytes.map(|b| utf8(b, &path)).transpose()?, &path)
    }

    fn from_text(text: Option<String>, path: &Path) -> Result<Config> {
        let Some(text) = text else {
            return Ok(Config {
                path: path.to_path_buf(),
                ..Default::default()
            });
        };
        Self::parse(&text, path)
    }

    /// Parse the text of `path`.
    pub fn parse(text: &str, path: &Path) -> Result<Config> {
        let shown = path.display();
        let parsed: std::result::Result<Config, _> = toml::from_str(text);
        if parsed.is_err() {
            // A secret key is one of the errors: say so, with the ways that work.
            if let Ok(doc) = toml_edit::Document::parse(text)
                && let Some(profiles) = doc.get("profiles").and_then(|p| p.as_table_like())
            {
                for (name, profile) in profiles.iter() {
                    let Some(table) = profile.as_table_like() else {
                        continue;
                    };
                    for (key, _) in table.iter() {
                        if SECRET_KEYS.contains(&key) {
                            let line = table
                                .key(key)
                                .and_then(|k| k.span())
                                .map(|s| line_of(text, s.start))
                                .unwrap_or(0);
                            return Err(Error::usage(format!(
                                "{shown} line {line}: profile {name:?} has a {key:?}, but secrets never go in the config file; give the client secret with VMAUTH_CLIENT_SECRET, client_secret_file = \"PATH\" in the profile (or --client-secret-file), or --client-secret-stdin"
                            )));
                        }
                    }
                }
            }
        }
        let mut config: Config = parsed.map_err(|e| {
            let line = e.span().map(|s| line_of(text, s.start)).unwrap_or(0);
            let key = text
                .lines()
                .nth(line.saturating_sub(1))
                .and_then(|l| l.split_once('='))
                .map(|(k, _)| format!(" ({})", k.trim()))
                .unwrap_or_default();
            Error::usage(format!(
                "{shown} line {line}{key}: {}; see README.md, \"Profiles\"",
                crate::error::one_line(e.message())
            ))
        })?;
        config.path = path.to_path_buf();
        if let Some(name) = &config.default_profile
            && !config.profiles.contains_key(name)
        {
            return Err(Error::usage(format!(
                "{shown}: default_profile = {name:?}, but there is no [profiles.{name}]"
            )));
        }
        Ok(config)
    }

    /// The profile `name`, or an error listing the ones there are.
    pub fn profile(&self, name: &str) -> Result<&Profile> {
        self.profiles.get(name).ok_or_else(|| {
            let known: Vec<&str> = self.profiles.keys().map(String::as_str).collect();
            Error::usage(format!(
                "no profile {name:?} in {}{}; create it with vmauth login ... --save-profile {name}",
                self.path.display(),
                if known.is_empty() {
                    String::new()
                } else {
                    format!(" (profiles: {})", known.join(", "))
                }
            ))
        })
    }
}

/// The text of `config.toml`, if there is one: only this user's (or root's
/// that nobody else can write to), never through another user's link, since
/// a planted profile could send tokens to another endpoint.
fn read_text(path: &Path) -> Result<Option<String>> {
    let Some(bytes) = crate::fsutil::read_user_file(path, MAX_SIZE)? else {
        return Ok(None);
    };
    utf8(bytes, path).map(Some)
}

/// The largest `config.toml` read.
const MAX_SIZE: u64 = 1 << 20;

fn utf8(bytes: Vec<u8>, path: &Path) -> Result<String> {
    String::from_utf8(bytes).map_err(|_| {
        Error::usage(format!(
            "{} is not UTF-8 text; see README.md, \"Profiles\"",
            path.display()
        ))
    })
}

/// Write `profile` as `[profiles.NAME]` into the file at `path` (creating it),
/// replacing that table and keeping everything else, comments included.
pub fn save(path: &Path, name: &str, profile: &Profile) -> Result<()> {
    let values = toml_edit::ser::to_document(profile).map_err(|e| {
        Error::usage(format!(
            "cannot write the profile {name:?}: {}",
            crate::error::one_line(&e.to_string())
        ))
    })?;
    // Read under the same rule as `Config::load_in` (this user's, never through
    // another user's link).
    let text = read_text(path)?.unwrap_or_default();
    let mut doc: toml_edit::DocumentMut = text.parse().map_err(|e: toml_edit::TomlError| {
        Error::usage(format!(
            "{} is not valid TOML ({}); fix it before saving a profile",
            path.display(),
            crate::error::one_line(e.message())
        ))
    })?;
    // A file of comments only keeps them as trailing text: put them back in front.
    let leading = if doc.as_table().is_empty() {
        let t = doc.trailing().as_str().unwrap_or("").to_string();
        doc.set_trailing("");
        t
    } else {
        String::new()
    };
    let profiles = doc
        .entry("profiles")
        .or_insert_with(|| {
            let mut t = toml_edit::Table::new();
            t.set_implicit(true);
            toml_edit::Item::Table(t)
        })
        .as_table_mut()
        .ok_or_else(|| Error::usage(format!("{}: profiles is not a table", path.display())))?;
    let mut table = toml_edit::Table::new();
    if !leading.is_empty() {
        table.decor_mut().set_prefix(leading);
    }
    for (key, item) in values.as_table().iter() {
        table.insert(key, item.clone());
    }
    profiles.insert(name, toml_edit::Item::Table(table));
    crate::fsutil::write_atomic(path, doc.to_string().as_bytes())
}

#[cfg(test)]
#[path = "profiles_tests.rs"]
mod tests;
