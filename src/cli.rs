//! Command-line definitions: the single source for `--help`, the completions
//! and the man pages. Only flags are parsed here; environment variables and
//! defaults are applied by [`crate::settings`]. The registry in
//! [`crate::env_vars`] writes each flag's `[env: …; default: …]` note and the
//! "Environment" part of `--help`.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};

use crate::credential::{AssertionAudience, MachineGrant, Method};
use crate::env_vars::{ENV_VARS, FLAG_VARS};

/// The files vmauth reads and writes: the man pages' FILES section.
pub const FILES: &[(&str, &str)] = &[
    (
        "~/.validmind/credentials.json",
        "the credentials file (0600), shared with the ValidMind library; VMAUTH_CREDENTIALS_FILE names another",
    ),
    (
        "~/.config/vmauth/",
        "vmauth's own state (0700; VMAUTH_CONFIG_DIR names another): config.toml (profiles), state.json (current login, store choice), keyring-index.json, locks/ (refresh locks), discovery/ (issuers' metadata, 24 h), jwks/ (issuers' signing keys), offsets/ (where logins sit in a large credentials file), rescue/ (refreshed tokens a store refused), refused/ (refreshed tokens refused as another party's, until logout or login revokes them); read only when you own them and nobody else can write to them",
    ),
    (
        "~/.validmind/credentials.json.<hash>.lock",
        "per-login refresh locks beside the credentials file, shared by every process that uses it",
    ),
];

/// The "Exit codes" part of `vmauth --help`.
pub fn exit_codes_help() -> String {
    let mut out = String::from("Exit codes:\n");
    for (code, meaning) in crate::error::EXIT_STATUS {
        out.push_str(&format!("  {code:<5}{meaning}\n"));
    }
    out
}

/// Get OAuth 2.0 / OpenID Connect tokens in a terminal and in scripts.
///
/// Log in once with the device flow, then use `$(vmauth token)` wherever a
/// bearer token is needed: it prints a valid access token on stdout and nothing
/// else, refreshing it when it is about to expire.
#[derive(Debug, Parser)]
#[command(
    name = "vmauth",
    version,
    propagate_version = true,
    max_term_width = 100
)]
pub struct Cli {
    /// Where credentials live.
    // Listed after each subcommand's own options.
    #[arg(long, global = true, value_name = "STORE", display_order = 900)]
    pub store: Option<StoreChoice>,
    /// The profile of config.toml to use.
    #[arg(long, global = true, value_name = "NAME", display_order = 901)]
    pub profile: Option<String>,
    /// The subcommand.
    #[command(subcommand)]
    pub command: Command,
}

/// `--store`: where credentials live.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StoreChoice {
    /// The OS keychain if one answers, else the 0600 file; the choice is remembered.
    Auto,
    /// The OS keychain only (Secret Service, macOS Keychain, Windows Credential Manager).
    Keyring,
    /// The 0600 JSON file shared with the ValidMind library.
    File,
    /// Nothing is written; the login lives as long as the process.
    Memory,
    /// An external credential helper (VMAUTH_CREDENTIAL_HELPER).
    Helper,
}

/// `--client-auth`: how a confidential client authenticates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ClientAuthChoice {
    /// The client id and secret in an HTTP Basic `Authorization` header.
    #[value(name = "client_secret_basic")]
    ClientSecretBasic,
    /// The client id and secret in the request body.
    #[value(name = "client_secret_post")]
    ClientSecretPost,
    /// A signed JWT assertion (RFC 7523): a private key or an assertion file.
    #[value(name = "private_key_jwt")]
    PrivateKeyJwt,
}

impl From<ClientAuthChoice> for Method {
    fn from(c: ClientAuthChoice) -> Method {
        match c {
            ClientAuthChoice::ClientSecretBasic => Method::ClientSecretBasic,
            ClientAuthChoice::ClientSecretPost => Method::ClientSecretPost,
            ClientAuthChoice::PrivateKeyJwt => Method::PrivateKeyJwt,
        }
    }
}

/// `--assertion-audience`: the `aud` of signed client assertions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AssertionAudienceChoice {
    /// The token endpoint the assertion is sent to (Okta, Entra, Keycloak).
    TokenEndpoint,
    /// The issuer exactly as its metadata publishes it (Auth0).
    Issuer,
}

