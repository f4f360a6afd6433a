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
//!
//! This file is the whole resolution, so that one setting is followed from its
//! flag to its value without leaving it: [`Settings::resolve`], one function
//! per input below it, and the layered reader ([`Env`], then the profiles) at
//! the end. `types.rs` holds what it resolves to; `platforms.rs` what a
//! `--federated-token` SOURCE names (the CI platform and its variables).

mod platforms;
mod types;

use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::ValueEnum;
pub use platforms::federated_source;
pub use types::*;

pub use crate::cli::env_help;
use crate::cli::{
    AcquireArgs, AssertionAudienceChoice, Cli, ClientAuthArgs, ClientAuthChoice, Command,
    FlowChoice, GrantChoice, OutputFormat, RequestArgs, Selector, StoreChoice, SubjectTokenChoice,
    TokenChoice, parse_duration_secs,
};
use crate::credential::{LoginId, MachineGrant, normalize, parse_scopes};
pub use crate::env_vars::{ENV_VARS, EnvVar, vars};
use crate::error::{Error, Result};
use crate::oidc::client_auth::{AssertionAudience, Method};
use crate::oidc::discovery::EndpointOverrides;
use crate::oidc::exchange::TokenType;
use crate::profiles::{self, Config, Profile};
use crate::secret::Secret;

