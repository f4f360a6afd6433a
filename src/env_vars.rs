//! The registry of every environment variable vmauth reads: name, meaning,
//! default, and the flag it stands for. `cli` renders the "Environment" part
//! of `--help` and the man pages and the `[env: …; default: …]` note of every
//! flag a variable backs from it; the settings layer reads the variables
//! through it. Plain data, below the command-line definitions.

/// The default of `--min-ttl`, in seconds: written here only (the registry's
/// `VMAUTH_MIN_TTL` default, `--help` and `settings::DEFAULT_MIN_TTL` come from it).
#[macro_export]
#[doc(hidden)]
macro_rules! default_min_ttl {
    () => {
        60
    };
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
    MIN_TTL = "VMAUTH_MIN_TTL", "refresh when less than this is left, as --min-ttl", Some(concat!(crate::default_min_ttl!()));
    /// `--output`.
    OUTPUT = "VMAUTH_OUTPUT", "how vmauth token prints the token, as --output", Some("raw");
    /// `--token-type`.
    TOKEN_TYPE = "VMAUTH_TOKEN_TYPE", "access or id: which token token and exec give, as --token-type", Some("access");
    /// Set by kubectl for exec credential plugins.
    EXEC_INFO = "KUBERNETES_EXEC_INFO", "set by kubectl for credential plugins: its apiVersion decides the ExecCredential version of -o exec-credential", Some("client.authentication.k8s.io/v1");
    /// `--client-credentials`.
    GRANT = "VMAUTH_GRANT", "client_credentials, jwt-bearer or token-exchange: a CI job's grant, as --grant (device_code: a person's login)", Some("device_code");
    /// `--federated-token`.
    FEDERATED_TOKEN = "VMAUTH_FEDERATED_TOKEN", "where the CI platform's OIDC token comes from, as --federated-token", None;
    /// `--federated-audience`.
    FEDERATED_AUDIENCE = "VMAUTH_FEDERATED_AUDIENCE", "the audience asked of the CI platform, as --federated-audience", None;
    /// The initial access token of a registration (a secret, never an argument).
    REGISTRATION_TOKEN = "VMAUTH_REGISTRATION_TOKEN", "the initial access token a server requires for dynamic registration (RFC 7591), as --registration-token-file holds it", None;
    /// `--actor-token`.
    ACTOR_TOKEN = "VMAUTH_ACTOR_TOKEN", "the actor token's source (token exchange), as --actor-token", None;
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
    /// `--flow`.
    FLOW = "VMAUTH_FLOW", "how vmauth login signs in, as --flow", Some("auto");
    /// An X11 display: a browser can be opened.
    DISPLAY = "DISPLAY", "set by X11: the browser flow may open a browser (Linux)", None;
    /// A Wayland display: a browser can be opened.
    WAYLAND_DISPLAY = "WAYLAND_DISPLAY", "set by Wayland: the browser flow may open a browser (Linux)", None;
    /// An SSH session: the browser would open on the remote machine.
    SSH_CONNECTION = "SSH_CONNECTION", "set by ssh: the browser flow opens no browser (unless BROWSER is set) and waits for a pasted address", None;
    /// An SSH session with a terminal.
    SSH_TTY = "SSH_TTY", "set by ssh: as SSH_CONNECTION", None;
    /// The user's browser command.
    BROWSER = "BROWSER", "the browser to open (run without a shell); set, it also allows one in an SSH session", None;
    /// Windows Subsystem for Linux.
    WSL_DISTRO_NAME = "WSL_DISTRO_NAME", "set by WSL: the browser flow opens the Windows browser", None;
}

/// The flags the variables stand for (by long name), for their `--help` notes.
pub(crate) const FLAG_VARS: &[(&str, EnvVar)] = &[
    ("issuer", vars::ISSUER),
    ("flow", vars::FLOW),
    ("client-id", vars::CLIENT_ID),
    ("audience", vars::AUDIENCE),
    ("scope", vars::SCOPE),
    ("profile", vars::PROFILE),
    ("store", vars::STORE),
    ("min-ttl", vars::MIN_TTL),
    ("output", vars::OUTPUT),
    ("token-type", vars::TOKEN_TYPE),
    ("client-auth", vars::CLIENT_AUTH),
    ("client-secret-file", vars::CLIENT_SECRET_FILE),
    ("private-key", vars::PRIVATE_KEY),
    ("key-id", vars::KEY_ID),
    ("client-assertion-file", vars::CLIENT_ASSERTION_FILE),
    ("assertion-audience", vars::ASSERTION_AUDIENCE),
    ("grant", vars::GRANT),
    ("federated-token", vars::FEDERATED_TOKEN),
    ("federated-audience", vars::FEDERATED_AUDIENCE),
    ("actor-token", vars::ACTOR_TOKEN),
];
