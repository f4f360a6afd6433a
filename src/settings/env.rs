//! The environment: the `Env` seam, the registry of every variable vmauth reads
//! (which generates the "Environment" part of `--help` and the man pages), and
//! the reader the resolution uses, with the profiles below the variables.

use std::path::{Path, PathBuf};

use clap::ValueEnum;

use crate::error::{Error, Result};
use crate::profiles::{self, Profile};

/// Reads environment variables. Injected so tests can use a fake environment.
pub trait Env {
    /// The variable's value, if set and valid Unicode.
    fn var(&self, name: &str) -> Option<String>;
}

/// The real process environment.
pub struct ProcessEnv;

impl Env for ProcessEnv {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok()
    }
}

/// A fixed environment, for tests.
#[derive(Debug, Clone, Default)]
pub struct MapEnv(pub std::collections::BTreeMap<String, String>);

impl MapEnv {
    /// An environment holding `pairs`.
    pub fn new(pairs: &[(&str, &str)]) -> MapEnv {
        MapEnv(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }
}

impl Env for MapEnv {
    fn var(&self, name: &str) -> Option<String> {
        self.0.get(name).cloned()
    }
}

/// One environment variable vmauth reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EnvVar {
    /// Its name.
    pub name: &'static str,
    /// What it means, for `--help` and the documentation.
    pub meaning: &'static str,
    /// The value used when it is unset, if there is one worth naming.
    pub default: Option<&'static str>,
}

