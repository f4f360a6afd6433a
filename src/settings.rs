//! The settings layer: the only code that reads the environment. It resolves
//! every setting of a command from the parsed flags ([`crate::cli`]) and an
//! [`Env`], in one order: flags > `VMAUTH_*` > `VM_OIDC_*` (the ValidMind
//! library's names) > built-in defaults. (Config-file profiles will slot in
//! between the environment and the defaults.)
//!
//! Issuer, client id and audience always come together from one source: the
//! first of the flags, the `VMAUTH_*` variables and the `VM_OIDC_*` variables
//! that names an issuer or a client id supplies all three, so a login is never
//! assembled from pieces of different configurations.
//!
//! Every variable vmauth reads is listed once in [`ENV_VARS`]; that registry
//! generates the "Environment" part of `--help`, and a test checks that README.md
//! documents each one.

use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::ValueEnum;

use crate::cli::{
    AcquireArgs, AssertionAudienceChoice, Cli, ClientAuthArgs, ClientAuthChoice, Command,
    OutputFormat, RequestArgs, Selector, StoreChoice, TokenChoice, parse_duration_secs,
};
use crate::credential::{LoginId, normalize, parse_scopes};
use crate::error::{Error, Result};
use crate::oidc::client_auth::{AssertionAudience, Method};
use crate::profiles::{self, Config, Profile};
use crate::secret::Secret;

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

/// Default scopes requested by `vmauth login`.
pub const DEFAULT_SCOPE: &str = "openid profile email offline_access";
/// Default `--min-ttl`, in seconds.
pub const DEFAULT_MIN_TTL: u64 = 60;
/// Every keychain call gives up after this long.
pub const KEYRING_TIMEOUT: Duration = Duration::from_secs(3);
/// A credential helper gets this long per operation, unless `VMAUTH_HELPER_TIMEOUT` says otherwise.
pub const HELPER_TIMEOUT: Duration = Duration::from_secs(10);

/// Reads registered variables (empty values count as unset) and, below them,
/// the selected profile, then the default profile.
struct Vars<'a> {
    env: &'a dyn Env,
    /// The profile named by --profile or VMAUTH_PROFILE, else the default one.
    named: Option<(&'a str, &'a Profile)>,
    /// `named` came from --profile (it then outranks VMAUTH_*/VM_OIDC_* for the login).
    named_by_flag: bool,
    /// The default profile, when another one is named.
    default: Option<(&'a str, &'a Profile)>,
    /// Where the profiles came from, for messages.
    config: &'a Path,
}

