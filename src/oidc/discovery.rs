//! Issuer metadata: OpenID Connect Discovery, falling back to RFC 8414, with the
//! issuer mix-up check and the HTTPS policy applied to every endpoint.

use serde::Deserialize;

use super::ProtocolError;
use super::http::{Http, require_secure};
use url::Url;

/// The part of the issuer metadata vmauth uses.
#[derive(Debug, Clone, Deserialize)]
pub struct Metadata {
    /// The issuer as published (checked against the one asked for).
    pub issuer: String,
    /// The token endpoint (required).
    pub token_endpoint: Option<String>,
    /// RFC 8628 device authorization endpoint.
    #[serde(default)]
    pub device_authorization_endpoint: Option<String>,
    /// RFC 7009 revocation endpoint.
    #[serde(default)]
    pub revocation_endpoint: Option<String>,
    /// OIDC Core §5.3 userinfo endpoint.
    #[serde(default)]
    pub userinfo_endpoint: Option<String>,
    /// Where the issuer publishes its signing keys (JWKS).
    #[serde(default)]
    pub jwks_uri: Option<String>,
    /// Client authentication methods the token endpoint accepts.
    #[serde(default)]
    pub token_endpoint_auth_methods_supported: Option<Vec<String>>,
    /// RFC 6749 §3.1 authorization endpoint (the browser flow).
    #[serde(default)]
    pub authorization_endpoint: Option<String>,
    /// RFC 9126 pushed authorization request endpoint.
    #[serde(default)]
    pub pushed_authorization_request_endpoint: Option<String>,
    /// RFC 9207: the authorization response always carries `iss`.
    #[serde(default)]
    pub authorization_response_iss_parameter_supported: bool,
    /// The `prompt` values the authorization endpoint takes.
    #[serde(default)]
    pub prompt_values_supported: Option<Vec<String>>,
    /// RFC 7591 `registration_endpoint`.
    #[serde(default)]
    pub registration_endpoint: Option<String>,
    /// Client ID Metadata Documents (the client id is an https URL serving
    /// the client's metadata) are taken.
    #[serde(default)]
    pub client_id_metadata_document_supported: bool,
}

impl Metadata {
    /// The device authorization endpoint, or an error that says what to do.
    pub fn device_endpoint(&self) -> Result<&str, ProtocolError> {
        self.device_authorization_endpoint.as_deref().ok_or_else(|| {
            ProtocolError::Config(format!(
                "issuer {} does not support the device flow: its metadata names no device_authorization_endpoint, so no client setting can enable it; if the provider serves one at another address, set device_authorization_endpoint in a profile (README.md, \"Profiles\")",
                self.issuer
            ))
        })
    }
}

/// The two well-known URLs to try, in order: OIDC Discovery
/// (`{issuer}/.well-known/openid-configuration`) and RFC 8414
/// (`{origin}/.well-known/oauth-authorization-server{path}`).
pub fn well_known_urls(issuer: &str) -> Vec<String> {
    let issuer = issuer.trim_end_matches('/');
    let mut urls = vec![format!("{issuer}/.well-known/openid-configuration")];
    if let Ok(u) = url::Url::parse(issuer) {
        let origin = u.origin().ascii_serialization();
        let path = u.path().trim_end_matches('/');
        urls.push(format!(
            "{origin}/.well-known/oauth-authorization-server{path}"
        ));
    }
    urls
}

/// Metadata as fetched: checked, with the document and where it came from (to
/// cache it).
#[derive(Debug)]
pub struct Discovered {
    /// The checked metadata.
    pub meta: Metadata,
    /// The well-known URL that answered.
    pub url: String,
    /// The document as the server sent it.
    pub body: Vec<u8>,
}

/// Fetch and check the metadata of `issuer` (already normalised, no trailing slash).
pub async fn discover(http: &Http, issuer: &str) -> Result<Discovered, ProtocolError> {
    require_secure(issuer, "issuer")?;
    let urls = well_known_urls(issuer);
    let mut not_found = Vec::new();
    for url in &urls {
        let reply = http.get(url).await?;
        if (400..500).contains(&reply.status) {
            not_found.push(format!("{url} (HTTP {})", reply.status));
            continue;
        }
        let meta: Metadata = super::parse_reply(&reply, url)?;
        check(&meta, issuer)?;
        return Ok(Discovered {
            meta,
            url: url.clone(),
            body: reply.body,
        });
    }
    Err(ProtocolError::Config(format!(
        "no issuer metadata at {}; check --issuer (it must be the issuer URL, without /.well-known/…)",
        not_found.join(" or ")
    )))
}

/// Metadata of `issuer` from a cached document that `url` sent earlier,
/// checked exactly as a fetched one is (issuer match, HTTPS rules).
pub fn from_cache(issuer: &str, url: &str, body: &[u8]) -> Result<Metadata, ProtocolError> {
    require_secure(issuer, "issuer")?;
    if !well_known_urls(issuer).iter().any(|u| u == url) {
        return Err(ProtocolError::Config(format!(
            "cached metadata of {issuer} came from {url}, not one of its well-known URLs"
        )));
    }
    let reply = super::http::Reply {
        status: 200,
        content_type: "application/json".into(),
        body: body.to_vec(),
        www_authenticate: None,
        retry_after: None,
    };
    let meta: Metadata = super::parse_reply(&reply, url)?;
    check(&meta, issuer)?;
    Ok(meta)
}

