//! vmauth gets OAuth 2.0 / OpenID Connect tokens for people in a terminal (the
//! RFC 8628 device flow) and for CI jobs (client credentials), and keeps them in
//! the OS keychain or the ValidMind library's 0600 credentials file.
//! README.md is the user guide; this page is the map for the next engineer.
//!
//! # Layers
//!
//! Data flows down; no layer calls one above it.
//!
//! | module | what it does | the rule it keeps |
//! |---|---|---|
//! | `main.rs` | `exit(vmauth::run())`; on Linux its own C `main` (no std start-up probe), which opens closed fds 0-2 on `/dev/null` and ignores SIGPIPE | nothing else |
//! | `run` (here) | harden the process (non-dumpable on Linux) → `cli::parse` → `settings::Settings` → `context::Context` → command → exit code | the only place that turns errors into exit codes |
//! | `cli` | clap definitions, `ValueEnum`s with a doc line per value; each subcommand's arguments are built only when it is parsed (`cli::Lazy`); the cached-token forms of `vmauth token` (flags, `--profile`, `--store`, `-o`) skip clap (`parse_fast`, checked equal to clap's result); the `--help` notes rendered from `env_vars`; clap's errors as one line | flags only; the single source for `--help`, completions and man pages |
//! | `settings`, `profiles` | every setting of a command from flags, `settings::Env` and `config.toml`'s profiles: flags > `VMAUTH_*` > `VM_OIDC_*` > profiles > defaults | the only readers of the environment and of `config.toml`; issuer, client id and audience come from one source |
//! | `env_vars` | the registry of every environment variable (`env_vars::ENV_VARS`): name, meaning, default, the flag it stands for | the one source of the `[env: …; default: …]` notes, the help's and man pages' Environment sections |
//! | `context` | the one place a command's world is put together: streams, UI, the store `--store` names, the state directory, clock and randomness, the seams the protocol engine is given, the reading of client secrets | the only code that builds a `Context` |
//! | `commands` | one file per subcommand, plus `commands::acquire` (a valid credential for a selection) and `commands::output` (token formats, what is shown about a login) | the only layer that combines protocol, storage and UI |
//! | `federated` | where a CI platform's own OIDC token comes from (`--federated-token`: GitHub, GitLab, Azure Pipelines, CircleCI, Buildkite, Kubernetes, Google's metadata server, a file, variable or program); the settings layer resolves a source with the variables it needs, `federated::Source::fetch` gets a fresh token per request and checks it is an unexpired JWT | never stores or prints the token; programs run without a shell, with a deadline; each platform's answer has a fuzzed parser |
//! | `program` | running another program for an answer (a credential helper, a CI platform's token program or CLI): no shell of vmauth's making, its own process group, bounded output, one deadline for answer and exit | never passes `VMAUTH_CLIENT_SECRET` on; a deadline stops everything the program started |
//! | `loopback` | the browser login's listener on `127.0.0.1`: reads request heads (bounded), answers the redirect path, 404 elsewhere, sends the browser on to an address without the code | no protocol: whether an answer is this sign-in's is the caller's (`oidc::browser`) |
//! | `ui`, `io` | everything for humans, on stderr (prompt, QR code, spinner, warnings); stdout, stderr, stdin and their terminal flags (`io::TestIo` captures them) | all server text passes through `ui::terminal_safe`; stdout carries only a command's product |
//! | `oidc` | the protocol engine: discovery and its cache policy, endpoint overrides, client authentication and its negotiation, the grants, JWKS and ID-token verification, revocation, userinfo, the moved-endpoint retry (`oidc::provider`), HTTP policy | never prints, reads the environment, exits, or calls the wall clock or the OS random source; reaches outside only through `oidc::provider::Seams` and the `CredentialSource` it is handed (secrets, keys, the random source of assertions; an assertion file it names is re-read per request) |
//! | `store` | the `store::CredentialStore` trait and its backends: file, keychain, memory, helper, auto | same as `oidc`; warnings go to a `WarnSink` it is given |
//! | `state` | the config directory: current login, `auto` choice (`state.json`, read once per process), refresh locks, issuers' metadata and keys (24 h caches), tokens a store refused (`rescue/`) or refused as another party's (`refused/`), vmauth's client registrations (`registrations/`), `config.toml` writes; the storage backends keep their files there through `state::ConfigDir`; `state::cache_path` names every cache file | the one owner of the config directory; every file read only when this user owns it and nobody else can write to it |
//! | `fsutil` | private files: owner and link checks, 0600/0700 through open files, atomic replace, bounded locks | never follows a link into vmauth's own subdirectories |
//! | `credential`, `jwt`, `secret` | the data model: `credential::LoginId` (cache key `issuer\|client_id[\|audience]`), `credential::Credential`, client-auth settings; JWT payloads read for display; `secret::Secret`, the `secret::Sink` new secrets are told to, `secret::scrub` | the ValidMind library's format; unknown fields kept; depends on nothing above |
//! | `clock` | the injected `clock::Clock` and `clock::Rng`, with fakes for tests | |
//! | `error` | one `error::Error`: a kind (→ exit code) over an `anyhow` cause chain | messages are one line and never hold a secret |
//!
//! # How `vmauth login` flows
//!
//! `settings::Settings::resolve` picks the issuer, client and scopes;
//! `context::Context::new` opens the store (checking that a keychain takes
//! writes). `commands::login` opens an `oidc::provider::Provider` with the
//! context's seams (metadata fetched anew and cached, with the issuer mix-up
//! check and the HTTPS rule; other commands use the cached metadata for a day
//! and fetch it again when an endpoint it names is gone; client authentication
//! for a confidential client from a `CredentialSource` the context reads), asks
//! for a device code (`oidc::device::authorize`), shows the prompt through
//! `ui::Ui`, polls with `Provider::device_tokens` on the injected clock; or,
//! for the browser (`--flow`, or `auto` when the provider offers no device
//! flow or refuses it by policy), binds a `loopback::Listener`, builds the
//! request with `Provider::authorization_request` (PKCE, `state`, `nonce`,
//! PAR), waits for the listener or a pasted address, checks the answer
//! (`AuthorizationRequest::code`) and redeems it (`Provider::exchange_code`).
//! Either way `Provider::accept_login` verifies the ID token (and its nonce),
//! the credential is built (`oidc::grant::new_credential`), stored, and made
//! the current login in one `state` step (`state::StateDir::now_current`, which
//! hands back any tokens a refused refresh put aside; they are revoked then).
//!
//! # How `vmauth token` flows
//!
//! Select (the named login, else the current one) → acquire → print.
//! `commands::acquire` returns the stored credential while it has at least
//! `--min-ttl` left: that path reads one store entry (the file store parses
//! only that entry; the others stay raw JSON text and are written back byte for
//! byte; in a large file, `store::offsets` remembers where the entry sits so
//! only its bytes are read) and touches no network, TLS, async runtime or lock.
//! Otherwise it takes the per-login locks, re-reads the store (another process
//! may have refreshed), refreshes through a provider session (or, for
//! client-credentials logins, requests a new token), merges the answer
//! (`oidc::grant::merge_refresh`, keeping what the server did not send again;
//! a refreshed ID token that fails its checks is dropped, the tokens kept) and
//! stores it. The HTTP client reads the system trust store only at its first
//! TLS handshake. The token goes to stdout through `io::Io`; a closed pipe
//! there ends the command quietly.
//!
//! # How a login starts from an API
//!
//! `vmauth login API_URL` (`settings::ResourceFirst`): `commands::resource_login`
//! reads the API's RFC 9728 metadata (`oidc::resource`), chooses the
//! authorization server, says whose sign-in it is, and finds the client: the
//! `--client-id`, the registration `state` keeps per server, a Client ID
//! Metadata Document, else an RFC 7591 registration (`oidc::registration`).
//! The login is then the ordinary one, keyed `issuer|client|API_URL`, with the
//! API as its only RFC 8707 resource (`oidc::grant::ClientRequest` sends a
//! login's audience as `resource` alone when it is one).
//!
//! # How a CI job gets a token without a secret
//!
//! `settings` resolves `--grant` and `--federated-token` into
//! `settings::ClientInput` (a `federated::Source`, the audience asked of the
//! platform, `--param`s checked against `oidc::exchange::RESERVED_PARAMS`).
//! `commands::acquire::fetch_client_credentials` fetches the platform's token
//! (registered with `io::Io` so no message can show it) and sends it as the
//! client assertion (`oidc::client_auth::ClientAuth::Assertion`), or as the
//! grant of `oidc::exchange::jwt_bearer` / `oidc::exchange::token_exchange`;
//! the result is cached like a client-credentials token, with the source (never
//! the token) kept to get the next one. `vmauth token --exchange` trades a
//! person's stored access token the same way (`renew_exchanged`), keyed by the
//! new audience and exchanged again when it runs out.
//!
//! # How a grant is added
//!
//! A new grant is one new file in `oidc/` (its request and answer, built on
//! `oidc::grant::ClientRequest` and sent through `Provider::send`, which keeps
//! the moved-endpoint retry and client authentication; `oidc/browser.rs` is
//! the latest, an `impl Provider` block beside its own parsers) plus a thin
//! command (or a branch of `commands::login` / `commands::acquire`) that opens
//! a `Provider` with `Context::seams`, hands the tokens to
//! `Provider::accept_login` and stores the result. Nothing in `oidc/` may
//! print, read the environment, the wall clock or the OS random source, or
//! find a secret itself: what it needs comes through the seams (cache,
//! warnings, secrets, clock, random source, endpoint overrides) or a
//! `CredentialSource`.
//!
//! # Testing
//!
//! Commands run in-process with `io::TestIo`, `settings::MapEnv`,
//! `clock::FakeClock` and a file store in a temporary directory (the harness
//! in `src/testing/harness.rs`); unit tests sit next to their module as
//! `<module>_tests.rs`; `tests/` drives the real binary against a real OpenID
//! Provider, in-process mocks, a real Secret Service, and other uids.

