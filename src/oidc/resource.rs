//! Starting from an API: RFC 9728 OAuth 2.0 Protected
//! Resource Metadata. An API that wants a token answers 401 with
//! `WWW-Authenticate: Bearer resource_metadata="…"`, or publishes its metadata
//! at the well-known URL with its path inserted (§3.1); the metadata names the
//! authorization servers that issue tokens for it. Its `resource` must be the
//! URL asked about (§3.3), every server an https URL (loopback excepted).
//!
//! `vmauth login API_URL` (`commands::resource_login`) uses
//! [`discover_resource`] and [`choose_server`], then `oidc::registration`.

use serde::Deserialize;
use url::Url;

use super::ProtocolError;
use super::http::{Http, parse_reply, require_secure, strip_query};

/// RFC 9728 §3: the well-known suffix.
pub const WELL_KNOWN: &str = "/.well-known/oauth-protected-resource";

/// The most authorization servers one resource may name.
pub const MAX_SERVERS: usize = 16;

/// One challenge of a `WWW-Authenticate` header (RFC 9110 §11.6.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    /// The auth scheme (`Bearer`, `DPoP`, …) as sent.
    pub scheme: String,
    /// Its auth-params, names lower-cased, quoted strings unescaped.
    pub params: Vec<(String, String)>,
}

/// The challenges of a `WWW-Authenticate` value: `scheme [token68 | param,
/// …]`, several separated by commas. Malformed parts end the parse; what was
/// read before is kept.
pub fn challenges(header: &str) -> Vec<Challenge> {
    let b = header.as_bytes();
    let mut i = 0;
    let mut out: Vec<Challenge> = Vec::new();
    let is_tchar = |c: u8| c.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&c);
    let skip_ws = |i: &mut usize| {
        while *i < b.len() && (b[*i] == b' ' || b[*i] == b'\t') {
            *i += 1;
        }
    };
    let token = |i: &mut usize| {
        let start = *i;
        while *i < b.len() && is_tchar(b[*i]) {
            *i += 1;
        }
        &header[start..*i]
    };
    loop {
        // Commas and spaces between list elements.
        while i < b.len() && (b[i] == b',' || b[i] == b' ' || b[i] == b'\t') {
            i += 1;
        }
        if i >= b.len() {
            return out;
        }
        let save = i;
        let name = token(&mut i);
        if name.is_empty() {
            return out;
        }
        skip_ws(&mut i);
        if i < b.len() && b[i] == b'=' && !out.is_empty() {
            // `name=value`: a parameter of the current challenge.
            i += 1;
            skip_ws(&mut i);
            let value = if i < b.len() && b[i] == b'"' {
                i += 1;
                let mut v = String::new();
                let mut closed = false;
                while i < b.len() {
                    match b[i] {
                        // A quoted-pair escapes a visible character or a
                        // space only (RFC 9110 §5.6.4): never a control.
                        b'\\' if i + 1 < b.len() && (0x20..0x7f).contains(&b[i + 1]) => {
                            v.push(b[i + 1] as char);
                            i += 2;
                        }
                        b'"' => {
                            i += 1;
                            closed = true;
                            break;
                        }
                        c if c >= 0x20 && c != 0x7f && c.is_ascii() => {
                            v.push(c as char);
                            i += 1;
                        }
                        _ => return out,
                    }
                }
                if !closed {
                    return out;
                }
                v
            } else {
                let t = token(&mut i);
                if t.is_empty() {
                    return out;
                }
                t.to_string()
            };
            if let Some(last) = out.last_mut() {
                last.params.push((name.to_ascii_lowercase(), value));
            }
            continue;
        }
        // A new challenge: `name` is its scheme. A token68 after it is
        // passed over (no scheme vmauth reads uses one).
        i = save + name.len();
        out.push(Challenge {
            scheme: name.to_string(),
            params: Vec::new(),
        });
        skip_ws(&mut i);
        let start = i;
        while i < b.len() && (is_tchar(b[i]) || b"/".contains(&b[i])) {
            i += 1;
        }
        // token68 ends with `=` padding and is not followed by a `=` param value.
        let mut j = i;
        while j < b.len() && b[j] == b'=' {
            j += 1;
        }
        let after = header[j..].trim_start();
        if i > start && (after.is_empty() || after.starts_with(',')) && j > i {
            i = j;
        } else {
            i = start;
        }
    }
}

/// The `resource_metadata` URL of a `WWW-Authenticate` value (RFC 9728 §5.1):
/// the Bearer challenge's, else any challenge's.
pub fn resource_metadata_url(header: &str) -> Option<String> {
    let all = challenges(header);
    let find = |c: &Challenge| {
        c.params
            .iter()
            .find(|(k, _)| k == "resource_metadata")
            .map(|(_, v)| v.clone())
    };
    all.iter()
        .filter(|c| c.scheme.eq_ignore_ascii_case("bearer"))
        .find_map(find)
        .or_else(|| all.iter().find_map(find))
        .filter(|v| !v.is_empty())
}

/// RFC 9728 §3.1: the metadata URL of `resource`, the well-known suffix
/// inserted between the host and the path (`https://api.example.com/v1` →
/// `https://api.example.com/.well-known/oauth-protected-resource/v1`); the
/// query is kept, a terminating `/` of the path is not.
pub fn well_known_url(resource: &Url) -> Url {
    let mut url = resource.clone();
    let path = resource.path().trim_end_matches('/');
    url.set_path(&format!("{WELL_KNOWN}{path}"));
    url.set_fragment(None);
    url
}