impl From<AssertionAudienceChoice> for AssertionAudience {
    fn from(c: AssertionAudienceChoice) -> AssertionAudience {
        match c {
            AssertionAudienceChoice::TokenEndpoint => AssertionAudience::TokenEndpoint,
            AssertionAudienceChoice::Issuer => AssertionAudience::Issuer,
        }
    }
}

/// `--output`: how `vmauth token` prints the token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// The token and a newline.
    Raw,
    /// `Authorization: Bearer <token>`, for `curl -H @-`.
    Header,
    /// A JSON object: token, token_type, expiry, issuer, client, audience, scopes, claims.
    Json,
    // No double quotes or `$` in these lines: the completion scripts carry them
    // inside shell strings (tests/generated.rs runs fish and zsh on them).
    /// POSIX shell export lines, to load with eval.
    Env,
    /// A Kubernetes ExecCredential, for kubectl's exec credential plugins.
    ExecCredential,
}

/// `--flow`: how `vmauth login` signs the person in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FlowChoice {
    /// The device flow when the identity provider offers it, else the browser;
    /// the browser also when the device flow is refused by policy.
    Auto,
    /// A code to enter on any device (RFC 8628).
    Device,
    /// This machine's browser, or an address to paste back (authorization code
    /// with PKCE).
    Browser,
}

/// `--token-type`: which token of the login.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TokenChoice {
    /// The access token (for APIs).
    Access,
    /// The OpenID Connect ID token (for APIs that accept only it, e.g. some Entra APIs).
    Id,
}

/// A subcommand's arguments, defined only when that subcommand is parsed
/// (clap's `Command::defer`): `vmauth token` does not build the other
/// subcommands' arguments, about half of the cached token's own instructions.
/// Help, completions and man pages build them all.
#[derive(Debug, Clone, Default)]
pub struct Lazy<T>(pub T);

impl<T> std::ops::Deref for Lazy<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

/// `T`'s arguments added to `cmd`, keeping the subcommand's own description
/// (the variant's doc comment, which `T`'s doc comment would replace now that
/// it is applied after it).
fn augment_keeping_about<T: Args>(cmd: clap::Command) -> clap::Command {
    let about = cmd.get_about().cloned();
    let long_about = cmd.get_long_about().cloned();
    // Each flag a variable backs gets its `[env: …; default: …]` note from
    // the registry.
    // (The global flags, propagated here, got theirs in `command`.)
    let cmd = T::augment_args(cmd).mut_args(|a| if a.is_global_set() { a } else { annotate(a) });
    let cmd = match about {
        Some(a) => cmd.about(a),
        None => cmd.about(None::<&str>),
    };
    match long_about {
        Some(a) => cmd.long_about(a),
        None => cmd.long_about(None::<&str>),
    }
}

impl<T: Args> Args for Lazy<T> {
    fn augment_args(cmd: clap::Command) -> clap::Command {
        cmd.defer(augment_keeping_about::<T>)
    }
    fn augment_args_for_update(cmd: clap::Command) -> clap::Command {
        cmd.defer(augment_keeping_about::<T>)
    }
    fn group_id() -> Option<clap::Id> {
        T::group_id()
    }
}