#![warn(missing_docs)]

pub mod cli;
pub mod clock;
pub(crate) mod commands;
pub(crate) mod context;
pub mod credential;
pub mod env_vars;
pub mod error;
pub mod federated;
pub(crate) mod fsutil;
/// Entry points for the fuzz targets in `fuzz/` (only with the `fuzzing` feature).
#[cfg(feature = "fuzzing")]
pub mod fuzzing;
pub mod io;
pub mod jwt;
pub mod loopback;
pub mod oidc;
pub mod profiles;
pub(crate) mod program;
pub mod secret;
pub mod settings;
pub(crate) mod state;
pub(crate) mod store;
#[cfg(test)]
mod testing;
pub(crate) mod ui;

use std::ffi::OsString;
use std::rc::Rc;

pub use cli::command;
use clock::{Clock, Rng, SystemClock, SystemRng};
use error::exit;
use io::Io;
use settings::{Env, ProcessEnv, Settings};

/// Receives warnings from the layers that never print (storage, state, the
/// protocol engine); the UI makes one that writes to stderr.
pub type WarnSink = Box<dyn Fn(&str)>;

/// Run vmauth in this process: its arguments, environment, streams, clock and
/// random source, after [`harden_process`]. Returns the exit code.
pub fn run() -> i32 {
    harden_process();
    run_with(
        std::env::args_os(),
        &ProcessEnv,
        Io::system(),
        Rc::new(SystemClock::default()),
        Rc::new(SystemRng::default()),
    )
}

