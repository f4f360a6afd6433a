//! The environment: the `Env` seam and the reader the resolution uses, with
//! the profiles below the variables. The registry of every variable lives in
//! [`crate::env_vars`] (re-exported here for the settings' readers).

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

pub use crate::env_vars::{ENV_VARS, EnvVar, env_help, vars};

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