impl<T: clap::FromArgMatches> clap::FromArgMatches for Lazy<T> {
    fn from_arg_matches(m: &clap::ArgMatches) -> Result<Self, clap::Error> {
        T::from_arg_matches(m).map(Lazy)
    }
    fn from_arg_matches_mut(m: &mut clap::ArgMatches) -> Result<Self, clap::Error> {
        T::from_arg_matches_mut(m).map(Lazy)
    }
    fn update_from_arg_matches(&mut self, m: &clap::ArgMatches) -> Result<(), clap::Error> {
        self.0.update_from_arg_matches(m)
    }
    fn update_from_arg_matches_mut(&mut self, m: &mut clap::ArgMatches) -> Result<(), clap::Error> {
        self.0.update_from_arg_matches_mut(m)
    }
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Log in (device flow or browser) and store the tokens.
    ///
    /// The device flow (RFC 8628) shows a QR code, a URL and a code to approve
    /// in any browser, on any device; the browser flow (authorization code with
    /// PKCE) opens this machine's browser, or takes the address it was sent to
    /// pasted on the terminal. By default the device flow when the provider
    /// offers it, else the browser. The new login becomes the current one.
    #[command(after_help = LOGIN_EXAMPLES)]
    Login(Lazy<LoginArgs>),
    /// Print a valid access token on stdout, refreshing it when needed.
    ///
    /// Meant for `$(vmauth token)`: stdout carries the token and a newline,
    /// nothing else. Never prompts; exits 4 at once when a new login is needed.
    #[command(after_help = TOKEN_EXAMPLES)]
    Token(Lazy<TokenArgs>),
    /// Run a command with a valid token in its environment.
    ///
    /// The command gets the token in VMAUTH_TOKEN (or --env NAME), its expiry in
    /// VMAUTH_TOKEN_EXPIRES_AT, and who logged in (VMAUTH_USER_SUB, _EMAIL, _NAME,
    /// _ROLES). vmauth replaces itself with the command, so its signals and exit
    /// status are the command's own; the token is never on its command line.
    #[command(after_help = EXEC_EXAMPLES)]
    Exec(Lazy<ExecArgs>),
    /// Show who is logged in, until when, and where the credentials are stored.
    ///
    /// Exits 0 when the selected login is valid or can be refreshed, 4 otherwise.
    #[command(after_help = STATUS_EXAMPLES)]
    Status(Lazy<StatusArgs>),
    /// Revoke the tokens at the identity provider and remove the login.
    ///
    /// Revocation (RFC 7009) is best effort: the local credentials are removed
    /// even when the identity provider cannot be reached.
    #[command(after_help = LOGOUT_EXAMPLES)]
    Logout(Lazy<LogoutArgs>),
    /// List the profiles of config.toml, with their issuer and client and
    /// whether a usable login exists for each.
    #[command(after_help = PROFILES_EXAMPLES)]
    Profiles,
    /// Print the shell completion script for SHELL.
    ///
    /// Load it in the running shell, or install it where the shell looks
    /// (README.md, "Shell completions").
    #[command(after_help = COMPLETIONS_EXAMPLES)]
    Completions(Lazy<CompletionsArgs>),
    /// git's credential helper: a fresh token for the hosts a login serves.
    ///
    /// git runs it (`credential.helper`) with get, store or erase and the
    /// request on stdin (gitcredentials(7)). A host no login serves gets no
    /// answer, so git goes on to its next helper; vmauth never prompts.
    #[command(after_help = GIT_CREDENTIAL_EXAMPLES)]
    GitCredential(Lazy<GitCredentialArgs>),
    /// cargo's credential provider: a fresh token for the registries a login serves.
    ///
    /// cargo runs it (`credential-provider`, or `global-credential-providers`)
    /// as `vmauth --cargo-plugin` and talks JSON on stdin and stdout.
    #[command(after_help = CARGO_CREDENTIAL_EXAMPLES)]
    CargoCredential(Lazy<CargoCredentialArgs>),
}

/// Which login: issuer, client and audience. Without --issuer and --client-id,
/// the current (most recent) login.
#[derive(Debug, Clone, Default, Args)]
pub struct Selector {
    /// Issuer URL of the OpenID Provider (https, or http on loopback).
    #[arg(long, value_name = "URL")]
    pub issuer: Option<String>,
    /// OAuth client id registered at the identity provider.
    #[arg(long, value_name = "ID")]
    pub client_id: Option<String>,
    /// API audience for the access token (sent as `audience`, as Auth0 needs).
    #[arg(long, value_name = "AUD")]
    pub audience: Option<String>,
}

/// What to ask for.
#[derive(Debug, Clone, Default, Args)]
pub struct RequestArgs {
    /// Scopes to request, space- or comma-separated (client credentials: none by
    /// default).
    #[arg(long, value_name = "SCOPES")]
    pub scope: Option<String>,
    /// RFC 8707 resource indicator (repeatable).
    #[arg(long, value_name = "URI")]
    pub resource: Vec<String>,
}