/// Before anything holds a secret: on Linux, make the process non-dumpable
/// (`prctl(PR_SET_DUMPABLE, 0)`, as ssh-agent and gpg-agent do), so no core
/// dump holds its tokens and other processes of the same user cannot attach to
/// it or read its memory through `/proc`. A program `vmauth exec` starts is
/// dumpable again (execve resets the flag). Elsewhere: nothing.
pub fn harden_process() {
    #[cfg(target_os = "linux")]
    // SAFETY: prctl with PR_SET_DUMPABLE takes plain integers and touches no memory.
    unsafe {
        libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0);
    }
}

/// Parse `args`, resolve the settings, run the command and report errors on
/// `io`'s stderr; returns the exit code. Everything from outside is injected.
pub fn run_with(
    args: impl IntoIterator<Item = impl Into<OsString> + Clone>,
    env: &dyn Env,
    io: Io,
    clock: Rc<dyn Clock>,
    rng: Rc<dyn Rng>,
) -> i32 {
    let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
    let cli = match cli::parse(&args) {
        Ok(cli) => cli,
        Err(e) => {
            return match e.kind() {
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => {
                    let r = e.render();
                    let text = if io.stdout_tty && !settings::no_color(env) {
                        r.ansi().to_string()
                    } else {
                        r.to_string()
                    };
                    let _ = io.out(text.as_bytes());
                    exit::OK
                }
                _ => {
                    let ui = ui::Ui::new(io.clone(), settings::no_color(env));
                    ui.error(&cli::usage_error(&e.render().to_string(), &args));
                    exit::USAGE
                }
            };
        }
    };
    if let cli::Command::Completions(a) = &cli.command {
        // A pure function of the command-line definitions: no settings, no store.
        let mut script = Vec::new();
        clap_complete::generate(a.shell, &mut cli::command(), "vmauth", &mut script);
        return match io.out(&script) {
            Ok(()) => exit::OK,
            Err(e) if e.is_broken_pipe() => exit::OK,
            Err(e) => {
                io.err(&format!("vmauth: error: {}\n", e.message()));
                e.exit_code()
            }
        };
    }
    let ui_for_errors = |no_color| ui::Ui::new(io.clone(), no_color);
    let settings = match Settings::resolve(&cli, env) {
        Ok(s) => s,
        Err(e) => {
            ui_for_errors(false).error(&e.message());
            return e.exit_code();
        }
    };
    let will_write = settings.will_write();
    let Settings { common, command } = settings;
    let no_color = common.no_color;
    let ctx = match commands::Context::new(common, will_write, io.clone(), clock, rng) {
        Ok(ctx) => ctx,
        Err(e) => {
            ui_for_errors(no_color).error(&e.message());
            return e.exit_code();
        }
    };
    match commands::run(&command, &ctx) {
        Ok(()) => exit::OK,
        // The reader of stdout has gone (`vmauth token | head -c0`): nothing to say.
        Err(e) if e.is_broken_pipe() => exit::OK,
        Err(e) => {
            if !matches!(
                e.kind(),
                error::Kind::Interrupted | error::Kind::ChildExited(_)
            ) {
                ctx.ui.error(&e.message());
            }
            e.exit_code()
        }
    }
}