macro_rules! env_vars {
    ($($(#[$doc:meta])* $id:ident = $name:literal, $meaning:literal, $default:expr;)*) => {
        /// The environment variables, one constant each.
        pub mod vars {
            use super::EnvVar;
            $($(#[$doc])* pub const $id: EnvVar = EnvVar { name: $name, meaning: $meaning, default: $default };)*
        }
        /// Every environment variable vmauth reads, in `--help` order.
        pub const ENV_VARS: &[EnvVar] = &[$(vars::$id),*];
    };
}

env_vars! {
    /// `--issuer`.
    ISSUER = "VMAUTH_ISSUER", "issuer URL, as --issuer (taken together with VMAUTH_CLIENT_ID and VMAUTH_AUDIENCE)", None;
    /// `--client-id`.
    CLIENT_ID = "VMAUTH_CLIENT_ID", "OAuth client id, as --client-id", None;
    /// `--audience`.
    AUDIENCE = "VMAUTH_AUDIENCE", "API audience, as --audience", None;
    /// `--scope`.
    SCOPE = "VMAUTH_SCOPE", "scopes, as --scope", Some("openid profile email offline_access (device login)");
    /// The ValidMind library's issuer.
    VM_ISSUER = "VM_OIDC_ISSUER", "the ValidMind library's issuer, used when neither flags nor VMAUTH_ISSUER/VMAUTH_CLIENT_ID name a login", None;
    /// The ValidMind library's client id.
    VM_CLIENT_ID = "VM_OIDC_CLIENT_ID", "the ValidMind library's client id (with VM_OIDC_ISSUER)", None;
    /// The ValidMind library's audience.
    VM_AUDIENCE = "VM_OIDC_AUDIENCE", "the ValidMind library's audience (with VM_OIDC_ISSUER)", None;
    /// The ValidMind library's scopes.
    VM_SCOPE = "VM_OIDC_SCOPE", "the ValidMind library's scopes, used when VMAUTH_SCOPE is unset", None;
    /// `--profile`.
    PROFILE = "VMAUTH_PROFILE", "the profile of config.toml to use, as --profile", Some("default_profile in config.toml");
    /// `--store`.
    STORE = "VMAUTH_STORE", "where credentials live, as --store", Some("auto");
    /// The ValidMind library's "do not persist".
    NO_PERSIST = "VM_OIDC_NO_PERSIST", "1, true or yes: the same as --store memory, unless --store or VMAUTH_STORE is given", None;
    /// `--min-ttl`.
    MIN_TTL = "VMAUTH_MIN_TTL", "refresh when less than this is left, as --min-ttl", Some("60");
    /// `--output`.
    OUTPUT = "VMAUTH_OUTPUT", "how vmauth token prints the token, as --output", Some("raw");
    /// `--token-type`.
    TOKEN_TYPE = "VMAUTH_TOKEN_TYPE", "access or id: which token token and exec give, as --token-type", Some("access");
    /// Set by kubectl for exec credential plugins.
    EXEC_INFO = "KUBERNETES_EXEC_INFO", "set by kubectl for credential plugins: its apiVersion decides the ExecCredential version of -o exec-credential", Some("client.authentication.k8s.io/v1");
    /// `--client-credentials`.
    GRANT = "VMAUTH_GRANT", "client_credentials: the same as --client-credentials (device_code: the device flow)", Some("device_code");
    /// `--client-auth`.
    CLIENT_AUTH = "VMAUTH_CLIENT_AUTH", "client authentication method, as --client-auth", None;
    /// The client secret (never an argument).
    CLIENT_SECRET = "VMAUTH_CLIENT_SECRET", "the client secret for client_secret_basic / client_secret_post", None;
    /// `--client-secret-file`.
    CLIENT_SECRET_FILE = "VMAUTH_CLIENT_SECRET_FILE", "a file holding the client secret, as --client-secret-file", None;
    /// `--private-key`.
    PRIVATE_KEY = "VMAUTH_PRIVATE_KEY", "PEM private key for private_key_jwt, as --private-key", None;
    /// `--key-id`.
    KEY_ID = "VMAUTH_KEY_ID", "kid of signed assertions, as --key-id", None;
    /// `--client-assertion-file`.
    CLIENT_ASSERTION_FILE = "VMAUTH_CLIENT_ASSERTION_FILE", "a ready-made client assertion, as --client-assertion-file", None;
    /// `--assertion-audience`.
    ASSERTION_AUDIENCE = "VMAUTH_ASSERTION_AUDIENCE", "aud of signed assertions, as --assertion-audience", Some("token-endpoint");
    /// The credentials file.
    CREDENTIALS_FILE = "VMAUTH_CREDENTIALS_FILE", "the credentials file, shared with the ValidMind library", Some("~/.validmind/credentials.json");
    /// vmauth's own state directory.
    CONFIG_DIR = "VMAUTH_CONFIG_DIR", "vmauth's own state (current login, store choice, locks)", Some("the platform config directory, ~/.config/vmauth on Linux");
    /// The credential helper program.
    CREDENTIAL_HELPER = "VMAUTH_CREDENTIAL_HELPER", "the program behind --store helper (protocol in README.md)", None;
    /// The credential helper's time limit.
    HELPER_TIMEOUT = "VMAUTH_HELPER_TIMEOUT", "seconds a credential helper gets per call", Some("10");
    /// The keychain item size.
    KEYRING_MAX_ITEM = "VMAUTH_KEYRING_MAX_ITEM", "bytes per keychain item before a value is split", Some("2560 on Windows, 16384 elsewhere");
    /// No styling.
    NO_COLOR = "NO_COLOR", "any non-empty value: no ANSI styling", None;
}

/// The "Environment" part of `vmauth --help`, generated from [`ENV_VARS`].
pub fn env_help() -> String {
    let mut out = String::from("Environment:\n");
    for v in ENV_VARS {
        out.push_str("  ");
        out.push_str(v.name);
        out.push_str("\n      ");
        out.push_str(v.meaning);
        if let Some(d) = v.default {
            out.push_str(" [default: ");
            out.push_str(d);
            out.push(']');
        }
        out.push('\n');
    }
    out
}

/// `NO_COLOR` is set (<https://no-color.org>): no ANSI styling, even on a terminal.
pub fn no_color(env: &dyn Env) -> bool {
    env.var(vars::NO_COLOR.name).is_some_and(|v| !v.is_empty())
}

/// Reads registered variables (empty values count as unset) and, below them,
/// the selected profile, then the default profile.
#[derive(Clone, Copy)]
pub(super) struct Vars<'a> {
    pub(super) env: &'a dyn Env,
    /// The profile named by --profile or VMAUTH_PROFILE, else the default one.
    pub(super) named: Option<(&'a str, &'a Profile)>,
    /// `named` came from --profile (it then outranks VMAUTH_*/VM_OIDC_* for the login).
    pub(super) named_by_flag: bool,
    /// The default profile, when another one is named.
    pub(super) default: Option<(&'a str, &'a Profile)>,
    /// Where the profiles came from, for messages.
    pub(super) config: &'a Path,
    /// The profile (named or default) that names the login the command is for:
    /// only its login-bound settings (grant, client authentication, scope,
    /// resource) apply, and only to that login.
    pub(super) login: Option<(&'a str, &'a Profile)>,
}

impl<'a> Vars<'a> {
    pub(super) fn env_only(env: &'a dyn Env) -> Vars<'a> {
        Vars {
            env,
            named: None,
            named_by_flag: false,
            default: None,
            config: Path::new(profiles::FILE_NAME),
            login: None,
        }
    }

    /// These readers for `login`: its profile is the one (named or default)
    /// that names this same login.
    pub(super) fn for_login(self, login: Option<&crate::credential::LoginId>) -> Vars<'a> {
        let key = login.map(|l| l.cache_key());
        let names = |p: &Profile| match (&p.issuer, &p.client_id, &key) {
            (Some(i), Some(c), Some(k)) => {
                crate::credential::LoginId::new(i, c, p.audience.as_deref())
                    .is_ok_and(|id| &id.cache_key() == k)
            }
            _ => false,
        };
        Vars {
            login: [self.named, self.default]
                .into_iter()
                .flatten()
                .find(|(_, p)| names(p)),
            ..self
        }
    }

    /// A login-bound profile setting (see [`Vars::for_login`]).
    pub(super) fn login_profile<T>(
        &self,
        f: impl Fn(&Profile) -> Option<T>,
    ) -> Option<(T, &'a str)> {
        self.login.and_then(|(name, p)| f(p).map(|v| (v, name)))
    }

    /// A login-bound `ValueEnum` setting: its variable, else the login's profile.
    pub(super) fn choice_or_login_profile<T: ValueEnum>(
        &self,
        v: EnvVar,
        key: &str,
        f: impl Fn(&Profile) -> Option<String>,
    ) -> Result<Option<T>> {
        if let Some(t) = self.choice::<T>(v)? {
            return Ok(Some(t));
        }
        let Some((raw, name)) = self.login_profile(f) else {
            return Ok(None);
        };
        T::from_str(raw.trim(), false).map(Some).map_err(|_| {
            Error::usage(format!(
                "{}: profile {name:?}: {key} = {raw:?} is not valid; use one of: {}",
                self.config.display(),
                possible::<T>()
            ))
        })
    }

    pub(super) fn get(&self, v: EnvVar) -> Option<String> {
        self.env.var(v.name).filter(|s| !s.trim().is_empty())
    }

    pub(super) fn path(&self, v: EnvVar) -> Option<PathBuf> {
        self.env
            .var(v.name)
            .filter(|s| !s.is_empty())
            .map(PathBuf::from)
    }

    /// A profile setting: the named profile's, else the default profile's; with
    /// the profile's name.
    pub(super) fn profile<T>(&self, f: impl Fn(&Profile) -> Option<T>) -> Option<(T, &'a str)> {
        [self.named, self.default]
            .into_iter()
            .flatten()
            .find_map(|(name, p)| f(p).map(|v| (v, name)))
    }

    /// A `ValueEnum` setting from a profile, with an error naming the file, the
    /// profile and the key.
    pub(super) fn profile_choice<T: ValueEnum>(
        &self,
        key: &str,
        f: impl Fn(&Profile) -> Option<String>,
    ) -> Result<Option<T>> {
        let Some((raw, name)) = self.profile(f) else {
            return Ok(None);
        };
        T::from_str(raw.trim(), false).map(Some).map_err(|_| {
            Error::usage(format!(
                "{}: profile {name:?}: {key} = {raw:?} is not valid; use one of: {}",
                self.config.display(),
                possible::<T>()
            ))
        })
    }

    /// A `ValueEnum` setting: its variable, else the profiles.
    pub(super) fn choice_or_profile<T: ValueEnum>(
        &self,
        v: EnvVar,
        key: &str,
        f: impl Fn(&Profile) -> Option<String>,
    ) -> Result<Option<T>> {
        match self.choice::<T>(v)? {
            Some(t) => Ok(Some(t)),
            None => self.profile_choice(key, f),
        }
    }

    /// A value of a clap `ValueEnum`, with an error naming the variable.
    pub(super) fn choice<T: ValueEnum>(&self, v: EnvVar) -> Result<Option<T>> {
        let Some(raw) = self.get(v) else {
            return Ok(None);
        };
        T::from_str(raw.trim(), false).map(Some).map_err(|_| {
            Error::usage(format!(
                "{}={raw:?} is not valid; use one of: {}",
                v.name,
                possible::<T>()
            ))
        })
    }
}

/// The names a `ValueEnum` accepts, comma-separated.
fn possible<T: ValueEnum>() -> String {
    T::value_variants()
        .iter()
        .filter_map(|x| x.to_possible_value().map(|p| p.get_name().to_string()))
        .collect::<Vec<_>>()
        .join(", ")
}
