//! The settings layer: the only code that reads the environment and
//! `config.toml`. It resolves every setting of a command from the parsed flags
//! ([`crate::cli`]), an [`Env`] and the profiles, in one order: flags, then
//! `VMAUTH_*`, then `VM_OIDC_*` (the ValidMind library's names), then the named
//! profile, the default profile, and built-in defaults (an explicit `--profile`
//! outranks the environment for the login itself).
//!
//! Issuer, client id and audience always come together from one source: the
//! first of the flags, the `VMAUTH_*` variables and the `VM_OIDC_*` variables
//! that names an issuer or a client id supplies all three, so a login is never
//! assembled from pieces of different configurations.
//!
//! Every variable vmauth reads is listed once in [`ENV_VARS`]; that registry
//! generates the "Environment" part of `--help`, and a test checks that README.md
//! documents each one.

mod env;
mod inputs;
mod types;

use std::time::Duration;

use env::Vars;
pub use env::{ENV_VARS, Env, EnvVar, MapEnv, ProcessEnv, env_help, no_color, vars};
use inputs::{client_input, login_id, min_ttl, request};
pub use types::*;

use crate::cli::{
    AcquireArgs, Cli, ClientAuthArgs, Command, OutputFormat, StoreChoice, TokenChoice,
};
use crate::credential::LoginId;
use crate::error::{Error, Result};
use crate::oidc::discovery::EndpointOverrides;
use crate::profiles::{self, Config};

/// Default scopes requested by `vmauth login`.
pub const DEFAULT_SCOPE: &str = "openid profile email offline_access";
/// Default `--min-ttl`, in seconds.
pub const DEFAULT_MIN_TTL: u64 = crate::default_min_ttl!();
/// Every keychain call gives up after this long.
pub const KEYRING_TIMEOUT: Duration = Duration::from_secs(3);
/// A credential helper gets this long per operation, unless `VMAUTH_HELPER_TIMEOUT` says otherwise.
pub const HELPER_TIMEOUT: Duration = Duration::from_secs(10);

impl Settings {
    /// Resolve every setting from the flags and the environment.
    pub fn resolve(cli: &Cli, env: &dyn Env) -> Result<Settings> {
        let (credentials_file, config_dir) = locations(&Vars::env_only(env))?;
        // The same rule as for every file read there: a directory others can
        // write to could hold a planted config.toml (with endpoint overrides).
        crate::fsutil::check_dir_for_read(&config_dir.path, config_dir.own, &|_| {})?;
        let config = Config::load(&config_dir.path.join(profiles::FILE_NAME))?;
        let by_flag = cli.profile.clone().filter(|p| !p.trim().is_empty());
        let name = by_flag
            .clone()
            .or_else(|| env.var(vars::PROFILE.name).filter(|p| !p.trim().is_empty()))
            .or_else(|| config.default_profile.clone());
        let named = match &name {
            Some(n) => Some((n.as_str(), config.profile(n)?)),
            None => None,
        };
        let default = config
            .default_profile
            .as_deref()
            .filter(|d| Some(*d) != name.as_deref())
            .and_then(|d| config.profiles.get(d).map(|p| (d, p)));
        let vars = Vars {
            env,
            named,
            named_by_flag: by_flag.is_some(),
            default,
            config: &config.path,
            login: None,
        };
        let common = common(cli, &vars, credentials_file, config_dir, &config)?;
        let command = match &cli.command {
            Command::Login(a) => {
                let login = login_id(&a.selector, &vars)?;
                let lv = vars.for_login(login.as_ref());
                CommandSettings::Login(LoginSettings {
                    login,
                    request: request(&a.request, &lv)?,
                    client: client_input(&a.client, &lv)?,
                    qr: if a.no_qr {
                        Some(false)
                    } else {
                        a.qr.then_some(true)
                    },
                    open: a.open,
                    save_profile: a.save_profile.clone(),
                })
            }
            Command::Token(a) => CommandSettings::Token(TokenSettings {
                acquire: acquire(&a.acquire, &vars)?,
                output: match a.output {
                    Some(o) => o,
                    None => vars
                        .choice_or_profile::<OutputFormat>(vars::OUTPUT, "output", |p| {
                            p.output.clone()
                        })?
                        .unwrap_or(OutputFormat::Raw),
                },
                exec_info: vars.get(vars::EXEC_INFO),
            }),
            Command::Exec(a) => CommandSettings::Exec(ExecSettings {
                acquire: acquire(&a.acquire, &vars)?,
                env_name: exec_env_name(a.env_name.as_deref())?,
                command: a.command.clone(),
            }),
            Command::Status(a) => CommandSettings::Status(StatusSettings {
                login: login_id(&a.selector, &vars)?,
                json: a.json,
                all: a.all,
            }),
            Command::Profiles => CommandSettings::Profiles(ProfilesSettings {
                profiles: config
                    .profiles
                    .iter()
                    .map(|(name, p)| ListedProfile {
                        name: name.clone(),
                        default: config.default_profile.as_deref() == Some(name),
                        login: profile_login(p),
                    })
                    .collect(),
            }),
            Command::Completions(_) => {
                return Err(Error::usage(
                    "completions need no settings (handled before settings are resolved)",
                ));
            }
            Command::Logout(a) => CommandSettings::Logout(LogoutSettings {
                login: if a.all {
                    None
                } else {
                    login_id(&a.selector, &vars)?
                },
                client: client_input(&ClientAuthArgs::default(), &vars)?,
                all: a.all,
            }),
        };
        Ok(Settings { common, command })
    }

