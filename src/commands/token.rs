//! `vmauth token`: print a valid access token on stdout, refreshing it first when
//! less than `--min-ttl` is left. Select → acquire → print.

use crate::error::{Error, Result};
use crate::settings::TokenSettings;

use super::acquire::{Want, acquire};
use super::{Context, not_logged_in, print_token};

/// Run `vmauth token`.
pub(crate) fn run(s: &TokenSettings, ctx: &Context) -> Result<()> {
    let Some(key) = ctx.selected_key(&s.login) else {
        return Err(if s.client.client_credentials {
            Error::usage(
                "client credentials need --issuer URL and --client-id ID (or VMAUTH_ISSUER and VMAUTH_CLIENT_ID)",
            )
        } else {
            not_logged_in(None, "not logged in")
        });
    };
    let credential = acquire(
        ctx,
        &Want {
            key: &key,
            min_ttl: s.min_ttl,
            force: s.force_refresh,
            request: &s.request,
            client: &s.client,
        },
    )?;
    print_token(ctx, &credential.access_token)
}