/// Client-credentials mode (CI): the client authenticates as itself. Secrets are
/// never accepted as arguments: use VMAUTH_CLIENT_SECRET, a file, or stdin.
#[derive(Debug, Clone, Default, Args)]
pub struct ClientAuthArgs {
    /// Use the OAuth client credentials grant instead of the device flow
    /// (also VMAUTH_GRANT=client_credentials).
    #[arg(long)]
    pub client_credentials: bool,
    /// Client authentication method (by default: private_key_jwt when a key or
    /// assertion is given, else from the issuer's metadata, else
    /// client_secret_basic).
    #[arg(long, value_name = "METHOD")]
    pub client_auth: Option<ClientAuthChoice>,
    /// Read the client secret from this file (the secret can also come from the
    /// VMAUTH_CLIENT_SECRET environment variable).
    #[arg(long, value_name = "PATH")]
    pub client_secret_file: Option<PathBuf>,
    /// Read the client secret from standard input.
    #[arg(long, conflicts_with = "client_secret_file")]
    pub client_secret_stdin: bool,
    /// PEM private key (RSA or P-256 EC) for private_key_jwt (RFC 7523).
    #[arg(long, value_name = "PATH")]
    pub private_key: Option<PathBuf>,
    /// `kid` header for assertions signed with --private-key.
    #[arg(long, value_name = "KID")]
    pub key_id: Option<String>,
    /// A ready-made client assertion (JWT) in a file, re-read on every request
    /// (e.g. a CI platform's federated identity token).
    #[arg(long, value_name = "PATH", conflicts_with = "private_key")]
    pub client_assertion_file: Option<PathBuf>,
    /// The `aud` of signed client assertions.
    #[arg(long, value_name = "AUD")]
    pub assertion_audience: Option<AssertionAudienceChoice>,
    /// Not accepted: secrets on the command line leak into ps and shell history.
    #[arg(long, hide = true, value_name = "SECRET")]
    pub client_secret: Option<String>,
    /// The grant of a CI job: client_credentials (the default; with
    /// --federated-token, the platform's token is the client assertion),
    /// jwt-bearer or token-exchange (the platform's token is the grant).
    #[arg(long, value_name = "GRANT", conflicts_with = "client_credentials")]
    pub grant: Option<GrantChoice>,
    /// Where the CI platform's own OIDC token comes from, fetched fresh for each
    /// token request: auto, github, gitlab (or gitlab:VAR), azure-pipelines:CONNECTION,
    /// circleci, buildkite, kubernetes (or kubernetes:PATH), gcp, file:PATH,
    /// env:VAR or exec:COMMAND (README: CI without secrets).
    #[arg(long, value_name = "SOURCE")]
    pub federated_token: Option<String>,
    /// The audience to ask the CI platform's token for (github, gcp, circleci,
    /// buildkite); not the `aud` of assertions vmauth signs (--assertion-audience).
    #[arg(long, value_name = "AUD")]
    pub federated_audience: Option<String>,
    /// Token exchange: who acts for the subject, from a SOURCE as for
    /// --federated-token.
    #[arg(long, value_name = "SOURCE")]
    pub actor_token: Option<String>,
    /// Token exchange: the type of the federated token: jwt (the default),
    /// id_token or access_token.
    #[arg(long, value_name = "TYPE")]
    pub subject_token_type: Option<SubjectTokenChoice>,
    /// An extra parameter of the token request a provider requires (e.g. a
    /// federation rule id); repeatable. Parameters vmauth sets are refused.
    #[arg(long = "param", value_name = "KEY=VALUE")]
    pub params: Vec<String>,
}

/// `--grant`: how a CI job gets its token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GrantChoice {
    /// The client credentials grant (RFC 6749).
    #[value(name = "client_credentials", alias = "client-credentials")]
    ClientCredentials,
    /// The JWT-bearer authorization grant (RFC 7523).
    #[value(name = "jwt-bearer", alias = "jwt_bearer")]
    JwtBearer,
    /// Token exchange (RFC 8693).
    #[value(name = "token-exchange", alias = "token_exchange")]
    TokenExchange,
}

impl From<GrantChoice> for MachineGrant {
    fn from(c: GrantChoice) -> MachineGrant {
        match c {
            GrantChoice::ClientCredentials => MachineGrant::ClientCredentials,
            GrantChoice::JwtBearer => MachineGrant::JwtBearer,
            GrantChoice::TokenExchange => MachineGrant::TokenExchange,
        }
    }
}

/// `--subject-token-type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SubjectTokenChoice {
    /// `urn:ietf:params:oauth:token-type:jwt`.
    Jwt,
    /// `urn:ietf:params:oauth:token-type:id_token`.
    #[value(name = "id_token")]
    IdToken,
    /// `urn:ietf:params:oauth:token-type:access_token`.
    #[value(name = "access_token")]
    AccessToken,
}

