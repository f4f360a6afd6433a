//! The settings of a CI job's grant: `--grant`, `--federated-token` (the
//! platform sources, with the variables each reads), `--federated-audience`,
//! `--actor-token`, `--subject-token-type` and `--param`.

use std::path::{Path, PathBuf};

use clap::ValueEnum;

use super::{Env, Federated, Vars, vars};
use crate::cli::{ClientAuthArgs, GrantChoice, SubjectTokenChoice};
use crate::credential::MachineGrant;
use crate::error::{Error, Result};
use crate::oidc::exchange::TokenType;
use crate::secret::Secret;

/// `--grant` / `--client-credentials`, `VMAUTH_GRANT`, the login's profile:
/// the grant, and whether it is a CI job's (not a person's device login).
/// `None`: not said (a federated token then makes it a CI job's).
pub(super) fn grant(args: &ClientAuthArgs, vars: &Vars) -> Result<(MachineGrant, Option<bool>)> {
    if let Some(g) = args.grant {
        return Ok((g.into(), Some(true)));
    }
    if args.client_credentials {
        return Ok((MachineGrant::ClientCredentials, Some(true)));
    }
    let (value, source) = match vars.get(vars::GRANT) {
        Some(v) => (v, vars::GRANT.name.to_string()),
        None => match vars.login_profile(|p| p.grant.clone()) {
            Some((v, name)) => (v, format!("grant of profile {name:?}")),
            None => return Ok((MachineGrant::ClientCredentials, None)),
        },
    };
    match value.trim() {
        "device_code" => Ok((MachineGrant::ClientCredentials, Some(false))),
        v => match GrantChoice::from_str(v, false) {
            Ok(g) => Ok((g.into(), Some(true))),
            Err(_) => Err(Error::usage(format!(
                "{source}={v:?} is not a grant vmauth knows; use client_credentials, jwt-bearer, token-exchange or device_code"
            ))),
        },
    }
}

/// `--federated-token` (`VMAUTH_FEDERATED_TOKEN`, profile `federated_token`)
/// with its audience, actor token and token type.
pub(super) fn federated(args: &ClientAuthArgs, vars: &Vars) -> Result<Option<Federated>> {
    let spec = args
        .federated_token
        .clone()
        .or_else(|| vars.get(vars::FEDERATED_TOKEN))
        .or_else(|| {
            vars.login_profile(|p| p.federated_token.clone())
                .map(|(v, _)| v)
        });
    // The variables that go with a source are read only when there is one
    // (every cached `vmauth token` resolves this).
    let with_source = spec.is_some();
    let audience = args
        .federated_audience
        .clone()
        .or_else(|| {
            with_source
                .then(|| vars.get(vars::FEDERATED_AUDIENCE))
                .flatten()
        })
        .or_else(|| {
            vars.login_profile(|p| p.federated_audience.clone())
                .map(|(v, _)| v)
        })
        .filter(|a| !a.trim().is_empty());
    let actor = args
        .actor_token
        .clone()
        .or_else(|| with_source.then(|| vars.get(vars::ACTOR_TOKEN)).flatten())
        .or_else(|| {
            vars.login_profile(|p| p.actor_token.clone())
                .map(|(v, _)| v)
        });
    let subject_type = match args.subject_token_type {
        Some(SubjectTokenChoice::Jwt) => Some(TokenType::Jwt),
        Some(SubjectTokenChoice::IdToken) => Some(TokenType::IdToken),
        Some(SubjectTokenChoice::AccessToken) => Some(TokenType::AccessToken),
        None => match vars.login_profile(|p| p.subject_token_type.clone()) {
            Some((v, name)) => Some(TokenType::parse(&v).ok_or_else(|| {
                Error::usage(format!(
                    "{}: profile {name:?}: subject_token_type {v:?} is not jwt, id_token or access_token",
                    vars.config.display()
                ))
            })?),
            None => None,
        },
    };
    let Some(spec) = spec.filter(|s| !s.trim().is_empty()) else {
        if actor.is_some() || audience.is_some() || subject_type.is_some() {
            return Err(Error::usage(
                "--federated-audience, --actor-token and --subject-token-type go with --federated-token SOURCE",
            ));
        }
        return Ok(None);
    };
    Ok(Some(Federated {
        source: federated_source(&spec, vars.env).map_err(Error::usage)?,
        audience,
        actor: actor
            .map(|a| federated_source(&a, vars.env))
            .transpose()
            .map_err(|e| Error::usage(format!("--actor-token: {e}")))?,
        subject_type: subject_type.unwrap_or(TokenType::Jwt),
    }))
}

