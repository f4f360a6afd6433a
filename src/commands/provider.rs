//! One conversation with an identity provider: the HTTP client, the issuer's
//! metadata, and the client's request (id, authentication, audience, resources,
//! scopes), set up once per command and used by login, refresh, client
//! credentials and logout.

use std::time::Duration;

use crate::credential::{ClientSettings, LoginId};
use crate::error::{Error, Result};
use crate::oidc::discovery::{Metadata, discover};
use crate::oidc::grant::ClientRequest;
use crate::oidc::http::{Http, Timeouts};

use super::Context;
use super::client_source::Source;

/// A provider session.
pub(crate) struct Provider {
    /// The HTTP client, with the command's timeouts.
    pub http: Http,
    /// The issuer's metadata, checked.
    pub meta: Metadata,
    /// Who the client is and what it asks for.
    pub client: ClientRequest,
    /// How a confidential client authenticated (to store with the login).
    pub client_settings: Option<ClientSettings>,
}

/// What to ask for.
#[derive(Default)]
pub(crate) struct Ask<'a> {
    /// Scopes.
    pub scopes: &'a [String],
    /// RFC 8707 resources.
    pub resources: &'a [String],
    /// Client authentication, for a confidential client.
    pub auth: Option<&'a Source>,
}

/// The HTTP client with vmauth's timeouts: `total` per request, connecting at
/// most 10 s of it.
pub(crate) fn http(total: Duration) -> Result<Http> {
    Http::new(Timeouts {
        connect: total.min(Duration::from_secs(10)),
        total,
    })
    .map_err(Error::from)
}

impl Provider {
    /// Discover `id.issuer` and build the client's request.
    pub async fn open(
        ctx: &Context,
        id: &LoginId,
        ask: Ask<'_>,
        timeout: Duration,
    ) -> Result<Provider> {
        let http = http(timeout)?;
        let meta = discover(&http, &id.issuer).await?;
        let mut client = ClientRequest {
            client_id: id.client_id.clone(),
            scopes: ask.scopes.to_vec(),
            audience: id.audience.clone(),
            resources: ask.resources.to_vec(),
            ..Default::default()
        };
        let mut client_settings = None;
        if let Some(src) = ask.auth {
            let (auth, method) = src.resolve(ctx, &meta)?;
            client.auth = auth;
            client.assertion_audience = src.assertion_audience(&meta);
            client_settings = Some(src.settings(method));
        }
        Ok(Provider {
            http,
            meta,
            client,
            client_settings,
        })
    }

    /// The token endpoint (checked present and secure by discovery).
    pub fn token_endpoint(&self) -> &str {
        self.meta.token_endpoint()
    }
}