    /// Whether the command is about to store a new login (so a keychain is
    /// checked for writes before the identity provider is contacted).
    pub fn will_write(&self) -> bool {
        matches!(self.command, CommandSettings::Login(_))
    }
}

fn acquire(a: &AcquireArgs, vars: &Vars) -> Result<AcquireSettings> {
    let login = login_id(&a.selector, vars)?;
    let lv = vars.for_login(login.as_ref());
    Ok(AcquireSettings {
        login,
        request: request(&a.request, &lv)?,
        client: client_input(&a.client, &lv)?,
        min_ttl: min_ttl(a.min_ttl, vars)?,
        force_refresh: a.force_refresh,
        token: match a.token_type {
            Some(t) => t,
            None => vars
                .choice_or_profile::<TokenChoice>(vars::TOKEN_TYPE, "token_type", |p| {
                    p.token_type.clone()
                })?
                .unwrap_or(TokenChoice::Access),
        },
    })
}

/// `--env NAME`: a name a shell and `execve` accept.
fn exec_env_name(name: Option<&str>) -> Result<String> {
    let name = name.unwrap_or("VMAUTH_TOKEN");
    let valid = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !valid {
        return Err(Error::usage(format!(
            "--env {name:?} is not an environment variable name; use letters, digits and _ (e.g. API_TOKEN)"
        )));
    }
    Ok(name.to_string())
}

/// The login a profile names, if it names issuer and client.
fn profile_login(p: &profiles::Profile) -> Option<LoginId> {
    match (&p.issuer, &p.client_id) {
        (Some(i), Some(c)) => LoginId::new(i, c, p.audience.as_deref()).ok(),
        _ => None,
    }
}

/// Where the credentials file and the config directory are (from the
/// environment only: the config file lives in the latter).
fn locations(vars: &Vars) -> Result<(Location, Location)> {
    let home = || {
        directories::BaseDirs::new()
            .map(|b| b.home_dir().to_path_buf())
            .ok_or_else(|| {
                Error::usage(
                    "cannot find the home directory; set HOME or VMAUTH_CREDENTIALS_FILE and VMAUTH_CONFIG_DIR",
                )
            })
    };
    let credentials_file = match vars.path(vars::CREDENTIALS_FILE) {
        Some(path) => Location { path, own: false },
        None => Location {
            path: home()?.join(".validmind").join("credentials.json"),
            own: true,
        },
    };
    let config_dir = match vars.path(vars::CONFIG_DIR) {
        Some(path) => Location { path, own: false },
        None => Location {
            path: directories::ProjectDirs::from("", "", "vmauth")
                .map(|d| d.config_dir().to_path_buf())
                .ok_or_else(|| {
                    Error::usage("cannot find the config directory; set VMAUTH_CONFIG_DIR")
                })?,
            own: true,
        },
    };
    Ok((credentials_file, config_dir))
}

fn common(
    cli: &Cli,
    vars: &Vars,
    credentials_file: Location,
    config_dir: Location,
    config: &Config,
) -> Result<Common> {
    let store = match cli.store {
        Some(s) => s,
        None => match vars.choice::<StoreChoice>(vars::STORE)? {
            Some(s) => s,
            None if vars.get(vars::NO_PERSIST).is_some_and(|v| {
                ["1", "true", "yes"].contains(&v.trim().to_ascii_lowercase().as_str())
            }) =>
            {
                StoreChoice::Memory
            }
            None => vars
                .profile_choice::<StoreChoice>("store", |p| p.store.clone())?
                .unwrap_or(StoreChoice::Auto),
        },
    };
    // Every profile that names a login (for `status`).
    let mut profile_logins = Vec::new();
    for (name, p) in &config.profiles {
        if let Some(id) = profile_login(p) {
            profile_logins.push(ProfileLogin {
                name: name.clone(),
                key: id.cache_key(),
            });
        }
    }
    // Endpoint overrides: the selected profile's, for its own login only.
    let selected_profile = vars.named.and_then(|(name, p)| {
        Some(SelectedProfile {
            profile: name.to_string(),
            key: profile_login(p)?.cache_key(),
            overrides: EndpointOverrides {
                source: format!("profile {name:?}"),
                profile: name.to_string(),
                device_authorization: p.device_authorization_endpoint.clone(),
                token: p.token_endpoint.clone(),
                revocation: p.revocation_endpoint.clone(),
                userinfo: p.userinfo_endpoint.clone(),
                trusted_hosts: p.trusted_endpoint_hosts.clone().unwrap_or_default(),
            },
        })
    });
    Ok(Common {
        store,
        credentials_file,
        config_dir,
        config_file: config.path.clone(),
        profile_logins,
        selected_profile,
        no_color: no_color(vars.env),
        keyring_max_item: vars
            .get(vars::KEYRING_MAX_ITEM)
            .and_then(|v| v.trim().parse().ok()),
        keyring_timeout: KEYRING_TIMEOUT,
        helper: vars
            .get(vars::CREDENTIAL_HELPER)
            .map(|p| p.trim().to_string()),
        helper_timeout: vars
            .get(vars::HELPER_TIMEOUT)
            .and_then(|v| v.trim().parse().ok())
            .map(Duration::from_secs)
            .unwrap_or(HELPER_TIMEOUT),
    })
}

#[cfg(test)]
#[path = "settings_tests.rs"]
mod tests;
