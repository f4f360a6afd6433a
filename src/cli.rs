//! Command-line definitions: the single source for `--help` (and later for
//! completions and man pages).

use clap::{Args, Parser, Subcommand};

const EXIT_CODES: &str = "\
Exit codes:
  0    success
  1    identity provider, network or storage failure
  2    usage or configuration error (bad option, http:// issuer, …)
  4    authentication required: not logged in, or the login cannot be refreshed
  5    login not completed: denied, or the code expired
  130  interrupted (Ctrl-C)

Environment:
  VMAUTH_ISSUER, VMAUTH_CLIENT_ID, VMAUTH_AUDIENCE, VMAUTH_SCOPE
      defaults for --issuer, --client-id, --audience, --scope; the ValidMind
      library's VM_OIDC_ISSUER, VM_OIDC_CLIENT_ID, VM_OIDC_AUDIENCE and
      VM_OIDC_SCOPE are read when the VMAUTH_ variable is unset
  VMAUTH_GRANT=client_credentials
      client-credentials mode, as --client-credentials
  VMAUTH_CLIENT_SECRET
      the client secret for client_secret_basic / client_secret_post
  VMAUTH_CREDENTIALS_FILE
      credentials file (default ~/.validmind/credentials.json, shared with
      the ValidMind library)
  VMAUTH_CREDENTIAL_HELPER
      the program behind --store helper (protocol in README.md)
  VM_OIDC_NO_PERSIST=1
      the same as --store memory, unless --store or VMAUTH_STORE is given
  VMAUTH_CONFIG_DIR
      vmauth's own state (which login is current), default the platform
      config directory (~/.config/vmauth on Linux)
  NO_COLOR
      no ANSI styling";

/// Get OAuth 2.0 / OpenID Connect tokens in a terminal and in scripts.
///
/// Log in once with the device flow, then use `$(vmauth token)` wherever a
/// bearer token is needed: it prints a valid access token on stdout and nothing
/// else, refreshing it when it is about to expire.
#[derive(Debug, Parser)]
#[command(name = "vmauth", version, after_help = EXIT_CODES, max_term_width = 100)]
pub struct Cli {
    /// Where credentials live: auto (OS keychain if one answers, else the 0600
    /// file; the choice is remembered), keyring, file, memory (nothing written) or
    /// helper (VMAUTH_CREDENTIAL_HELPER).
    #[arg(long, global = true, env = "VMAUTH_STORE", value_name = "STORE",
          value_parser = ["auto", "keyring", "file", "memory", "helper"])]
    pub store: Option<String>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Log in with the OAuth 2.0 device flow (RFC 8628) and store the tokens.
    ///
    /// Shows a QR code, a URL and a code; approve in any browser, on any device.
    /// The new login becomes the current one.
    Login(LoginArgs),
    /// Print a valid access token on stdout, refreshing it when needed.
    ///
    /// Meant for `$(vmauth token)`: stdout carries the token and a newline,
    /// nothing else. Never prompts; exits 4 at once when a new login is needed.
    Token(TokenArgs),
    /// Show who is logged in, until when, and where the credentials are stored.
    ///
    /// Exits 0 when the selected login is valid or can be refreshed, 4 otherwise.
    Status(StatusArgs),
    /// Revoke the tokens at the identity provider and remove the login.
    ///
    /// Revocation (RFC 7009) is best effort: the local credentials are removed
    /// even when the identity provider cannot be reached.
    Logout(LogoutArgs),
}

/// Which login: issuer, client and audience. Without --issuer and --client-id,
/// the current (most recent) login.
#[derive(Debug, Clone, Default, Args)]
pub struct Selector {
    /// Issuer URL of the OpenID Provider (https, or http on loopback).
    #[arg(
        long,
        env = "VMAUTH_ISSUER",
        hide_env_values = true,
        value_name = "URL"
    )]
    pub issuer: Option<String>,
    /// OAuth client id registered at the identity provider.
    #[arg(
        long,
        env = "VMAUTH_CLIENT_ID",
        hide_env_values = true,
        value_name = "ID"
    )]
    pub client_id: Option<String>,
    /// API audience for the access token (sent as `audience`, as Auth0 needs).
    #[arg(
        long,
        env = "VMAUTH_AUDIENCE",
        hide_env_values = true,
        value_name = "AUD"
    )]
    pub audience: Option<String>,
}