/// `vmauth login`.
#[derive(Debug, Args)]
pub struct LoginArgs {
    /// Which login.
    #[command(flatten)]
    pub selector: Selector,
    /// What to ask for.
    #[command(flatten)]
    pub request: RequestArgs,
    /// How the client authenticates.
    #[command(flatten)]
    pub client: ClientAuthArgs,
    /// Do not show the QR code.
    #[arg(long, conflicts_with = "qr")]
    pub no_qr: bool,
    /// Show the QR code even when stderr is not a terminal.
    #[arg(long)]
    pub qr: bool,
    /// How to sign in: auto (the device flow when the provider offers it, else
    /// the browser), device, or browser.
    #[arg(long, value_name = "FLOW", conflicts_with_all = ["browser", "device"])]
    pub flow: Option<FlowChoice>,
    /// Sign in with this machine's browser (or paste the address it was sent
    /// to): --flow browser.
    #[arg(long, conflicts_with = "device")]
    pub browser: bool,
    /// Sign in with a code entered on any device: --flow device.
    #[arg(long)]
    pub device: bool,
    /// Open the sign-in page in a browser (the browser flow does where one is
    /// plausible; the device flow only with this flag).
    #[arg(long, conflicts_with = "no_open")]
    pub open: bool,
    /// Never open a browser; only print the address.
    #[arg(long)]
    pub no_open: bool,
    /// The browser flow's loopback port, for a provider that registers the
    /// redirect URI with its port (default: any free port).
    #[arg(long, value_name = "PORT", conflicts_with = "redirect_uri")]
    pub redirect_port: Option<u16>,
    /// The browser flow's redirect URI exactly as registered:
    /// `http://127.0.0.1:PORT/PATH` or `http://[::1]:PORT/PATH`.
    #[arg(long, value_name = "URI")]
    pub redirect_uri: Option<String>,
    /// How long to wait for the sign-in in the browser.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration_secs)]
    pub timeout: Option<u64>,
    /// After logging in, save the options used as profile NAME in config.toml.
    #[arg(long, value_name = "NAME")]
    pub save_profile: Option<String>,
    /// Start from an API: its URL (RFC 9728 metadata names the sign-in; vmauth
    /// registers itself there unless given a client id).
    #[arg(value_name = "API_URL", conflicts_with = "issuer")]
    pub api: Option<String>,
    /// Starting from an API whose metadata names several authorization
    /// servers: the one to sign in with.
    #[arg(long, value_name = "URL")]
    pub authorization_server: Option<String>,
    /// Starting from an API: identify vmauth by this Client ID Metadata
    /// Document (an https URL) where the server takes them.
    #[arg(long, value_name = "URL")]
    pub client_metadata_url: Option<String>,
    /// Starting from an API: the initial access token a server requires for
    /// registration (RFC 7591), read from this file (or
    /// VMAUTH_REGISTRATION_TOKEN).
    #[arg(long, value_name = "PATH")]
    pub registration_token_file: Option<PathBuf>,
}

const LOGIN_EXAMPLES: &str = "\
Examples:
  vmauth login --issuer https://idp.example.com --client-id my-cli
  vmauth login --browser --issuer https://idp.example.com --client-id my-cli
  vmauth login --browser --redirect-port 8400 --issuer https://idp.example.com --client-id my-cli
  vmauth login --device --issuer https://idp.example.com --client-id my-cli
  vmauth login --issuer https://idp.example.com --client-id my-cli --save-profile work
  vmauth login --profile work
  vmauth login https://api.example.com/v1
  VMAUTH_CLIENT_SECRET=... vmauth login --client-credentials --issuer https://idp.example.com --client-id my-ci";

const PROFILES_EXAMPLES: &str = "\
Examples:
  vmauth profiles
  vmauth login --issuer https://idp.example.com --client-id my-cli --save-profile work
  vmauth token --profile work";

const STATUS_EXAMPLES: &str = "\
Examples:
  vmauth status
  vmauth status --all
  vmauth status --json | jq -r '.logins[0].expires_at'";

const LOGOUT_EXAMPLES: &str = "\
Examples:
  vmauth logout
  vmauth logout --issuer https://idp.example.com --client-id my-cli
  vmauth logout --all";