impl<'a> Vars<'a> {
    fn env_only(env: &'a dyn Env) -> Vars<'a> {
        Vars {
            env,
            named: None,
            named_by_flag: false,
            default: None,
            config: Path::new(profiles::FILE_NAME),
        }
    }

    fn get(&self, v: EnvVar) -> Option<String> {
        self.env.var(v.name).filter(|s| !s.trim().is_empty())
    }

    fn path(&self, v: EnvVar) -> Option<PathBuf> {
        self.env
            .var(v.name)
            .filter(|s| !s.is_empty())
            .map(PathBuf::from)
    }

    /// A profile setting: the named profile's, else the default profile's; with
    /// the profile's name.
    fn profile<T>(&self, f: impl Fn(&Profile) -> Option<T>) -> Option<(T, &'a str)> {
        [self.named, self.default]
            .into_iter()
            .flatten()
            .find_map(|(name, p)| f(p).map(|v| (v, name)))
    }

    /// A `ValueEnum` setting from a profile, with an error naming the file, the
    /// profile and the key.
    fn profile_choice<T: ValueEnum>(
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
    fn choice_or_profile<T: ValueEnum>(
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
    fn choice<T: ValueEnum>(&self, v: EnvVar) -> Result<Option<T>> {
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

/// A file or directory location, and whether it is vmauth's default one (which
/// vmauth may create and tighten) rather than one the user named (never chmod-ed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// The path.
    pub path: PathBuf,
    /// vmauth's default location, not one the user named.
    pub own: bool,
}

/// Settings every command has.
#[derive(Debug, Clone)]
pub struct Common {
    /// `--store`, `VMAUTH_STORE`, `VM_OIDC_NO_PERSIST`, else auto.
    pub store: StoreChoice,
    /// The credentials file.
    pub credentials_file: Location,
    /// vmauth's config (state) directory.
    pub config_dir: Location,
    /// Its `config.toml`.
    pub config_file: PathBuf,
    /// The logins the profiles name, with their endpoint overrides.
    pub profile_logins: Vec<ProfileLogin>,
    /// `NO_COLOR`.
    pub no_color: bool,
    /// Keychain item size limit (`None`: the platform's default).
    pub keyring_max_item: Option<usize>,
    /// Keychain call time limit.
    pub keyring_timeout: Duration,
    /// The credential helper program.
    pub helper: Option<String>,
    /// Time limit per credential-helper call.
    pub helper_timeout: Duration,
}

/// Endpoints a profile sets for providers whose metadata lacks them (or has
/// them wrong); the same HTTPS rules apply as to discovered ones.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Endpoints {
    /// `device_authorization_endpoint`.
    pub device_authorization: Option<String>,
    /// `token_endpoint`.
    pub token: Option<String>,
    /// `revocation_endpoint`.
    pub revocation: Option<String>,
    /// `userinfo_endpoint`.
    pub userinfo: Option<String>,
}

/// A login a profile names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileLogin {
    /// The profile.
    pub name: String,
    /// The login's cache key.
    pub key: String,
    /// Its endpoint overrides.
    pub endpoints: Endpoints,
}

/// What to ask the identity provider for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Request {
    /// Scopes from `--scope`, `VMAUTH_SCOPE` or `VM_OIDC_SCOPE` (`None`: not given).
    pub scopes: Option<Vec<String>>,
    /// RFC 8707 resources, each an absolute URI.
    pub resources: Vec<String>,
    /// `--scope`, `VMAUTH_SCOPE` or `--resource` was given: a client-credentials
    /// token must be for exactly these.
    pub explicit: bool,
}

impl Request {
    /// The scopes, or `default` (space-separated) when none were given.
    pub fn scopes_or(&self, default: &str) -> Vec<String> {
        self.scopes.clone().unwrap_or_else(|| parse_scopes(default))
    }
}

/// How the client authenticates, as far as flags and environment say.
#[derive(Debug, Clone, Default)]
pub struct ClientInput {
    /// Use the client credentials grant (`--client-credentials`, `VMAUTH_GRANT`).
    pub client_credentials: bool,
    /// `--client-auth`.
    pub method: Option<Method>,
    /// `--client-secret-file`.
    pub secret_file: Option<PathBuf>,
    /// `--client-secret-stdin`.
    pub secret_stdin: bool,
    /// `VMAUTH_CLIENT_SECRET`.
    pub secret_env: Option<Secret>,
    /// `--private-key`.
    pub private_key: Option<PathBuf>,
    /// `--key-id`.
    pub key_id: Option<String>,
    /// `--client-assertion-file`.
    pub assertion_file: Option<PathBuf>,
    /// `--assertion-audience`.
    pub assertion_audience: Option<AssertionAudience>,
}

impl ClientInput {
    /// A credential source was named (secret file, stdin, key, assertion file):
    /// it replaces what an earlier login stored, as a whole.
    pub fn names_a_source(&self) -> bool {
        self.secret_file.is_some()
            || self.secret_stdin
            || self.private_key.is_some()
            || self.assertion_file.is_some()
    }

