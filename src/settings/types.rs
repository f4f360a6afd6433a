//! What the settings are: one struct per command, and the settings every
//! command shares. `super::Settings::resolve` fills them.

use std::path::PathBuf;
use std::time::Duration;

use crate::cli::{FlowChoice, OutputFormat, StoreChoice, TokenChoice};
use crate::credential::{LoginId, MachineGrant};
use crate::oidc::client_auth::{AssertionAudience, Method};
use crate::oidc::exchange::TokenType;
use crate::secret::Secret;

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
    /// The logins the profiles name (for `status`).
    pub profile_logins: Vec<ProfileLogin>,
    /// The selected profile, when it names a login: its endpoint overrides
    /// (for that login only) and the `vmauth login --profile` hint.
    pub selected_profile: Option<SelectedProfile>,
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

/// A login a profile names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileLogin {
    /// The profile.
    pub name: String,
    /// The login's cache key.
    pub key: String,
}

/// The selected profile (`--profile`, `VMAUTH_PROFILE` or `default_profile`)
/// and the login it names. Its endpoint overrides apply to that login and to
/// no other, even one with the same issuer and client.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SelectedProfile {
    /// The profile.
    pub profile: String,
    /// The cache key of the login it names.
    pub key: String,
    /// Its endpoint overrides, with the hosts it trusts.
    pub overrides: crate::oidc::discovery::EndpointOverrides,
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
    /// The scopes, or `default` (vmauth's own constant, names separated by
    /// single spaces) when none were given.
    pub fn scopes_or(&self, default: &str) -> Vec<String> {
        match &self.scopes {
            Some(s) => s.clone(),
            None => default.split_whitespace().map(str::to_string).collect(),
        }
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
    /// `--grant` (`VMAUTH_GRANT`, profile `grant`): which grant a CI job
    /// (`client_credentials` set) uses.
    pub grant: MachineGrant,
    /// `--federated-token` and what goes with it: secretless CI.
    pub federated: Option<Federated>,
    /// `--param KEY=VALUE`, then the profile's `params`: extra token-request
    /// parameters, checked against the ones vmauth sets.
    pub params: Vec<(String, String)>,
}

/// A CI platform's token as the client's credential (secretless CI).
#[derive(Debug, Clone)]
pub struct Federated {
    /// Where the platform's token comes from.
    pub source: crate::federated::Source,
    /// `--federated-audience`: the audience asked of the platform.
    pub audience: Option<String>,
    /// `--actor-token` (token exchange).
    pub actor: Option<crate::federated::Source>,
    /// `--subject-token-type` (token exchange; `jwt` by default).
    pub subject_type: TokenType,
}

/// `vmauth login API_URL`: start from the API (RFC 9728), when no issuer is given.
#[derive(Debug, Clone)]
pub struct ResourceFirst {
    /// The API's URL: the resource asked for, and the login's key.
    pub resource: String,
    /// `--client-id`: a client registered beforehand (else vmauth registers).
    pub client_id: Option<String>,
    /// `--authorization-server` (profile `authorization_server`).
    pub server: Option<String>,
    /// `--client-metadata-url` (profile `client_metadata_url`).
    pub client_metadata_url: Option<String>,
    /// `--registration-token-file`.
    pub registration_token_file: Option<PathBuf>,
    /// `VMAUTH_REGISTRATION_TOKEN`.
    pub registration_token: Option<Secret>,
}

/// `vmauth token --exchange`: the token is got by exchanging another login's.
#[derive(Debug, Clone)]
pub struct ExchangeSettings {
    /// The login whose access token is exchanged (`None`: the current one).
    pub subject: Option<LoginId>,
    /// The audience of the new token (the exchanged login's audience).
    pub audience: String,
}

impl ClientInput {
    /// For a federated request: a digest of everything that decides the token
    /// (grant, source, platform audience, actor, token type, parameters, CI
    /// job), kept with the token so it serves only the same request.
    pub fn federated_fingerprint(&self) -> Option<String> {
        let f = self.federated.as_ref()?;
        let mut params = self.params.clone();
        params.sort();
        let text = serde_json::json!([
            self.grant.name(),
            f.source.spec,
            f.source.job,
            f.audience,
            f.actor.as_ref().map(|a| (&a.spec, &a.job)),
            f.subject_type.urn(),
            params,
        ])
        .to_string();
        let digest = ring::digest::digest(&ring::digest::SHA256, text.as_bytes());
        Some(
            digest.as_ref()[..16]
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect(),
        )
    }