const COMPLETIONS_EXAMPLES: &str = "\
Examples:
  source <(vmauth completions bash)
  vmauth completions zsh > ~/.zfunc/_vmauth
  vmauth completions fish > ~/.config/fish/completions/vmauth.fish";

const TOKEN_EXAMPLES: &str = "\
Examples:
  curl -H \"Authorization: Bearer $(vmauth token)\" https://api.example.com/
  vmauth token -o header | curl -H @- https://api.example.com/
  eval \"$(vmauth token -o env)\"
  vmauth token -o json --token-type id";

const EXEC_EXAMPLES: &str = "\
Examples:
  vmauth exec -- python train.py
  vmauth exec --env API_TOKEN -- ./deploy.sh prod
  vmauth exec --token-type id -- az rest --url https://graph.example/";

/// Which token, and how fresh: shared by `token` and `exec`.
#[derive(Debug, Clone, Default, Args)]
pub struct AcquireArgs {
    /// Which login.
    #[command(flatten)]
    pub selector: Selector,
    /// What to ask for.
    #[command(flatten)]
    pub request: RequestArgs,
    /// How the client authenticates.
    #[command(flatten)]
    pub client: ClientAuthArgs,
    /// Refresh when less than this is left (seconds, or with s/m/h suffix; at most
    /// half the token's lifetime).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration_secs)]
    pub min_ttl: Option<u64>,
    /// Refresh now (for client credentials: request a new token) even when the
    /// cached token is still good, e.g. after it was revoked at the identity provider.
    #[arg(long)]
    pub force_refresh: bool,
    /// Which token of the login.
    #[arg(long, value_name = "TYPE")]
    pub token_type: Option<TokenChoice>,
    /// Exchange the login's access token (RFC 8693) for one for --audience
    /// AUD, kept as its own login and exchanged again when it runs out.
    #[arg(long)]
    pub exchange: bool,
}

/// `vmauth exec`.
#[derive(Debug, Args)]
pub struct ExecArgs {
    /// Which token, and how fresh.
    #[command(flatten)]
    pub acquire: AcquireArgs,
    /// The environment variable that gets the token [default: VMAUTH_TOKEN].
    #[arg(long = "env", value_name = "NAME")]
    pub env_name: Option<String>,
    /// The command to run, and its arguments (after --).
    #[arg(last = true, required = true, value_name = "COMMAND", value_parser = clap::value_parser!(std::ffi::OsString))]
    pub command: Vec<std::ffi::OsString>,
}

/// `vmauth token`.
#[derive(Debug, Default, Args)]
pub struct TokenArgs {
    /// Which token, and how fresh.
    #[command(flatten)]
    pub acquire: AcquireArgs,
    /// How to print the token.
    #[arg(short = 'o', long, value_name = "FORMAT")]
    pub output: Option<OutputFormat>,
}

/// `vmauth git-credential`.
#[derive(Debug, Default, Args)]
pub struct GitCredentialArgs {
    /// What git asks: get (a credential), store or erase (git's report on it).
    #[arg(value_name = "OPERATION")]
    pub operation: String,
}

/// `vmauth cargo-credential`.
#[derive(Debug, Default, Args)]
pub struct CargoCredentialArgs {
    /// Added by cargo when it runs a credential provider.
    #[arg(long, hide = true)]
    pub cargo_plugin: bool,
}

const GIT_CREDENTIAL_EXAMPLES: &str = "\
Examples:
  git config --global credential.https://git.example.com.helper '!vmauth git-credential'
  git config --global credential.https://git.example.com.helper '!vmauth --profile work git-credential'";

const CARGO_CREDENTIAL_EXAMPLES: &str = "\
Examples (in ~/.cargo/config.toml):
  [registries.my-registry]
  index = \"sparse+https://crates.example.com/index/\"
  credential-provider = [\"vmauth\", \"--profile\", \"work\"]";

/// `vmauth completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell.
    #[arg(value_name = "SHELL")]
    pub shell: clap_complete::Shell,
}

/// `vmauth status`.
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Which login.
    #[command(flatten)]
    pub selector: Selector,
    /// Print a JSON document on stdout (format documented in README.md).
    #[arg(long)]
    pub json: bool,
    /// Show every stored login, not only the selected one.
    #[arg(long)]
    pub all: bool,
}

