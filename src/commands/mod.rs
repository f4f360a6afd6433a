//! One module per subcommand, plus [`acquire`] (a valid credential for a
//! selection: cached → refresh single-flight → client-credentials renewal) and
//! [`output`] (token formats and what is shown about a login). Each
//! `run(&Settings-for-it, &Context)` reads like the user story it implements;
//! the [`Context`] is put together in `crate::context`, the protocol lives in
//! `crate::oidc`.

pub(crate) mod acquire;
pub(crate) mod cargo_credential;
pub(crate) mod exec;
pub(crate) mod git_credential;
pub(crate) mod login;
pub(crate) mod logout;
pub(crate) mod output;
pub(crate) mod profiles;
pub(crate) mod resource_login;
pub(crate) mod status;
pub(crate) mod token;

pub(crate) use crate::context::Context;
use crate::error::Result;
use crate::settings::CommandSettings;

/// Run the subcommand.
pub fn run(command: &CommandSettings, ctx: &Context) -> Result<()> {
    match command {
        CommandSettings::Login(s) => login::run(s, ctx),
        CommandSettings::Token(s) => token::run(s, ctx),
        CommandSettings::Exec(s) => exec::run(s, ctx),
        CommandSettings::Status(s) => status::run(s, ctx),
        CommandSettings::Logout(s) => logout::run(s, ctx),
        CommandSettings::Profiles(s) => profiles::run(s, ctx),
        CommandSettings::GitCredential(s) => git_credential::run(s, ctx),
        CommandSettings::CargoCredential(s) => cargo_credential::run(s, ctx),
    }
}

#[cfg(test)]
#[path = "commands_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "provider_tests.rs"]
mod provider_tests;

#[cfg(test)]
#[path = "tool_tests.rs"]
mod tool_tests;
