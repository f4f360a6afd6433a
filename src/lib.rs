//! vmauth: OAuth 2.0 / OpenID Connect tokens for people in a terminal and for
//! scripts. See README.md for the user guide and `../shared/DESIGN.md` for the
//! shape: `oidc` (protocol engine), `store` (credentials), `ui` (terminal),
//! `commands` (orchestration).

pub mod cli;
pub mod commands;
pub mod config;
pub mod error;
pub mod oidc;
pub mod secret;
pub mod store;
pub mod ui;

use clap::Parser;

use cli::{Cli, Command};
use error::exit;

/// Parse the command line, run the command, report errors; returns the exit code.
pub fn run() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return match e.kind() {
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => {
                    exit::OK
                }
                _ => exit::USAGE,
            };
        }
    };
    let ctx = match commands::Context::from_env(
        Box::new(config::ProcessEnv),
        cli.store.as_deref(),
        matches!(cli.command, Command::Login(_)),
    ) {
        Ok(ctx) => ctx,
        Err(e) => {
            eprintln!("vmauth: error: {e}");
            return e.exit_code();
        }
    };
    let result = match &cli.command {
        Command::Login(a) => commands::login::run(a, &ctx),
        Command::Token(a) => commands::token::run(a, &ctx),
        Command::Status(a) => commands::status::run(a, &ctx),
        Command::Logout(a) => commands::logout::run(a, &ctx),
    };
    match result {
        Ok(()) => exit::OK,
        Err(e) => {
            if e.kind() != error::Kind::Interrupted {
                ctx.ui.error(e.message());
            }
            e.exit_code()
        }
    }
}