/// `vmauth logout`.
#[derive(Debug, Args)]
pub struct LogoutArgs {
    /// Which login.
    #[command(flatten)]
    pub selector: Selector,
    /// Log out of every stored login.
    #[arg(long, conflicts_with_all = ["issuer", "client_id", "audience"])]
    pub all: bool,
    /// Also delete the client registration vmauth made at the login's
    /// authorization server (RFC 7592), where the server offers it.
    #[arg(long)]
    pub unregister: bool,
}

/// `90`, `90s`, `5m`, `1h` → seconds.
pub fn parse_duration_secs(s: &str) -> Result<u64, String> {
    let s = s.trim();
    let (num, mult) = match s.char_indices().last() {
        Some((i, 's')) => (&s[..i], 1),
        Some((i, 'm')) => (&s[..i], 60),
        Some((i, 'h')) => (&s[..i], 3600),
        _ => (s, 1),
    };
    num.trim()
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(mult))
        .ok_or_else(|| format!("{s:?} is not a duration; use seconds (90) or 90s, 5m, 1h"))
}

/// The command line: the cached-token forms of `vmauth token` without
/// building the definitions (`parse_fast`), everything else through clap.
pub fn parse(args: &[OsString]) -> Result<Cli, clap::Error> {
    // cargo runs a credential provider as `PROGRAM --cargo-plugin` (the rest
    // of the configured line comes in its requests).
    if args.get(1).is_some_and(|a| a == "--cargo-plugin") {
        let mut rewritten = vec![args[0].clone(), "cargo-credential".into()];
        rewritten.extend(args.iter().skip(1).cloned());
        return command()
            .try_get_matches_from(&rewritten)
            .and_then(|m| Cli::from_arg_matches(&m));
    }
    match parse_fast(args) {
        Some(cli) => Ok(cli),
        None => command()
            .try_get_matches_from(args)
            .and_then(|m| Cli::from_arg_matches(&m)),
    }
}

/// The clap command with its generated "Exit codes" and "Environment" help.
pub fn command() -> clap::Command {
    Cli::command()
        .mut_arg("store", annotate)
        .mut_arg("profile", annotate)
        .after_help(format!("{}\n{}", exit_codes_help(), env_help()))
}

/// `vmauth token` in the forms scripts, kubectl and notebooks use (a login by
/// `--issuer`/`--client-id`/`--audience`, `--profile`, `--store`, `-o`,
/// `--min-ttl`, `--token-type`, `--scope`, `--force-refresh`), read without
/// building the command-line definition, which is most of the instructions
/// a cached token costs. Anything else (another flag, a flag given twice, a
/// value that looks like a flag, `--help`) is left to clap. It is the value
/// clap gives for the same arguments; a test checks many forms.
fn parse_fast(args: &[OsString]) -> Option<Cli> {
    let mut words = args.iter().skip(1).map(|a| a.to_str());
    let (mut store, mut profile, mut in_token) = (None, None, false);
    let mut t = TokenArgs::default();
    // A flag's value: the rest of `--flag=value`, else the next word, which
    // must not look like a flag.
    fn value<'a>(
        inline: Option<&'a str>,
        words: &mut impl Iterator<Item = Option<&'a str>>,
    ) -> Option<&'a str> {
        match inline {
            Some(v) => Some(v),
            None => words.next()?.filter(|v| !v.starts_with('-')),
        }
    }
    // Each flag at most once, as clap requires.
    fn once<T>(slot: &mut Option<T>, v: Option<T>) -> Option<()> {
        if slot.is_some() {
            return None;
        }
        *slot = Some(v?);
        Some(())
    }
    while let Some(word) = words.next() {
        let word = word?;
        if !in_token && word == "token" {
            in_token = true;
            continue;
        }
        let (name, inline) = match word.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n, Some(v)),
            _ => (word, None),
        };
        let s = |v: &str| v.to_string();
        match name {
            "--store" => once(
                &mut store,
                value(inline, &mut words).and_then(|v| StoreChoice::from_str(v, false).ok()),
            )?,
            "--profile" => once(&mut profile, value(inline, &mut words).map(s))?,
            _ if !in_token => return None,
            "--issuer" => once(
                &mut t.acquire.selector.issuer,
                value(inline, &mut words).map(s),
            )?,
            "--client-id" => once(
                &mut t.acquire.selector.client_id,
                value(inline, &mut words).map(s),
            )?,
            "--audience" => once(
                &mut t.acquire.selector.audience,
                value(inline, &mut words).map(s),
            )?,
            "--scope" => once(
                &mut t.acquire.request.scope,
                value(inline, &mut words).map(s),
            )?,
            "--min-ttl" => once(
                &mut t.acquire.min_ttl,
                value(inline, &mut words).and_then(|v| parse_duration_secs(v).ok()),
            )?,
            "--token-type" => once(
                &mut t.acquire.token_type,
                value(inline, &mut words).and_then(|v| TokenChoice::from_str(v, false).ok()),
            )?,
            "-o" | "--output" => once(
                &mut t.output,
                value(inline, &mut words).and_then(|v| OutputFormat::from_str(v, false).ok()),
            )?,
            "--force-refresh" if inline.is_none() && !t.acquire.force_refresh => {
                t.acquire.force_refresh = true;
            }
            _ => return None,
        }
    }
    in_token.then_some(Cli {
        store,
        profile,
        command: Command::Token(Lazy(t)),
    })
}