/// The issuer in the document must be the one asked for (mix-up defence); every
/// endpoint must be HTTPS (or loopback) and a token endpoint must exist.
fn check(meta: &Metadata, issuer: &str) -> Result<(), ProtocolError> {
    if !issuer_matches(&meta.issuer, issuer) {
        return Err(ProtocolError::Config(format!(
            "issuer mismatch: asked for {issuer} but its metadata says {}; use the issuer URL exactly as the identity provider publishes it",
            crate::error::from_server(&meta.issuer, 200)
        )));
    }
    let token = meta.token_endpoint.as_deref().ok_or_else(|| {
        ProtocolError::Config(format!(
            "issuer {issuer} publishes no token_endpoint in its metadata"
        ))
    })?;
    require_secure(token, "token endpoint")?;
    for (what, url) in [
        (
            "device authorization endpoint",
            &meta.device_authorization_endpoint,
        ),
        ("revocation endpoint", &meta.revocation_endpoint),
        ("jwks_uri", &meta.jwks_uri),
        ("userinfo endpoint", &meta.userinfo_endpoint),
        ("authorization endpoint", &meta.authorization_endpoint),
        (
            "pushed authorization request endpoint",
            &meta.pushed_authorization_request_endpoint,
        ),
    ] {
        if let Some(u) = url {
            require_secure(u, what)?;
        }
    }
    Ok(())
}

/// Equal after dropping trailing slashes. A `{tenantid}` placeholder in the
/// published issuer (Microsoft Entra multi-tenant metadata) matches one path segment.
pub fn issuer_matches(published: &str, configured: &str) -> bool {
    let published = published.trim_end_matches('/');
    let configured = configured.trim_end_matches('/');
    if published == configured {
        return true;
    }
    if !published.contains("{tenantid}") {
        return false;
    }
    let p: Vec<&str> = published.split('/').collect();
    let c: Vec<&str> = configured.split('/').collect();
    p.len() == c.len()
        && p.iter()
            .zip(&c)
            .all(|(a, b)| a == b || (*a == "{tenantid}" && !b.is_empty() && !b.contains('{')))
}

#[cfg(test)]
#[path = "discovery_tests.rs"]
mod tests;

/// Endpoints that replace the metadata's (a profile's, for providers whose
/// metadata lacks them or has them wrong), as plain data: the same HTTPS rules
/// apply as to discovered ones, and one on another host than the issuer's only
/// when that host is trusted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EndpointOverrides {
    /// Who sets them, for messages (`profile "work"`).
    pub source: String,
    /// The profile's name, for the fix in messages (`[profiles.NAME]`).
    pub profile: String,
    /// `device_authorization_endpoint`.
    pub device_authorization: Option<String>,
    /// `token_endpoint`.
    pub token: Option<String>,
    /// `revocation_endpoint`.
    pub revocation: Option<String>,
    /// `userinfo_endpoint`.
    pub userinfo: Option<String>,
    /// Hosts other than the issuer's that these endpoints may name.
    pub trusted_hosts: Vec<String>,
}

impl EndpointOverrides {
    /// Replace `meta`'s endpoints. One on another host than `issuer`'s is
    /// refused unless its host is trusted; one that is trusted is named in the
    /// returned notices (who receives the tokens).
    pub fn apply(&self, meta: &mut Metadata, issuer: &str) -> Result<Vec<String>, ProtocolError> {
        let origin = |u: &Url| {
            (
                u.scheme().to_string(),
                u.host_str().unwrap_or("").to_ascii_lowercase(),
                u.port_or_known_default(),
            )
        };
        let issuer_origin = Url::parse(issuer).ok().map(|u| origin(&u));
        let issuer_host = issuer_origin
            .as_ref()
            .map(|o| o.1.clone())
            .unwrap_or_default();
        let mut notices = Vec::new();
        for (value, slot, what) in [
            (
                &self.device_authorization,
                &mut meta.device_authorization_endpoint,
                "device_authorization_endpoint",
            ),
            (&self.token, &mut meta.token_endpoint, "token_endpoint"),
            (
                &self.revocation,
                &mut meta.revocation_endpoint,
                "revocation_endpoint",
            ),
            (
                &self.userinfo,
                &mut meta.userinfo_endpoint,
                "userinfo_endpoint",
            ),
        ] {
            let Some(url) = value else { continue };
            let parsed = require_secure(url, &format!("profile {what}"))?;
            let o = origin(&parsed);
            if Some(&o) != issuer_origin.as_ref() {
                // Another host, or another port of the issuer's host (which
                // another user of a shared machine may own).
                let host_port = format!("{}:{}", o.1, o.2.unwrap_or(0));
                let (place, issuer_place) = if o.1 != issuer_host {
                    (o.1.clone(), format!("the issuer's host {issuer_host}"))
                } else {
                    (host_port.clone(), "the issuer's port".to_string())
                };
                let trusted = self.trusted_hosts.iter().any(|t| {
                    let t = t.trim().trim_end_matches('.');
                    t.eq_ignore_ascii_case(&place) || t.eq_ignore_ascii_case(&host_port)
                });
                if !trusted {
                    return Err(ProtocolError::Config(format!(
                        "{} sets {what} on {place}, not on {issuer_place}; tokens would go there, so it is not used. If {place} is your provider's, add trusted_endpoint_hosts = [\"{place}\"] to [profiles.{}]",
                        self.source, self.profile
                    )));
                }
                notices.push(format!(
                    "{}: the {what} is on {place}, not on {issuer_place} (trusted_endpoint_hosts); requests with tokens go there",
                    self.source
                ));
            }
            *slot = Some(url.clone());
        }
        Ok(notices)
    }
}