    /// A credential source was named (secret file, stdin, key, assertion file):
    /// it replaces what an earlier login stored, as a whole.
    pub fn names_a_source(&self) -> bool {
        self.secret_file.is_some()
            || self.secret_stdin
            || self.private_key.is_some()
            || self.assertion_file.is_some()
            || self.federated.is_some()
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
    /// `--open` (`Some(true)`), `--no-open` (`Some(false)`), else the flow's default.
    pub open: Option<bool>,
    /// `--save-profile NAME`.
    pub save_profile: Option<String>,
    /// How to sign in.
    pub flow: FlowChoice,
    /// Where `flow` came from (`--flow`, `VMAUTH_FLOW`, a profile), when not the default.
    pub flow_source: Option<String>,
    /// The browser flow's redirect URI.
    pub redirect: Redirect,
    /// How long the browser flow waits for the sign-in.
    pub timeout: Duration,
    /// What the machine offers for opening a browser.
    pub desktop: Desktop,
    /// `vmauth login API_URL`.
    pub resource_first: Option<ResourceFirst>,
}

/// The browser flow's loopback redirect URI (RFC 8252 §7.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Redirect {
    /// `http://127.0.0.1:<any free port>/callback`.
    AnyPort,
    /// `http://127.0.0.1:<port>/callback`.
    Port(u16),
    /// A URI as registered: `http://127.0.0.1:PORT/PATH` or `http://[::1]:PORT/PATH`.
    Uri {
        /// IPv6 loopback (`[::1]`) rather than `127.0.0.1`.
        ipv6: bool,
        /// The port.
        port: u16,
        /// The path (starts with `/`).
        path: String,
    },
}

/// What the environment says about opening a browser here.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Desktop {
    /// `DISPLAY` or `WAYLAND_DISPLAY` is set.
    pub display: bool,
    /// `SSH_CONNECTION` or `SSH_TTY` is set.
    pub ssh: bool,
    /// `BROWSER` is set.
    pub browser_var: bool,
    /// `WSL_DISTRO_NAME` is set.
    pub wsl: bool,
    /// macOS or Windows: a browser is always there.
    pub desktop_os: bool,
}

impl Desktop {
    /// Whether a browser can plausibly be opened here, or why not: macOS,
    /// Windows, WSL (through the Windows browser) and Linux with a display,
    /// unless this is an SSH session (the browser would open on the remote
    /// machine) and `BROWSER` names none.
    pub fn can_open_browser(&self) -> Result<(), &'static str> {
        if self.ssh && !self.browser_var {
            return Err("this is an SSH session");
        }
        if self.desktop_os || self.wsl || self.display || self.browser_var {
            return Ok(());
        }
        Err("there is no display (DISPLAY, WAYLAND_DISPLAY) and no BROWSER")
    }
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
    /// `--exchange`.
    pub exchange: Option<ExchangeSettings>,
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
    /// `--unregister`: also delete vmauth's registration (RFC 7592).
    pub unregister: bool,
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
    /// `vmauth git-credential`.
    GitCredential(GitCredentialSettings),
    /// `vmauth cargo-credential`.
    CargoCredential(ToolLogins),
}

/// `vmauth git-credential`.
#[derive(Debug, Clone)]
pub struct GitCredentialSettings {
    /// What git asks (`get`, `store`, `erase`; anything else is ignored).
    pub operation: String,
    /// The logins that may answer.
    pub logins: ToolLogins,
}

/// The logins a tool's credential request may be answered with: the one
/// `--profile` names, else the profile that lists the host or registry.
#[derive(Debug, Clone, Default)]
pub struct ToolLogins {
    /// Every profile, by name.
    pub candidates: Vec<ToolLogin>,
    /// The profile `--profile` names (the helper line's): it answers the
    /// hosts or registries it lists, or any when it lists none.
    pub named: Option<String>,
}

/// One profile a tool may be answered with.
#[derive(Debug, Clone)]
pub struct ToolLogin {
    /// The profile's name.
    pub profile: String,
    /// `git_hosts`.
    pub git_hosts: Vec<String>,
    /// `git_username`.
    pub git_username: Option<String>,
    /// `cargo_registries`.
    pub cargo_registries: Vec<String>,
    /// What `vmauth token --profile NAME` would do, or why it cannot.
    pub acquire: std::result::Result<AcquireSettings, String>,
}

/// Everything a run of vmauth needs to know, resolved once.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Settings of every command.
    pub common: Common,
    /// The subcommand's own settings.
    pub command: CommandSettings,
}