/// clap's multi-line error as vmauth's one line: what is wrong, clap's hint
/// (possible values, a similar flag), and where to read more:
/// `<what>; see 'vmauth <command> --help'`.
pub fn usage_error(rendered: &str, args: &[OsString]) -> String {
    let mut lines = rendered.lines().map(str::trim).filter(|l| !l.is_empty());
    let what = lines
        .next()
        .map(|l| l.strip_prefix("error: ").unwrap_or(l))
        .unwrap_or("invalid arguments")
        .to_string();
    // An unexpected bare value may be a secret typed in the wrong place
    // (`--client-secret-stdin s3cr3t`): name it without quoting it.
    let mut out = match what.strip_prefix("unexpected argument '") {
        Some(rest) if !rest.starts_with('-') => {
            "unexpected argument (a value where none belongs; it is not repeated here)".to_string()
        }
        _ => what,
    };
    // "the following required arguments were not provided:" is followed by
    // their names, one a line, before "Usage:".
    if out.ends_with(':') {
        let mut missing = Vec::new();
        while let Some(l) = lines.clone().next().filter(|l| !l.starts_with("Usage:")) {
            missing.push(l.to_string());
            lines.next();
        }
        if missing.is_empty() {
            out.pop();
        } else {
            out.push(' ');
            out.push_str(&missing.join(", "));
        }
    }
    for line in lines {
        if let Some(values) = line
            .strip_prefix("[possible values: ")
            .and_then(|v| v.strip_suffix(']'))
        {
            out.push_str(&format!(" (possible values: {values})"));
        } else if let Some(tip) = line.strip_prefix("tip: ") {
            out.push_str(&format!("; {tip}"));
        }
    }
    let names: Vec<String> = command()
        .get_subcommands()
        .map(|c| c.get_name().to_string())
        .collect();
    let sub = args
        .iter()
        .skip(1)
        .filter_map(|a| a.to_str())
        .find(|a| names.iter().any(|n| n == a));
    match sub {
        Some(sub) => format!("{out}; see 'vmauth {sub} --help'"),
        None => format!("{out}; see 'vmauth --help'"),
    }
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

/// `arg` with the `[env: NAME; default: …]` note of the variable it stands
/// for, from the registry (nothing for a flag no variable backs).
pub fn annotate(arg: clap::Arg) -> clap::Arg {
    let Some(var) = arg
        .get_long()
        .and_then(|l| FLAG_VARS.iter().find(|(f, _)| *f == l))
        .map(|(_, v)| v)
    else {
        return arg;
    };
    let note = match var.default {
        Some(d) => format!("[env: {}; default: {d}]", var.name),
        None => format!("[env: {}]", var.name),
    };
    let help = arg.get_help().map(|h| format!("{h} {note}"));
    let long = arg.get_long_help().map(|h| format!("{h}\n\n{note}"));
    let arg = match help {
        Some(h) => arg.help(h),
        None => arg.help(note),
    };
    match long {
        Some(l) => arg.long_help(l),
        None => arg,
    }
}

#[cfg(test)]
#[path = "cli_tests.rs"]
mod tests;
