//! The CI platforms a `--federated-token` SOURCE names, with the variables
//! each reads (the job's identity, the request token's location), resolved
//! from the spec and an [`Env`] alone.

use std::path::{Path, PathBuf};

use super::Env;
use crate::secret::Secret;

/// An environment variable's name as shells write them: a letter or `_`, then
/// letters, digits and `_`.
fn is_variable_name(s: &str) -> bool {
    let mut bytes = s.bytes();
    bytes
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
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
    if let Some(a) = arg {
        // What follows the colon is named in later messages: a token pasted
        // there (`env:$TOKEN`) is refused here, without being echoed.
        if crate::federated::check_token(a.trim(), i64::MIN).is_ok() {
            return Err(format!(
                "--federated-token {name}: takes where the token comes from, and what follows {name}: is a token itself (a token in an argument shows in ps); use env:VAR, file:PATH or {FEDERATED_SOURCES}"
            ));
        }
        if matches!(name, "env" | "gitlab") && !a.is_empty() && !is_variable_name(a) {
            return Err(format!(
                "--federated-token {name}: takes the name of an environment variable (letters, digits and _), and what follows {name}: is not one"
            ));
        }
    }
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