/// A resource's metadata (RFC 9728 §2); other members are ignored.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct ResourceMetadata {
    /// The resource identifier: must equal the URL asked about (§3.3).
    pub resource: String,
    /// The issuers whose tokens it takes.
    #[serde(default)]
    pub authorization_servers: Vec<String>,
    /// The scopes it knows.
    #[serde(default)]
    pub scopes_supported: Vec<String>,
    /// How it takes a token (`header`, `body`, `query`).
    #[serde(default)]
    pub bearer_methods_supported: Vec<String>,
    /// A name for people.
    #[serde(default)]
    pub resource_name: Option<String>,
}

/// §3.3 and vmauth's rules: `resource` is the URL asked about, character for
/// character (a trailing `/` aside); one to [`MAX_SERVERS`] authorization
/// servers, each an https URL (http on loopback) without query or fragment.
pub fn check(meta: &ResourceMetadata, resource: &str, url: &str) -> Result<(), ProtocolError> {
    let local = Url::parse(resource).is_ok_and(|u| super::http::is_loopback(&u));
    let bad = |what: String| ProtocolError::BadResponse {
        url: strip_query(url),
        what,
    };
    if !same_url(&meta.resource, resource) {
        return Err(ProtocolError::Config(format!(
            "the metadata at {} is for the resource {:?}, not {resource} (RFC 9728 §3.3); it was not used",
            strip_query(url),
            crate::error::from_server(&meta.resource, 80)
        )));
    }
    if meta.authorization_servers.is_empty() {
        return Err(bad("no authorization_servers".into()));
    }
    if meta.authorization_servers.len() > MAX_SERVERS {
        return Err(bad(format!(
            "more than {MAX_SERVERS} authorization_servers"
        )));
    }
    for s in &meta.authorization_servers {
        // Shown to the user as it is: printable, without spaces.
        if !s.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(bad("an authorization server that is no plain URL".into()));
        }
        let u = require_secure(s, "authorization server")?;
        // A remote API never sends vmauth to this machine's own ports.
        if !local && u.scheme() == "http" {
            return Err(bad(format!(
                "an http authorization server ({:?}) for an API that is not on this machine",
                crate::error::from_server(s, 80)
            )));
        }
        if u.query().is_some() || u.fragment().is_some() {
            return Err(bad(format!(
                "an authorization server with a query or fragment ({:?})",
                crate::error::from_server(s, 80)
            )));
        }
    }
    Ok(())
}

/// What [`discover_resource`] found.
#[derive(Debug, Clone)]
pub struct Discovered {
    /// The checked metadata.
    pub meta: ResourceMetadata,
    /// Where it was read (from the API's challenge, or the well-known URL).
    pub url: String,
}

/// Fetch and check the metadata of `resource`: ask the API without a token;
/// a 401 whose challenge names `resource_metadata` says where the metadata
/// is, else it is at the well-known URL ([`well_known_url`]).
pub async fn discover_resource(http: &Http, resource: &str) -> Result<Discovered, ProtocolError> {
    let parsed = require_secure(resource, "resource")?;
    let probe = http.get(resource).await?;
    let named = (probe.status == 401)
        .then(|| {
            probe
                .www_authenticate
                .as_deref()
                .and_then(resource_metadata_url)
        })
        .flatten();
    let url = match named {
        Some(u) => {
            let parsed_u = require_secure(&u, "resource_metadata")?;
            if parsed_u.scheme() == "http" && !super::http::is_loopback(&parsed) {
                return Err(ProtocolError::Config(format!(
                    "{resource} names its metadata at an http address on this machine; vmauth does not follow a remote API there"
                )));
            }
            u
        }
        None => well_known_url(&parsed).to_string(),
    };
    let reply = http.get(&url).await?;
    let meta: ResourceMetadata = parse_reply(&reply, &url)?;
    check(&meta, resource, &url)?;
    Ok(Discovered { meta, url })
}

/// Which authorization server to sign in with: the one `preferred` names (a
/// profile's choice; refused when the API does not name it); else the only
/// one; else `Err` with the list, for the caller to ask or to refuse with.
pub fn choose_server<'a>(
    meta: &'a ResourceMetadata,
    preferred: Option<&str>,
) -> Result<&'a str, Vec<&'a str>> {
    match (meta.authorization_servers.as_slice(), preferred) {
        // A server the user chose must be one the API names, even its only one.
        ([only], None) => Ok(only),
        (all, Some(p)) => all
            .iter()
            .find(|s| same_url(s, p))
            .map(String::as_str)
            .ok_or_else(|| all.iter().map(String::as_str).collect()),
        (all, None) => Err(all.iter().map(String::as_str).collect()),
    }
}

/// Two URLs that differ at most by a trailing slash (as RFC 9728 §3.3 and
/// issuer comparisons allow).
fn same_url(a: &str, b: &str) -> bool {
    a.trim_end_matches('/') == b.trim_end_matches('/')
}

#[cfg(test)]
#[path = "resource_tests.rs"]
mod tests;
