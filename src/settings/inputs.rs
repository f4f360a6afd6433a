//! Resolving one input each: the login (issuer, client id, audience from one
//! source), what to ask for, how the client authenticates, and the refresh
//! margin. Each takes its flags and the layered [`Vars`] reader.

use std::path::PathBuf;

use super::DEFAULT_MIN_TTL;
use super::env::{EnvVar, Vars, vars};
use super::types::{ClientInput, Request};
use crate::cli::{
    AssertionAudienceChoice, ClientAuthArgs, ClientAuthChoice, RequestArgs, Selector,
    parse_duration_secs,
};
use crate::credential::{LoginId, normalize, parse_scopes};
use crate::error::{Error, Result};
use crate::oidc::client_auth::{AssertionAudience, Method};
use crate::profiles::Profile;
use crate::secret::Secret;

/// Issuer, client id and audience, all three from the first source that names
/// an issuer or a client id: the flags; a profile named by --profile; the
/// `VMAUTH_*` variables; the `VM_OIDC_*` variables; the profile named by
/// `VMAUTH_PROFILE` (else the default profile); the default profile.
pub(super) fn login_id(sel: &Selector, vars: &Vars) -> Result<Option<LoginId>> {
    let flag = |v: &Option<String>| v.clone().filter(|s| !s.trim().is_empty());
    let from_profile = |p: Option<(&str, &Profile)>| {
        p.map(|(name, p)| {
            (
                format!("issuer of profile {name:?}"),
                format!("client_id of profile {name:?}"),
                p.issuer.clone(),
                p.client_id.clone(),
                p.audience.clone(),
            )
        })
    };
    let env_source = |i: EnvVar, c: EnvVar, a: EnvVar| {
        Some((
            i.name.to_string(),
            c.name.to_string(),
            vars.get(i),
            vars.get(c),
            vars.get(a),
        ))
    };
    let named = from_profile(vars.named);
    let sources = [
        Some((
            "--issuer".to_string(),
            "--client-id".to_string(),
            flag(&sel.issuer),
            flag(&sel.client_id),
            flag(&sel.audience),
        )),
        if vars.named_by_flag {
            named.clone()
        } else {
            None
        },
        env_source(vars::ISSUER, vars::CLIENT_ID, vars::AUDIENCE),
        env_source(vars::VM_ISSUER, vars::VM_CLIENT_ID, vars::VM_AUDIENCE),
        if vars.named_by_flag { None } else { named },
        from_profile(vars.default),
    ];
    if flag(&sel.audience).is_some()
        && flag(&sel.issuer).is_none()
        && flag(&sel.client_id).is_none()
    {
        return Err(Error::usage(
            "--audience was given without --issuer and --client-id; give all of them (issuer, client id and audience are taken together)",
        ));
    }
    for (issuer_name, client_name, issuer, client, audience) in sources.into_iter().flatten() {
        match (issuer, client) {
            (None, None) => continue,
            (Some(i), Some(c)) => return LoginId::new(&i, &c, audience.as_deref()).map(Some),
            (Some(_), None) => {
                return Err(Error::usage(format!(
                    "{issuer_name} was given without {client_name}; give both (or neither, for the current login)"
                )));
            }
            (None, Some(_)) => {
                return Err(Error::usage(format!(
                    "{client_name} was given without {issuer_name}; give both (or neither, for the current login)"
                )));
            }
        }
    }
    Ok(None)
}

pub(super) fn request(args: &RequestArgs, vars: &Vars) -> Result<Request> {
    let explicit_scope = args
        .scope
        .clone()
        .filter(|s| !s.trim().is_empty())
        .or_else(|| vars.get(vars::SCOPE));
    // A profile's scope and resources are what its logins ask for, not a choice
    // of a particular client-credentials token (which --scope/--resource make).
    let scope = explicit_scope
        .clone()
        .or_else(|| vars.get(vars::VM_SCOPE))
        .or_else(|| vars.login_profile(|p| p.scope.clone()).map(|(s, _)| s));
    let given: Vec<String> = if args.resource.is_empty() {
        vars.login_profile(|p| p.resource.clone())
            .map(|(r, _)| r)
            .unwrap_or_default()
    } else {
        args.resource.clone()
    };
    let mut resources = Vec::new();
    for r in given.iter().map(|r| normalize(r)) {
        if r.is_empty() {
            continue;
        }
        if url::Url::parse(&r).is_err() {
            return Err(Error::usage(format!(
                "--resource {r:?} is not an absolute URI (RFC 8707); use e.g. https://api.example.com"
            )));
        }
        resources.push(r);
    }
    Ok(Request {
        scopes: scope.as_deref().map(parse_scopes),
        explicit: explicit_scope.is_some() || !args.resource.is_empty(),
        resources,
    })
}