    /// Client authentication was asked for at all (a method or a source; the
    /// secret variable alone never makes a device login confidential).
    pub fn requested(&self) -> bool {
        self.method.is_some() || self.names_a_source()
    }
}

/// `vmauth login`.
#[derive(Debug, Clone)]
pub struct LoginSettings {
    /// The login to create.
    pub login: Option<LoginId>,
    /// Scopes and resources.
    pub request: Request,
    /// Client authentication.
    pub client: ClientInput,
    /// `--qr` (`Some(true)`), `--no-qr` (`Some(false)`), else by terminal.
    pub qr: Option<bool>,
    /// `--open`.
    pub open: bool,
    /// `--save-profile NAME`.
    pub save_profile: Option<String>,
}

/// One profile, as `vmauth profiles` lists it.
#[derive(Debug, Clone)]
pub struct ListedProfile {
    /// Its name.
    pub name: String,
    /// It is the default profile.
    pub default: bool,
    /// The login it names, if it names a whole one.
    pub login: Option<LoginId>,
}

/// `vmauth profiles`.
#[derive(Debug, Clone)]
pub struct ProfilesSettings {
    /// Every profile in config.toml.
    pub profiles: Vec<ListedProfile>,
}

/// Which token, and how fresh: `token` and `exec`.
#[derive(Debug, Clone)]
pub struct AcquireSettings {
    /// The login named by flags or environment (else the current one).
    pub login: Option<LoginId>,
    /// Scopes and resources (client credentials).
    pub request: Request,
    /// Client authentication.
    pub client: ClientInput,
    /// Refresh when less than this many seconds are left (at most half the
    /// token's lifetime: see `Credential::refresh_margin`).
    pub min_ttl: i64,
    /// `--force-refresh`.
    pub force_refresh: bool,
    /// `--token-type`: the access token or the ID token.
    pub token: TokenChoice,
}

/// `vmauth token`.
#[derive(Debug, Clone)]
pub struct TokenSettings {
    /// Which token, and how fresh.
    pub acquire: AcquireSettings,
    /// `--output`.
    pub output: OutputFormat,
    /// `KUBERNETES_EXEC_INFO`, as kubectl set it.
    pub exec_info: Option<String>,
}

/// `vmauth exec`.
#[derive(Debug, Clone)]
pub struct ExecSettings {
    /// Which token, and how fresh.
    pub acquire: AcquireSettings,
    /// The variable that gets the token.
    pub env_name: String,
    /// The command and its arguments.
    pub command: Vec<std::ffi::OsString>,
}

/// `vmauth status`.
#[derive(Debug, Clone)]
pub struct StatusSettings {
    /// The login named by flags or environment (else the current one).
    pub login: Option<LoginId>,
    /// `--json`.
    pub json: bool,
    /// `--all`.
    pub all: bool,
}

/// `vmauth logout`.
#[derive(Debug, Clone)]
pub struct LogoutSettings {
    /// The login named by flags or environment (else the current one).
    pub login: Option<LoginId>,
    /// Client authentication for revocation (from the environment; the method
    /// and files come from the stored login).
    pub client: ClientInput,
    /// `--all`.
    pub all: bool,
}

/// The resolved settings of one subcommand.
#[derive(Debug, Clone)]
pub enum CommandSettings {
    /// `vmauth login`.
    Login(LoginSettings),
    /// `vmauth token`.
    Token(TokenSettings),
    /// `vmauth exec`.
    Exec(ExecSettings),
    /// `vmauth status`.
    Status(StatusSettings),
    /// `vmauth logout`.
    Logout(LogoutSettings),
    /// `vmauth profiles`.
    Profiles(ProfilesSettings),
}

/// Everything a run of vmauth needs to know, resolved once.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Settings of every command.
    pub common: Common,
    /// The subcommand's own settings.
    pub command: CommandSettings,
}

