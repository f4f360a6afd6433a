//! `vmauth token`: print a valid token on stdout, refreshing it first when less
//! than the refresh margin is left. Select → acquire → present.

use crate::error::{Error, Result};
use crate::settings::{AcquireSettings, TokenSettings};

use super::acquire::{Want, acquire};
use super::{Context, output};

/// Run `vmauth token`.
pub(crate) fn run(s: &TokenSettings, ctx: &Context) -> Result<()> {
    let credential = acquire_for(&s.acquire, ctx)?;
    let text = output::render(
        s.output,
        &credential,
        s.acquire.token,
        ctx.clock.now_unix(),
        s.acquire.min_ttl,
        s.exec_info.as_deref(),
    )?;
    ctx.io.out(text.as_bytes())
}

/// Select (the named login, else the current one) and acquire a valid
/// credential: what `token` and `exec` share.
pub(crate) fn acquire_for(
    s: &AcquireSettings,
    ctx: &Context,
) -> Result<crate::credential::Credential> {
    if let Some(x) = &s.exchange {
        // The subject: the login selected without --audience (else the current one).
        let Some(subject) = ctx.selected_key(&x.subject) else {
            return Err(ctx.not_logged_in(None, "not logged in, so there is no token to exchange"));
        };
        let from = crate::credential::LoginId::from_key(&subject);
        let key =
            crate::credential::LoginId::new(&from.issuer, &from.client_id, Some(&x.audience))?
                .cache_key();
        if key == subject {
            return Err(Error::usage(format!(
                "the login already has audience {}; --exchange --audience names another one",
                x.audience
            )));
        }
        return acquire(
            ctx,
            &Want {
                exchange_from: Some(&subject),
                ..Want::of(s, &key)
            },
        );
    }
    if s.login.is_none()
        && !s.client.client_credentials
        && let [resource] = s.request.resources.as_slice()
    {
        // `--resource URL` alone: the login started from that API (the
        // current one if it is; one other; several: the user chooses).
        let mut found: Vec<String> = ctx
            .store()?
            .list()?
            .into_iter()
            .filter(|(k, c)| {
                crate::credential::LoginId::from_key(k).audience.as_deref()
                    == Some(resource.as_str())
                    && c.resource == [resource.clone()]
                    && c.exchanged_from.is_none()
            })
            .map(|(k, _)| k)
            .collect();
        let current = ctx.state.get().filter(|c| found.contains(c));
        let key = match (current, found.len()) {
            (Some(c), _) => c,
            (None, 1) => found.remove(0),
            (None, 0) => {
                return Err(ctx.not_logged_in(
                    None,
                    &format!("no login for {resource}; run vmauth login {resource}"),
                ));
            }
            (None, _) => {
                return Err(Error::usage(format!(
                    "several logins are for {resource} ({}); choose one with --issuer and --client-id, or log out of the others",
                    found.join(", ")
                )));
            }
        };
        let none = crate::settings::Request::default();
        return acquire(
            ctx,
            &Want {
                request: &none,
                ..Want::of(s, &key)
            },
        );
    }
    let Some(key) = ctx.selected_key(&s.login) else {
        return Err(if s.client.client_credentials {
            Error::usage(
                "client credentials need --issuer URL and --client-id ID (or VMAUTH_ISSUER and VMAUTH_CLIENT_ID)",
            )
        } else {
            ctx.not_logged_in(None, "not logged in")
        });
    };
    acquire(ctx, &Want::of(s, &key))
}