pub(super) fn client_input(args: &ClientAuthArgs, vars: &Vars) -> Result<ClientInput> {
    if args.client_secret.is_some() {
        return Err(Error::usage(
            "--client-secret is not accepted: secrets on the command line leak into ps and shell history; set VMAUTH_CLIENT_SECRET, or use --client-secret-file PATH or --client-secret-stdin",
        ));
    }
    let grant = vars
        .get(vars::GRANT)
        .or_else(|| vars.login_profile(|p| p.grant.clone()).map(|(g, _)| g));
    let client_credentials = args.client_credentials
        || match grant.as_deref().map(str::trim) {
            None | Some("device_code") => false,
            Some("client_credentials") => true,
            Some(other) => {
                return Err(Error::usage(format!(
                    "VMAUTH_GRANT={other:?} is not a grant vmauth knows; use client_credentials or device_code"
                )));
            }
        };
    let method = match args.client_auth {
        Some(m) => Some(m),
        None => vars.choice_or_login_profile::<ClientAuthChoice>(
            vars::CLIENT_AUTH,
            "client_auth",
            |p| p.client_auth.clone(),
        )?,
    };
    let assertion_audience = match args.assertion_audience {
        Some(a) => Some(a),
        None => vars.choice_or_login_profile::<AssertionAudienceChoice>(
            vars::ASSERTION_AUDIENCE,
            "assertion_audience",
            |p| p.assertion_audience.clone(),
        )?,
    };
    let profile_path = |f: fn(&Profile) -> Option<PathBuf>| vars.login_profile(f).map(|(p, _)| p);
    let secret_stdin = args.client_secret_stdin;
    let secret_file = args
        .client_secret_file
        .clone()
        .or_else(|| vars.path(vars::CLIENT_SECRET_FILE))
        .or_else(|| profile_path(|p| p.client_secret_file.clone()));
    let assertion_file = args
        .client_assertion_file
        .clone()
        .or_else(|| vars.path(vars::CLIENT_ASSERTION_FILE))
        .or_else(|| profile_path(|p| p.client_assertion_file.clone()));
    let private_key = args
        .private_key
        .clone()
        .or_else(|| vars.path(vars::PRIVATE_KEY))
        .or_else(|| profile_path(|p| p.private_key.clone()));
    // The flags conflict with each other (clap says so); so do they with the
    // variables that stand for them.
    if secret_stdin && secret_file.is_some() {
        return Err(Error::usage(
            "--client-secret-stdin and a client secret file (--client-secret-file or VMAUTH_CLIENT_SECRET_FILE) were both given; use one",
        ));
    }
    if private_key.is_some() && assertion_file.is_some() {
        return Err(Error::usage(
            "a private key (--private-key or VMAUTH_PRIVATE_KEY) and a client assertion file (--client-assertion-file or VMAUTH_CLIENT_ASSERTION_FILE) were both given; use one",
        ));
    }
    Ok(ClientInput {
        client_credentials,
        method: method.map(Method::from),
        secret_file,
        secret_stdin,
        secret_env: vars
            .env
            .var(vars::CLIENT_SECRET.name)
            .filter(|v| !v.is_empty())
            .map(Secret::new),
        private_key,
        key_id: args
            .key_id
            .clone()
            .or_else(|| vars.get(vars::KEY_ID))
            .or_else(|| vars.login_profile(|p| p.key_id.clone()).map(|(k, _)| k)),
        assertion_file,
        assertion_audience: assertion_audience.map(AssertionAudience::from),
    })
}

pub(super) fn min_ttl(flag: Option<u64>, vars: &Vars) -> Result<i64> {
    let secs = match flag {
        Some(s) => s,
        None => match vars.get(vars::MIN_TTL) {
            Some(v) => {
                parse_duration_secs(&v).map_err(|e| Error::usage(format!("VMAUTH_MIN_TTL: {e}")))?
            }
            None => match vars.profile(|p| p.min_ttl.clone()) {
                Some((v, name)) => parse_duration_secs(&v).map_err(|e| {
                    Error::usage(format!(
                        "{}: profile {name:?}: min_ttl: {e}",
                        vars.config.display()
                    ))
                })?,
                None => DEFAULT_MIN_TTL,
            },
        },
    };
    Ok(i64::try_from(secs).unwrap_or(i64::MAX))
}