impl Settings {
    /// Resolve every setting from the flags and the environment.
    pub fn resolve(cli: &Cli, env: &dyn Env) -> Result<Settings> {
        let (credentials_file, config_dir) = locations(&Vars::env_only(env))?;
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
        };
        let common = common(cli, &vars, credentials_file, config_dir, &config)?;
        let command = match &cli.command {
            Command::Login(a) => CommandSettings::Login(LoginSettings {
                login: login_id(&a.selector, &vars)?,
                request: request(&a.request, &vars)?,
                client: client_input(&a.client, &vars)?,
                qr: if a.no_qr {
                    Some(false)
                } else {
                    a.qr.then_some(true)
                },
                open: a.open,
                save_profile: a.save_profile.clone(),
            }),
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
                        login: match (&p.issuer, &p.client_id) {
                            (Some(i), Some(c)) => LoginId::new(i, c, p.audience.as_deref()).ok(),
                            _ => None,
                        },
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
    Ok(AcquireSettings {
        login: login_id(&a.selector, vars)?,
        request: request(&a.request, vars)?,
        client: client_input(&a.client, vars)?,
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
    // Every profile that names a login: its name and its endpoint overrides.
    let mut profile_logins = Vec::new();
    for (name, p) in &config.profiles {
        if let (Some(i), Some(c)) = (&p.issuer, &p.client_id)
            && let Ok(id) = LoginId::new(i, c, p.audience.as_deref())
        {
            profile_logins.push(ProfileLogin {
                name: name.clone(),
                key: id.cache_key(),
                endpoints: Endpoints {
                    device_authorization: p.device_authorization_endpoint.clone(),
                    token: p.token_endpoint.clone(),
                    revocation: p.revocation_endpoint.clone(),
                    userinfo: p.userinfo_endpoint.clone(),
                },
            });
        }
    }
    Ok(Common {
        store,
        credentials_file,
        config_dir,
        config_file: config.path.clone(),
        profile_logins,
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

/// Issuer, client id and audience, all three from the first source that names
/// an issuer or a client id: the flags; a profile named by --profile; the
/// `VMAUTH_*` variables; the `VM_OIDC_*` variables; the profile named by
/// `VMAUTH_PROFILE` (else the default profile); the default profile.
fn login_id(sel: &Selector, vars: &Vars) -> Result<Option<LoginId>> {
    let flag = |v: &Option<String>| v.clone().filter(|s| !s.trim().is_empty());
    let from_profile = |p: Option<(&str, &Profile)>| {
        p.map(|(name, p)| {
            (
                format!("issuer of profile {name:?}"),
                format!("client_id of profile {name:?}"),
                p.issuer.clone(),
                p.client_id.clone(),
                p.audience.clone(),
            )
        })
    };
    let env_source = |i: EnvVar, c: EnvVar, a: EnvVar| {
        Some((
            i.name.to_string(),
            c.name.to_string(),
            vars.get(i),
            vars.get(c),
            vars.get(a),
        ))
    };
    let named = from_profile(vars.named);
    let sources = [
        Some((
            "--issuer".to_string(),
            "--client-id".to_string(),
            flag(&sel.issuer),
            flag(&sel.client_id),
            flag(&sel.audience),
        )),
        if vars.named_by_flag {
            named.clone()
        } else {
            None
        },
        env_source(vars::ISSUER, vars::CLIENT_ID, vars::AUDIENCE),
        env_source(vars::VM_ISSUER, vars::VM_CLIENT_ID, vars::VM_AUDIENCE),
        if vars.named_by_flag { None } else { named },
        from_profile(vars.default),
    ];
    if flag(&sel.audience).is_some()
        && flag(&sel.issuer).is_none()
        && flag(&sel.client_id).is_none()
    {
        return Err(Error::usage(
            "--audience was given without --issuer and --client-id; give all of them (issuer, client id and audience are taken together)",
        ));
    }
    for (issuer_name, client_name, issuer, client, audience) in sources.into_iter().flatten() {
        match (issuer, client) {
            (None, None) => continue,
            (Some(i), Some(c)) => return LoginId::new(&i, &c, audience.as_deref()).map(Some),
            (Some(_), None) => {
                return Err(Error::usage(format!(
                    "{issuer_name} was given without {client_name}; give both (or neither, for the current login)"
                )));
            }
            (None, Some(_)) => {
                return Err(Error::usage(format!(
                    "{client_name} was given without {issuer_name}; give both (or neither, for the current login)"
                )));
            }
        }
    }
    Ok(None)
}

fn request(args: &RequestArgs, vars: &Vars) -> Result<Request> {
    let explicit_scope = args
        .scope
        .clone()
        .filter(|s| !s.trim().is_empty())
        .or_else(|| vars.get(vars::SCOPE));
    // A profile's scope and resources are what its logins ask for, not a choice
    // of a particular client-credentials token (which --scope/--resource make).
    let scope = explicit_scope
        .clone()
        .or_else(|| vars.get(vars::VM_SCOPE))
        .or_else(|| vars.profile(|p| p.scope.clone()).map(|(s, _)| s));
    let given: Vec<String> = if args.resource.is_empty() {
        vars.profile(|p| p.resource.clone())
            .map(|(r, _)| r)
            .unwrap_or_default()
    } else {
        args.resource.clone()
    };
    let mut resources = Vec::new();
    for r in given.iter().map(|r| normalize(r)) {
        if r.is_empty() {
            continue;
        }
        if url::Url::parse(&r).is_err() {
            return Err(Error::usage(format!(
                "--resource {r:?} is not an absolute URI (RFC 8707); use e.g. https://api.example.com"
            )));
        }
        resources.push(r);
    }
    Ok(Request {
        scopes: scope.as_deref().map(parse_scopes),
        explicit: explicit_scope.is_some() || !args.resource.is_empty(),
        resources,
    })
}

fn client_input(args: &ClientAuthArgs, vars: &Vars) -> Result<ClientInput> {
    if args.client_secret.is_some() {
        return Err(Error::usage(
            "--client-secret is not accepted: secrets on the command line leak into ps and shell history; set VMAUTH_CLIENT_SECRET, or use --client-secret-file PATH or --client-secret-stdin",
        ));
    }
    let grant = vars
        .get(vars::GRANT)
        .or_else(|| vars.profile(|p| p.grant.clone()).map(|(g, _)| g));
    let client_credentials = args.client_credentials
        || match grant.as_deref().map(str::trim) {
            None | Some("device_code") => false,
            Some("client_credentials") => true,
            Some(other) => {
                return Err(Error::usage(format!(
                    "VMAUTH_GRANT={other:?} is not a grant vmauth knows; use client_credentials or device_code"
                )));
            }
        };
    let method = match args.client_auth {
        Some(m) => Some(m),
        None => {
            vars.choice_or_profile::<ClientAuthChoice>(vars::CLIENT_AUTH, "client_auth", |p| {
                p.client_auth.clone()
            })?
        }
    };
    let assertion_audience = match args.assertion_audience {
        Some(a) => Some(a),
        None => vars.choice_or_profile::<AssertionAudienceChoice>(
            vars::ASSERTION_AUDIENCE,
            "assertion_audience",
            |p| p.assertion_audience.clone(),
        )?,
    };
    let profile_path = |f: fn(&Profile) -> Option<PathBuf>| vars.profile(f).map(|(p, _)| p);
    let secret_stdin = args.client_secret_stdin;
    let secret_file = args
        .client_secret_file
        .clone()
        .or_else(|| vars.path(vars::CLIENT_SECRET_FILE))
        .or_else(|| profile_path(|p| p.client_secret_file.clone()));
    let assertion_file = args
        .client_assertion_file
        .clone()
        .or_else(|| vars.path(vars::CLIENT_ASSERTION_FILE))
        .or_else(|| profile_path(|p| p.client_assertion_file.clone()));
    let private_key = args
        .private_key
        .clone()
        .or_else(|| vars.path(vars::PRIVATE_KEY))
        .or_else(|| profile_path(|p| p.private_key.clone()));
    // The flags conflict with each other (clap says so); so do they with the
    // variables that stand for them.
    if secret_stdin && secret_file.is_some() {
        return Err(Error::usage(
            "--client-secret-stdin and a client secret file (--client-secret-file or VMAUTH_CLIENT_SECRET_FILE) were both given; use one",
        ));
    }
    if private_key.is_some() && assertion_file.is_some() {
        return Err(Error::usage(
            "a private key (--private-key or VMAUTH_PRIVATE_KEY) and a client assertion file (--client-assertion-file or VMAUTH_CLIENT_ASSERTION_FILE) were both given; use one",
        ));
    }
    Ok(ClientInput {
        client_credentials,
        method: method.map(Method::from),
        secret_file,
        secret_stdin,
        secret_env: vars
            .env
            .var(vars::CLIENT_SECRET.name)
            .filter(|v| !v.is_empty())
            .map(Secret::new),
        private_key,
        key_id: args
            .key_id
            .clone()
            .or_else(|| vars.get(vars::KEY_ID))
            .or_else(|| vars.profile(|p| p.key_id.clone()).map(|(k, _)| k)),
        assertion_file,
        assertion_audience: assertion_audience.map(AssertionAudience::from),
    })
}

fn min_ttl(flag: Option<u64>, vars: &Vars) -> Result<i64> {
    let secs = match flag {
        Some(s) => s,
        None => match vars.get(vars::MIN_TTL) {
            Some(v) => {
                parse_duration_secs(&v).map_err(|e| Error::usage(format!("VMAUTH_MIN_TTL: {e}")))?
            }
            None => match vars.profile(|p| p.min_ttl.clone()) {
                Some((v, name)) => parse_duration_secs(&v).map_err(|e| {
                    Error::usage(format!(
                        "{}: profile {name:?}: min_ttl: {e}",
                        vars.config.display()
                    ))
                })?,
                None => DEFAULT_MIN_TTL,
            },
        },
    };
    Ok(i64::try_from(secs).unwrap_or(i64::MAX))
}

#[cfg(test)]
#[path = "settings_tests.rs"]
mod tests;