/// What to ask for.
#[derive(Debug, Clone, Default, Args)]
pub struct RequestArgs {
    /// Scopes to request, space- or comma-separated. [default for device login:
    /// openid profile email offline_access; for client credentials: none]
    #[arg(
        long,
        env = "VMAUTH_SCOPE",
        hide_env_values = true,
        value_name = "SCOPES"
    )]
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
    /// Client authentication method [default: from the issuer's metadata, else
    /// client_secret_basic; private_key_jwt when a key or assertion is given].
    #[arg(long, env = "VMAUTH_CLIENT_AUTH", value_name = "METHOD",
          value_parser = ["client_secret_basic", "client_secret_post", "private_key_jwt"])]
    pub client_auth: Option<String>,
    /// Read the client secret from this file (the secret can also come from the
    /// VMAUTH_CLIENT_SECRET environment variable).
    #[arg(
        long,
        env = "VMAUTH_CLIENT_SECRET_FILE",
        hide_env_values = true,
        value_name = "PATH"
    )]
    pub client_secret_file: Option<std::path::PathBuf>,
    /// Read the client secret from standard input.
    #[arg(long, conflicts_with = "client_secret_file")]
    pub client_secret_stdin: bool,
    /// PEM private key (RSA or P-256 EC) for private_key_jwt (RFC 7523).
    #[arg(
        long,
        env = "VMAUTH_PRIVATE_KEY",
        hide_env_values = true,
        value_name = "PATH"
    )]
    pub private_key: Option<std::path::PathBuf>,
    /// `kid` header for assertions signed with --private-key.
    #[arg(
        long,
        env = "VMAUTH_KEY_ID",
        hide_env_values = true,
        value_name = "KID"
    )]
    pub key_id: Option<String>,
    /// A ready-made client assertion (JWT) in a file, re-read on every request
    /// (e.g. a CI platform's federated identity token).
    #[arg(
        long,
        env = "VMAUTH_CLIENT_ASSERTION_FILE",
        hide_env_values = true,
        value_name = "PATH",
        conflicts_with = "private_key"
    )]
    pub client_assertion_file: Option<std::path::PathBuf>,
    /// The `aud` of signed client assertions: the token endpoint (default; Okta,
    /// Entra, Keycloak) or the issuer as published (Auth0).
    #[arg(long, env = "VMAUTH_ASSERTION_AUDIENCE", value_name = "AUD",
          value_parser = ["token-endpoint", "issuer"])]
    pub assertion_audience: Option<String>,
    /// Not accepted: secrets on the command line leak into ps and shell history.
    #[arg(long, hide = true, value_name = "SECRET")]
    pub client_secret: Option<String>,
}

#[derive(Debug, Args)]
pub struct LoginArgs {
    #[command(flatten)]
    pub selector: Selector,
    #[command(flatten)]
    pub request: RequestArgs,
    #[command(flatten)]
    pub client: ClientAuthArgs,
    /// Do not show the QR code.
    #[arg(long, conflicts_with = "qr")]
    pub no_qr: bool,
    /// Show the QR code even when stderr is not a terminal.
    #[arg(long)]
    pub qr: bool,
    /// Open the verification page in the default browser.
    #[arg(long)]
    pub open: bool,
}

#[derive(Debug, Args)]
pub struct TokenArgs {
    #[command(flatten)]
    pub selector: Selector,
    #[command(flatten)]
    pub request: RequestArgs,
    #[command(flatten)]
    pub client: ClientAuthArgs,
    /// Refresh when less than this is left (seconds, or with s/m/h suffix).
    #[arg(long, env = "VMAUTH_MIN_TTL", default_value = "60", value_name = "DURATION",
          value_parser = parse_duration_secs)]
    pub min_ttl: u64,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    #[command(flatten)]
    pub selector: Selector,
    /// Print a JSON document on stdout (format documented in README.md).
    #[arg(long)]
    pub json: bool,
    /// Show every stored login, not only the selected one.
    #[arg(long)]
    pub all: bool,
}

#[derive(Debug, Args)]
pub struct LogoutArgs {
    #[command(flatten)]
    pub selector: Selector,
    /// Log out of every stored login.
    #[arg(long, conflicts_with_all = ["issuer", "client_id", "audience"])]
    pub all: bool,
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

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration_secs("90"), Ok(90));
        assert_eq!(parse_duration_secs("5m"), Ok(300));
        assert_eq!(parse_duration_secs("1h"), Ok(3600));
        assert!(parse_duration_secs("-1").is_err());
        assert!(parse_duration_secs("soon").is_err());
    }
}