/// Default scopes requested by `vmauth login`.
pub const DEFAULT_SCOPE: &str = "openid profile email offline_access";
/// Default `vmauth login --timeout`, in seconds.
pub const DEFAULT_LOGIN_TIMEOUT: u64 = 300;
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
        let config = Config::load_in(&config_dir.path, config_dir.own)?;
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
                let resource_first = resource_first(a, &vars)?;
                let login = match &resource_first {
                    Some(_) => None,
                    None => login_id(&a.selector, &vars)?,
                };
                let lv = vars.for_login(login.as_ref());
                let flow = flow(a, &lv)?;
                let client = client_input(&a.client, &lv)?;
                if !a.client.params.is_empty() && !client.client_credentials {
                    return Err(Error::usage(
                        "--param adds parameters to a CI job's token request; a person's login (device or browser) sends none",
                    ));
                }
                if resource_first.is_some() && client.client_credentials {
                    return Err(Error::usage(
                        "a login started from an API's URL is a person's sign-in; a CI job gives --issuer and --client-id with its grant",
                    ));
                }
                // A client vmauth registers itself is public: no secret, key or
                // assertion goes to the server an API named (unless the user
                // names the client too).
                let client = match &resource_first {
                    Some(r) if r.client_id.is_none() => {
                        let c = &a.client;
                        if c.client_secret_file.is_some()
                            || c.client_secret_stdin
                            || c.private_key.is_some()
                            || c.client_assertion_file.is_some()
                            || c.client_auth.is_some()
                        {
                            return Err(Error::usage(
                                "client authentication goes with a client id: give --client-id with it, or drop it (the client vmauth registers is public)",
                            ));
                        }
                        ClientInput::default()
                    }
                    _ => client,
                };
                let mut request = request(&a.request, &lv)?;
                if let Some(r) = &resource_first {
                    // The API is what the login asks for, and only it.
                    request.resources = vec![r.resource.clone()];
                    request.explicit = false;
                }
                CommandSettings::Login(LoginSettings {
                    login,
                    request,
                    client,
                    qr: if a.no_qr {
                        Some(false)
                    } else {
                        a.qr.then_some(true)
                    },
                    open: if a.no_open {
                        Some(false)
                    } else {
                        a.open.then_some(true)
                    },
                    save_profile: a.save_profile.clone(),
                    flow: flow.0,
                    flow_source: flow.1,
                    redirect: redirect(a, &lv)?,
                    timeout: Duration::from_secs(a.timeout.unwrap_or(DEFAULT_LOGIN_TIMEOUT)),
                    desktop: desktop(&vars),
                    resource_first,
                })
            }
            Command::Token(a) => CommandSettings::Token(TokenSettings {
                acquire: acquire(&a.acquire, &vars)?,
                output: match a.output {
                    Some(o) => o,
                    None => vars
                        .choice_or::<OutputFormat>(
                            vars::OUTPUT,
                            "output",
                            vars.profile(|p| p.output.clone()),
                        )?
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
            Command::GitCredential(a) => CommandSettings::GitCredential(GitCredentialSettings {
                operation: a.operation.clone(),
                logins: tool_logins(&vars, &config)?,
            }),
            Command::CargoCredential(_) => {
                CommandSettings::CargoCredential(tool_logins(&vars, &config)?)
            }
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
                unregister: a.unregister,
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
    let exchange = exchange(a, vars)?;
    let login = match &exchange {
        // The exchanged login: the subject's issuer and client, the new audience.
        Some(x) => x
            .subject
            .as_ref()
            .map(|s| LoginId::new(&s.issuer, &s.client_id, Some(&x.audience)))
            .transpose()?,
        None => login_id(&a.selector, vars)?,
    };
    let lv = vars.for_login(login.as_ref());
    let client = client_input(&a.client, &lv)?;
    if exchange.is_some() && client.client_credentials {
        return Err(Error::usage(
            "--exchange exchanges a person's login, but a CI job's grant is set (--federated-token, VMAUTH_FEDERATED_TOKEN or VMAUTH_GRANT); a CI job exchanges its platform's token with --grant token-exchange",
        ));
    }
    if !a.client.params.is_empty() && !client.client_credentials && exchange.is_none() {
        return Err(Error::usage(
            "--param adds parameters to a CI job's token request or to --exchange; a person's login has none",
        ));
    }
    Ok(AcquireSettings {
        login,
        request: request(&a.request, &lv)?,
        client,
        min_ttl: min_ttl(a.min_ttl, vars)?,
        force_refresh: a.force_refresh,
        exchange,
        token: match a.token_type {
            Some(t) => t,
            None => vars
                .choice_or::<TokenChoice>(
                    vars::TOKEN_TYPE,
                    "token_type",
                    vars.profile(|p| p.token_type.clone()),
                )?
                .unwrap_or(TokenChoice::Access),
        },
    })
}

/// `vmauth login API_URL`, or `--resource URL` when nothing names an issuer:
/// start from the API (RFC 9728).
fn resource_first(a: &crate::cli::LoginArgs, vars: &Vars) -> Result<Option<ResourceFirst>> {
    let given = match &a.api {
        Some(url) => {
            if !a.request.resource.is_empty()
                && a.request
                    .resource
                    .iter()
                    .any(|r| normalize(r) != normalize(url))
            {
                return Err(Error::usage(
                    "the API's URL is the resource a login started from it asks for; drop --resource",
                ));
            }
            url.clone()
        }
        None => {
            let nothing_names_an_issuer = a.selector.issuer.is_none()
                && login_id(
                    &Selector {
                        client_id: None,
                        audience: None,
                        ..a.selector.clone()
                    },
                    vars,
                )?
                .is_none();
            match a.request.resource.as_slice() {
                [one] if nothing_names_an_issuer => one.clone(),
                _ => {
                    if a.authorization_server.is_some()
                        || a.client_metadata_url.is_some()
                        || a.registration_token_file.is_some()
                    {
                        return Err(Error::usage(
                            "--authorization-server, --client-metadata-url and --registration-token-file go with a login started from an API: vmauth login API_URL",
                        ));
                    }
                    return Ok(None);
                }
            }
        }
    };
    let resource = normalize(&given);
    match url::Url::parse(&resource) {
        Ok(u) if u.host().is_some() && u.fragment().is_none() => {}
        _ => {
            return Err(Error::usage(format!(
                "{:?} is not an API's URL (an absolute https URL without a fragment, e.g. https://api.example.com/v1)",
                crate::error::from_server(&given, 80)
            )));
        }
    }
    if a.selector.audience.is_some() {
        return Err(Error::usage(
            "a login started from an API is for that API: drop --audience",
        ));
    }
    let profile = |f: fn(&Profile) -> Option<String>| vars.profile(f).map(|(v, _)| v);
    Ok(Some(ResourceFirst {
        resource,
        client_id: a
            .selector
            .client_id
            .clone()
            .filter(|c| !c.trim().is_empty()),
        server: a
            .authorization_server
            .clone()
            .or_else(|| profile(|p| p.authorization_server.clone())),
        client_metadata_url: a
            .client_metadata_url
            .clone()
            .or_else(|| profile(|p| p.client_metadata_url.clone())),
        registration_token_file: a.registration_token_file.clone(),
        registration_token: vars
            .env
            .var(vars::REGISTRATION_TOKEN.name)
            .filter(|v| !v.trim().is_empty())
            .map(|v| Secret::new(v.trim().to_string())),
    }))
}

/// `--exchange`: the subject is the login selected without `--audience`,
/// which names the new token's audience.
fn exchange(a: &AcquireArgs, vars: &Vars) -> Result<Option<ExchangeSettings>> {
    if !a.exchange {
        return Ok(None);
    }
    let Some(audience) = a.selector.audience.clone().filter(|s| !s.trim().is_empty()) else {
        return Err(Error::usage(
            "--exchange needs --audience AUD: the audience of the new token, which is kept as the login for that audience",
        ));
    };
    if a.client.client_credentials || a.client.grant.is_some() {
        return Err(Error::usage(
            "--exchange exchanges a person's login; a CI job exchanges its platform's token with --grant token-exchange --federated-token SOURCE",
        ));
    }
    let subject = Selector {
        audience: None,
        ..a.selector.clone()
    };
    Ok(Some(ExchangeSettings {
        subject: login_id(&subject, vars)?,
        audience: normalize(&audience),
    }))
}

/// `--flow` (or `--browser`/`--device`), `VMAUTH_FLOW`, the login's profile,
/// else `auto`; with where it came from.
fn flow(a: &crate::cli::LoginArgs, vars: &Vars) -> Result<(FlowChoice, Option<String>)> {
    if a.browser {
        return Ok((FlowChoice::Browser, Some("--browser".into())));
    }
    if a.device {
        return Ok((FlowChoice::Device, Some("--device".into())));
    }
    if let Some(f) = a.flow {
        return Ok((f, Some("--flow".into())));
    }
    if let Some(f) = vars.choice::<FlowChoice>(vars::FLOW)? {
        return Ok((f, Some(vars::FLOW.name.into())));
    }
    let found = vars.login_profile(|p| p.flow.clone());
    let name = found.as_ref().map(|(_, n)| format!("profile {n:?}"));
    match vars.parse_profile_value::<FlowChoice>("flow", found)? {
        Some(f) => Ok((f, name)),
        None => Ok((FlowChoice::Auto, None)),
    }
}

/// `--redirect-port`, `--redirect-uri`, else the login's profile's; a URI
/// must be a loopback one with an explicit port (RFC 8252 §7.3; never
/// `localhost`, which may resolve elsewhere).
fn redirect(a: &crate::cli::LoginArgs, vars: &Vars) -> Result<Redirect> {
    if let Some(port) = a.redirect_port {
        return Ok(Redirect::Port(port));
    }
    let (uri, source) = match &a.redirect_uri {
        Some(u) => (u.clone(), "--redirect-uri".to_string()),
        None => match vars.login_profile(|p| p.redirect_uri.clone()) {
            Some((u, name)) => (u, format!("redirect_uri of profile {name:?}")),
            None => {
                return Ok(match vars.login_profile(|p| p.redirect_port) {
                    Some((port, _)) => Redirect::Port(port),
                    None => Redirect::AnyPort,
                });
            }
        },
    };
    parse_redirect_uri(&uri).map_err(|why| {
        Error::usage(format!(
            "{source} {uri:?} {why}; use the redirect URI registered for the client, e.g. http://127.0.0.1:8400/callback"
        ))
    })
}

/// A loopback redirect URI: `http://127.0.0.1:PORT/PATH` or `http://[::1]:PORT/PATH`.
pub fn parse_redirect_uri(uri: &str) -> std::result::Result<Redirect, String> {
    let u = url::Url::parse(uri).map_err(|_| "is not a URL".to_string())?;
    if u.scheme() != "http" {
        return Err("is not an http:// loopback address (RFC 8252 §7.3)".into());
    }
    let ipv6 = match u.host() {
        Some(url::Host::Ipv4(ip)) if ip == std::net::Ipv4Addr::LOCALHOST => false,
        Some(url::Host::Ipv6(ip)) if ip == std::net::Ipv6Addr::LOCALHOST => true,
        Some(url::Host::Domain(_)) => {
            return Err(
                "names a host; use 127.0.0.1 or [::1] (a name such as localhost may resolve elsewhere)"
                    .into(),
            );
        }
        _ => return Err("is not on 127.0.0.1 or [::1]".into()),
    };
    if u.query().is_some()
        || u.fragment().is_some()
        || !u.username().is_empty()
        || u.password().is_some()
    {
        return Err("has a query, fragment or user part".into());
    }
    // Providers compare the URI as a string: it is sent exactly as given,
    // so it must be given as it will be sent.
    if u.as_str() != uri {
        return Err(format!(
            "is not written the way it is sent: write it {:?}, and register it so",
            u.as_str()
        ));
    }
    // No port (`http://127.0.0.1/callback`, as Entra and Keycloak register
    // it): any free port, RFC 8252 §7.3.
    let port = u.port().unwrap_or(0);
    Ok(Redirect::Uri {
        ipv6,
        port,
        path: u.path().to_string(),
    })
}

/// What the environment says about opening a browser.
fn desktop(vars: &Vars) -> Desktop {
    let set = |v: EnvVar| vars.get(v).is_some();
    Desktop {
        display: set(vars::DISPLAY) || set(vars::WAYLAND_DISPLAY),
        ssh: set(vars::SSH_CONNECTION) || set(vars::SSH_TTY),
        browser_var: set(vars::BROWSER),
        wsl: set(vars::WSL_DISTRO_NAME),
        desktop_os: cfg!(any(target_os = "macos", target_os = "windows")),
    }
}

/// The logins a tool may be answered with: every profile, each with what
/// `vmauth token --profile NAME` would resolve to, and the one `--profile`
/// names (never `VMAUTH_PROFILE`).
fn tool_logins(vars: &Vars, config: &Config) -> Result<ToolLogins> {
    // Only the tool's own configuration names a profile (`--profile` on the
    // helper line): a VMAUTH_PROFILE exported for other programs must not
    // make git or cargo hand its token to any host that asks.
    let named = vars
        .named_by_flag
        .then(|| vars.named.map(|(n, _)| n.to_string()))
        .flatten();
    let candidates = config
        .profiles
        .iter()
        .map(|(name, p)| {
            let v = Vars {
                named: Some((name.as_str(), p)),
                named_by_flag: true,
                default: None,
                ..*vars
            };
            ToolLogin {
                profile: name.clone(),
                git_hosts: p.git_hosts.clone().unwrap_or_default(),
                git_username: p.git_username.clone(),
                cargo_registries: p.cargo_registries.clone().unwrap_or_default(),
                acquire: acquire(&crate::cli::AcquireArgs::default(), &v).map_err(|e| e.message()),
            }
        })
        .collect();
    Ok(ToolLogins { candidates, named })
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

// Resolving one input each: the login (issuer, client id, audience from one
// source), what to ask for, how the client authenticates, and the refresh
// margin. Each takes its flags and the layered [`Vars`] reader.

/// Issuer, client id and audience, all three from the first source that names
/// an issuer or a client id: the flags; a profile named by --profile; the
/// `VMAUTH_*` variables; the `VM_OIDC_*` variables; the profile named by
/// `VMAUTH_PROFILE` (else the default profile); the default profile.
fn login_id<'a>(sel: &Selector, vars: &Vars<'a>) -> Result<Option<LoginId>> {
    /// Where a login's parts come from (named only in an error).
    #[derive(Clone, Copy)]
    enum Source<'a> {
        Flags,
        Vars(EnvVar, EnvVar),
        Profile(&'a str),
    }
    impl Source<'_> {
        /// The names of its issuer and client id settings.
        fn names(self) -> (String, String) {
            match self {
                Source::Flags => ("--issuer".into(), "--client-id".into()),
                Source::Vars(i, c) => (i.name.into(), c.name.into()),
                Source::Profile(name) => (
                    format!("issuer of profile {name:?}"),
                    format!("client_id of profile {name:?}"),
                ),
            }
        }
    }
    let flag = |v: &Option<String>| v.clone().filter(|s| !s.trim().is_empty());
    let from_profile = |p: Option<(&'a str, &'a Profile)>| {
        p.map(|(name, p)| {
            (
                Source::Profile(name),
                p.issuer.clone(),
                p.client_id.clone(),
                p.audience.clone(),
            )
        })
    };
    let env_source = |i: EnvVar, c: EnvVar, a: EnvVar| {
        Some((Source::Vars(i, c), vars.get(i), vars.get(c), vars.get(a)))
    };
    let named = from_profile(vars.named);
    let sources = [
        Some((
            Source::Flags,
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
    for (source, issuer, client, audience) in sources.into_iter().flatten() {
        match (issuer, client) {
            (None, None) => continue,
            (Some(i), Some(c)) => return LoginId::new(&i, &c, audience.as_deref()).map(Some),
            (Some(_), None) => {
                let (issuer_name, client_name) = source.names();
                return Err(Error::usage(format!(
                    "{issuer_name} was given without {client_name}; give both (or neither, for the current login)"
                )));
            }
            (None, Some(_)) => {
                let (issuer_name, client_name) = source.names();
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
        .or_else(|| vars.login_profile(|p| p.scope.clone()).map(|(s, _)| s));
    let given: Vec<String> = if args.resource.is_empty() {
        vars.login_profile(|p| p.resource.clone())
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
    let (grant, client_credentials) = grant(args, vars)?;
    let federated = federated(args, vars)?;
    if let Some(f) = &federated {
        if client_credentials == Some(false) {
            return Err(Error::usage(
                "a federated token is for a CI job's grant, not a person's login (device_code); drop VMAUTH_GRANT=device_code or the profile's grant",
            ));
        }
        if f.actor.is_some() && grant != MachineGrant::TokenExchange {
            return Err(Error::usage(
                "--actor-token is for --grant token-exchange only",
            ));
        }
    }
    if federated.is_none() && matches!(grant, MachineGrant::JwtBearer | MachineGrant::TokenExchange)
    {
        return Err(Error::usage(format!(
            "--grant {} trades a CI platform's token: give --federated-token SOURCE (or VMAUTH_FEDERATED_TOKEN); to exchange your own login's token, use vmauth token --exchange --audience AUD",
            grant.name()
        )));
    }
    let client_credentials = client_credentials.unwrap_or(false) || federated.is_some();
    let params = params(args, vars)?;
    let method = match args.client_auth {
        Some(m) => Some(m),
        None => vars.choice_or::<ClientAuthChoice>(
            vars::CLIENT_AUTH,
            "client_auth",
            vars.login_profile(|p| p.client_auth.clone()),
        )?,
    };
    let assertion_audience = match args.assertion_audience {
        Some(a) => Some(a),
        None => vars.choice_or::<AssertionAudienceChoice>(
            vars::ASSERTION_AUDIENCE,
            "assertion_audience",
            vars.login_profile(|p| p.assertion_audience.clone()),
        )?,
    };
    let profile_path = |f: fn(&Profile) -> Option<PathBuf>| vars.login_profile(f).map(|(p, _)| p);
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
    if federated.is_some()
        && grant == MachineGrant::ClientCredentials
        && (private_key.is_some()
            || assertion_file.is_some()
            || secret_file.is_some()
            || secret_stdin
            || matches!(method, Some(m) if Method::from(m) != Method::PrivateKeyJwt))
    {
        return Err(Error::usage(
            "with --grant client_credentials the federated token is the client's credential (its client assertion); drop the client secret, key or assertion file, or use --grant jwt-bearer / token-exchange, where the client may authenticate as well",
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
            .or_else(|| vars.login_profile(|p| p.key_id.clone()).map(|(k, _)| k)),
        assertion_file,
        assertion_audience: assertion_audience.map(AssertionAudience::from),
        grant,
        federated,
        params,
    })
}

/// `--grant` / `--client-credentials`, `VMAUTH_GRANT`, the login's profile:
/// the grant, and whether it is a CI job's (not a person's device login).
/// `None`: not said (a federated token then makes it a CI job's).
fn grant(args: &ClientAuthArgs, vars: &Vars) -> Result<(MachineGrant, Option<bool>)> {
    if let Some(g) = args.grant {
        return Ok((g.into(), Some(true)));
    }
    if args.client_credentials {
        return Ok((MachineGrant::ClientCredentials, Some(true)));
    }
    let (value, source) = match vars.get(vars::GRANT) {
        Some(v) => (v, vars::GRANT.name.to_string()),
        None => match vars.login_profile(|p| p.grant.clone()) {
            Some((v, name)) => (v, format!("grant of profile {name:?}")),
            None => return Ok((MachineGrant::ClientCredentials, None)),
        },
    };
    match value.trim() {
        "device_code" => Ok((MachineGrant::ClientCredentials, Some(false))),
        v => match GrantChoice::from_str(v, false) {
            Ok(g) => Ok((g.into(), Some(true))),
            Err(_) => Err(Error::usage(format!(
                "{source}={v:?} is not a grant vmauth knows; use client_credentials, jwt-bearer, token-exchange or device_code"
            ))),
        },
    }
}

/// `--federated-token` (`VMAUTH_FEDERATED_TOKEN`, profile `federated_token`)
/// with its audience, actor token and token type.
fn federated(args: &ClientAuthArgs, vars: &Vars) -> Result<Option<Federated>> {
    let spec = args
        .federated_token
        .clone()
        .or_else(|| vars.get(vars::FEDERATED_TOKEN))
        .or_else(|| {
            vars.login_profile(|p| p.federated_token.clone())
                .map(|(v, _)| v)
        });
    // The variables that go with a source are read only when there is one
    // (every cached `vmauth token` resolves this).
    let with_source = spec.is_some();
    let audience = args
        .federated_audience
        .clone()
        .or_else(|| {
            with_source
                .then(|| vars.get(vars::FEDERATED_AUDIENCE))
                .flatten()
        })
        .or_else(|| {
            vars.login_profile(|p| p.federated_audience.clone())
                .map(|(v, _)| v)
        })
        .filter(|a| !a.trim().is_empty());
    let actor = args
        .actor_token
        .clone()
        .or_else(|| with_source.then(|| vars.get(vars::ACTOR_TOKEN)).flatten())
        .or_else(|| {
            vars.login_profile(|p| p.actor_token.clone())
                .map(|(v, _)| v)
        });
    let subject_type = match args.subject_token_type {
        Some(SubjectTokenChoice::Jwt) => Some(TokenType::Jwt),
        Some(SubjectTokenChoice::IdToken) => Some(TokenType::IdToken),
        Some(SubjectTokenChoice::AccessToken) => Some(TokenType::AccessToken),
        None => match vars.login_profile(|p| p.subject_token_type.clone()) {
            Some((v, name)) => Some(TokenType::parse(&v).ok_or_else(|| {
                Error::usage(format!(
                    "{}: profile {name:?}: subject_token_type {v:?} is not jwt, id_token or access_token",
                    vars.config.display()
                ))
            })?),
            None => None,
        },
    };
    let Some(spec) = spec.filter(|s| !s.trim().is_empty()) else {
        if actor.is_some() || audience.is_some() || subject_type.is_some() {
            return Err(Error::usage(
                "--federated-audience, --actor-token and --subject-token-type go with --federated-token SOURCE",
            ));
        }
        return Ok(None);
    };
    Ok(Some(Federated {
        source: federated_source(&spec, vars.env).map_err(Error::usage)?,
        audience,
        actor: actor
            .map(|a| federated_source(&a, vars.env))
            .transpose()
            .map_err(|e| Error::usage(format!("--actor-token: {e}")))?,
        subject_type: subject_type.unwrap_or(TokenType::Jwt),
    }))
}

/// `--param KEY=VALUE` (all of them), else the profile's `params` table.
fn params(args: &ClientAuthArgs, vars: &Vars) -> Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    if args.params.is_empty() {
        if let Some((table, name)) = vars.login_profile(|p| p.params.clone()) {
            for (k, v) in table {
                crate::oidc::exchange::check_param(&k).map_err(|e| {
                    Error::usage(format!(
                        "{}: profile {name:?}: params: {e}",
                        vars.config.display()
                    ))
                })?;
                out.push((k, v));
            }
        }
        return Ok(out);
    }
    for p in &args.params {
        let Some((k, v)) = p.split_once('=') else {
            return Err(Error::usage(format!(
                "--param {:?} is not KEY=VALUE",
                crate::error::from_server(p, 60)
            )));
        };
        crate::oidc::exchange::check_param(k).map_err(|e| Error::usage(format!("--param: {e}")))?;
        out.push((k.to_string(), v.to_string()));
    }
    Ok(out)
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

// The environment: the `Env` seam and the layered reader the resolution uses,
// with the profiles below the variables.

/// Reads environment variables. Injected so tests can use a fake environment.
pub trait Env {
    /// The variable's value, if set and valid Unicode.
    fn var(&self, name: &str) -> Option<String>;
    /// The names of every variable (for the sources that look for one, such as
    /// GitLab's `*_ID_TOKEN`).
    fn names(&self) -> Vec<String> {
        Vec::new()
    }
}

/// The real process environment.
pub struct ProcessEnv;

impl Env for ProcessEnv {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok()
    }

    fn names(&self) -> Vec<String> {
        std::env::vars_os()
            .filter_map(|(k, _)| k.into_string().ok())
            .collect()
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

    fn names(&self) -> Vec<String> {
        self.0.keys().cloned().collect()
    }
}

/// `NO_COLOR` is set (<https://no-color.org>): no ANSI styling, even on a terminal.
pub fn no_color(env: &dyn Env) -> bool {
    env.var(vars::NO_COLOR.name).is_some_and(|v| !v.is_empty())
}

/// Reads registered variables (empty values count as unset) and, below them,
/// the selected profile, then the default profile.
#[derive(Clone, Copy)]
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
    /// The profile (named or default) that names the login the command is for:
    /// only its login-bound settings (grant, client authentication, scope,
    /// resource) apply, and only to that login.
    login: Option<(&'a str, &'a Profile)>,
}

impl<'a> Vars<'a> {
    fn env_only(env: &'a dyn Env) -> Vars<'a> {
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
    fn for_login(self, login: Option<&crate::credential::LoginId>) -> Vars<'a> {
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
    fn login_profile<T>(&self, f: impl Fn(&Profile) -> Option<T>) -> Option<(T, &'a str)> {
        self.login.and_then(|(name, p)| f(p).map(|v| (v, name)))
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
        self.parse_profile_value(key, self.profile(f))
    }

    /// A profile's raw `key` value as a `ValueEnum`, with an error naming the
    /// file, the profile and the key.
    fn parse_profile_value<T: ValueEnum>(
        &self,
        key: &str,
        found: Option<(String, &str)>,
    ) -> Result<Option<T>> {
        let Some((raw, name)) = found else {
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

    /// A `ValueEnum` setting: its variable, else the profile value `found`
    /// ([`Vars::profile`] or [`Vars::login_profile`]).
    fn choice_or<T: ValueEnum>(
        &self,
        v: EnvVar,
        key: &str,
        found: Option<(String, &str)>,
    ) -> Result<Option<T>> {
        match self.choice::<T>(v)? {
            Some(t) => Ok(Some(t)),
            None => self.parse_profile_value(key, found),
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

#[cfg(test)]
#[path = "settings_tests.rs"]
mod tests;