/// The sources `--federated-token` takes, for messages.
const FEDERATED_SOURCES: &str = "auto, github, gitlab[:VAR], azure-pipelines[:CONNECTION], circleci, buildkite, kubernetes[:PATH], gcp, file:PATH, env:VAR or exec:COMMAND";

/// Resolve a `--federated-token` SOURCE, capturing the platform's variables
/// (their absence is reported when a token is needed).
pub fn federated_source(
    spec: &str,
    env: &dyn Env,
) -> std::result::Result<crate::federated::Source, String> {
    use crate::federated::{KUBERNETES_TOKEN, Source, SourceKind};
    let spec = spec.trim();
    let var = |n: &str| env.var(n).filter(|v| !v.trim().is_empty());
    let secret = |n: &str| var(n).map(|v| Secret::new(v.trim().to_string()));
    let (name, arg) = match spec.split_once(':') {
        Some((n, a)) => (n, Some(a)),
        None => (spec, None),
    };
    let needs = |what: &str| format!("--federated-token {name}: needs {name}:{what}");
    let kind = match (name, arg) {
        ("auto", None) => {
            let is = |n: &str| var(n).is_some_and(|v| v.eq_ignore_ascii_case("true"));
            let detected = if is("GITHUB_ACTIONS") {
                "github"
            } else if is("GITLAB_CI") {
                "gitlab"
            } else if is("TF_BUILD") {
                "azure-pipelines"
            } else if is("CIRCLECI") {
                "circleci"
            } else if is("BUILDKITE") {
                "buildkite"
            } else if var("AZURE_FEDERATED_TOKEN_FILE").is_some()
                || var("AWS_WEB_IDENTITY_TOKEN_FILE").is_some()
                || (var("KUBERNETES_SERVICE_HOST").is_some()
                    && Path::new(KUBERNETES_TOKEN).is_file())
            {
                "kubernetes"
            } else {
                return Err(format!(
                    "--federated-token auto found no CI platform (looked for GITHUB_ACTIONS, GITLAB_CI, TF_BUILD, CIRCLECI, BUILDKITE, and a Kubernetes token: AZURE_FEDERATED_TOKEN_FILE, AWS_WEB_IDENTITY_TOKEN_FILE, {KUBERNETES_TOKEN}); name the source: {FEDERATED_SOURCES}"
                ));
            };
            let mut source = federated_source(detected, env)?;
            source.detected = true;
            return Ok(source);
        }
        ("github", None) => SourceKind::Github {
            url: var("ACTIONS_ID_TOKEN_REQUEST_URL"),
            token: secret("ACTIONS_ID_TOKEN_REQUEST_TOKEN"),
        },
        ("gitlab", arg) => {
            let chosen = match arg.filter(|a| !a.is_empty()) {
                Some(v) => Ok(v.to_string()),
                None => {
                    let mut found: Vec<String> = env
                        .names()
                        .into_iter()
                        .filter(|n| n.ends_with("_ID_TOKEN") && var(n).is_some())
                        .collect();
                    found.sort();
                    match found.len() {
                        1 => Ok(found.remove(0)),
                        0 => Err("GitLab gave this job no *_ID_TOKEN variable; declare one in .gitlab-ci.yml (`id_tokens: VMAUTH_ID_TOKEN: aud: <audience>`) or name it: --federated-token gitlab:VAR".to_string()),
                        _ => Err(format!(
                            "this job has several ID tokens ({}); name one: --federated-token gitlab:VAR",
                            found.join(", ")
                        )),
                    }
                }
            };
            let token = chosen.as_ref().ok().and_then(|v| secret(v));
            SourceKind::Gitlab { var: chosen, token }
        }
        ("azure-pipelines", arg) => SourceKind::AzurePipelines {
            uri: var("SYSTEM_OIDCREQUESTURI"),
            token: secret("SYSTEM_ACCESSTOKEN"),
            connection: arg
                .filter(|a| !a.is_empty())
                .map(str::to_string)
                .or_else(|| var("AZURESUBSCRIPTION_SERVICE_CONNECTION_ID")),
        },
        ("circleci", None) => SourceKind::CircleCi {
            token: secret("CIRCLE_OIDC_TOKEN_V2"),
        },
        ("buildkite", None) => SourceKind::Buildkite,
        ("kubernetes", arg) => SourceKind::File {
            path: arg
                .filter(|a| !a.is_empty())
                .map(PathBuf::from)
                .or_else(|| var("AZURE_FEDERATED_TOKEN_FILE").map(PathBuf::from))
                .or_else(|| var("AWS_WEB_IDENTITY_TOKEN_FILE").map(PathBuf::from))
                .unwrap_or_else(|| PathBuf::from(KUBERNETES_TOKEN)),
            platform: "Kubernetes",
        },
        ("gcp", None) => SourceKind::Gcp {
            host: var("GCE_METADATA_HOST")
                .unwrap_or_else(|| "metadata.google.internal".to_string()),
        },
        ("file", Some(path)) if !path.is_empty() => SourceKind::File {
            path: PathBuf::from(path),
            platform: "the token file",
        },
        ("env", Some(v)) if !v.is_empty() => SourceKind::Env {
            var: v.to_string(),
            token: secret(v),
        },
        ("exec", Some(command)) if !command.trim().is_empty() => SourceKind::Exec {
            argv: command.split_whitespace().map(str::to_string).collect(),
        },
        ("file", _) => return Err(needs("PATH")),
        ("env", _) => return Err(needs("VAR")),
        ("exec", _) => return Err(needs("COMMAND")),
        _ if crate::federated::check_token(spec, i64::MIN).is_ok() => {
            // Never echoed: it is a token.
            return Err(format!(
                "--federated-token takes where the token comes from, not the token itself (a token in an argument shows in ps); use env:VAR, file:PATH or {FEDERATED_SOURCES}"
            ));
        }
        _ => {
            // Only a name is echoed: what else was given may be a secret
            // pasted in the wrong place.
            let shown = if !name.is_empty()
                && name.len() <= 20
                && name.bytes().all(|b| b.is_ascii_lowercase() || b == b'-')
            {
                format!("{name:?} is not a source vmauth knows")
            } else {
                "takes a source, and what was given is none".to_string()
            };
            return Err(format!(
                "--federated-token {shown}; use {FEDERATED_SOURCES}"
            ));
        }
    };
    let job = [
        (
            "github",
            ["GITHUB_RUN_ID", "GITHUB_RUN_ATTEMPT", "GITHUB_JOB"].as_slice(),
        ),
        ("gitlab", &["CI_JOB_ID"]),
        ("azure-pipelines", &["SYSTEM_JOBID"]),
        ("circleci", &["CIRCLE_WORKFLOW_JOB_ID"]),
        ("buildkite", &["BUILDKITE_JOB_ID"]),
    ]
    .iter()
    .find(|(platform, _)| *platform == name)
    .map(|(platform, vars)| {
        let ids: Vec<String> = vars.iter().map(|v| var(v).unwrap_or_default()).collect();
        format!("{platform}:{}", ids.join(":"))
    });
    Ok(Source {
        spec: spec.to_string(),
        kind,
        detected: false,
        job,
    })
}

/// `--param KEY=VALUE` (all of them), else the profile's `params` table.
pub(super) fn params(args: &ClientAuthArgs, vars: &Vars) -> Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    if args.params.is_empty() {
        if let Some((table, name)) = vars.login_profile(|p| p.params.clone()) {
            for (k, v) in table {
                crate::oidc::exchange::check_param(&k).map_err(|e| {
                    Error::usage(format!(
                        "{}: profile {name:?}: params: {e}",
                        vars.config.display()
                    ))
                })?;
                out.push((k, v));
            }
        }
        return Ok(out);
    }
    for p in &args.params {
        let Some((k, v)) = p.split_once('=') else {
            return Err(Error::usage(format!(
                "--param {:?} is not KEY=VALUE",
                crate::error::from_server(p, 60)
            )));
        };
        crate::oidc::exchange::check_param(k).map_err(|e| Error::usage(format!("--param: {e}")))?;
        out.push((k.to_string(), v.to_string()));
    }
    Ok(out)
}
