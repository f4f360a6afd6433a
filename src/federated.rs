//! Where a CI platform's own OIDC token comes from (secretless CI,
//! `--federated-token SOURCE`): GitHub Actions, GitLab, Azure Pipelines,
//! CircleCI, Buildkite, Kubernetes, Google Cloud, or a file, variable or
//! program. The settings layer resolves the source and captures the
//! environment it needs ([`Source`]); [`Source::fetch`] gets a fresh token for
//! each token request (platform tokens live minutes) and never stores it.
//!
//! Each platform's answer is untrusted input with a parser of its own
//! ([`parse_answer`], fuzzed) and the token is checked to be a JWT that has not
//! expired ([`check_token`]) before it goes anywhere.

use std::path::PathBuf;
use std::time::Duration;

use crate::error::{Error, Kind, Result};
use crate::oidc::http::Http;
use crate::secret::Secret;

/// Where a projected Kubernetes service-account token is looked for when no
/// path is given and no workload-identity variable names one.
pub const KUBERNETES_TOKEN: &str = "/var/run/secrets/tokens/vmauth-token";

/// The longest a platform CLI or `exec:` program may take.
const PROGRAM_TIMEOUT: Duration = Duration::from_secs(60);

/// The most of a token read from anywhere (a JWT is a few KiB).
const MAX_TOKEN: usize = 64 * 1024;

/// A platform token source, resolved: what to read, with the values of the
/// platform's variables (absent ones are reported when a token is needed, so a
/// cached token is served without them).
#[derive(Debug, Clone)]
pub struct Source {
    /// As written (`github`, `file:/run/token`, …): stored with the login so a
    /// later `vmauth token` can get the next token the same way.
    pub spec: String,
    /// What it reads.
    pub kind: SourceKind,
    /// `auto` chose this source (the caller says which, when it is used).
    pub detected: bool,
    /// The CI job this process runs in, from the platform's own variables
    /// (GitHub's run, attempt and job; GitLab's, Azure's, CircleCI's or
    /// Buildkite's job id): a token got for one job is never served to another
    /// job sharing the same home directory.
    pub job: Option<String>,
}

/// The kinds of source.
#[derive(Debug, Clone)]
pub enum SourceKind {
    /// GitHub Actions (and Forgejo/Gitea Actions): `ACTIONS_ID_TOKEN_REQUEST_URL`
    /// and `ACTIONS_ID_TOKEN_REQUEST_TOKEN`.
    Github {
        /// The request URL.
        url: Option<String>,
        /// The request token.
        token: Option<Secret>,
    },
    /// GitLab: the variable an `id_tokens:` entry of the job names.
    Gitlab {
        /// The variable (chosen or the only `*_ID_TOKEN` one).
        var: Result<String, String>,
        /// Its value.
        token: Option<Secret>,
    },
    /// Azure Pipelines: `SYSTEM_OIDCREQUESTURI` and `SYSTEM_ACCESSTOKEN`.
    AzurePipelines {
        /// The OIDC request URI.
        uri: Option<String>,
        /// The job's access token.
        token: Option<Secret>,
        /// The service connection.
        connection: Option<String>,
    },
    /// CircleCI: `CIRCLE_OIDC_TOKEN_V2`, or the `circleci` CLI for another audience.
    CircleCi {
        /// `CIRCLE_OIDC_TOKEN_V2`.
        token: Option<Secret>,
    },
    /// Buildkite: `buildkite-agent oidc request-token`.
    Buildkite,
    /// Google Cloud's metadata server (`GCE_METADATA_HOST`, else the documented host).
    Gcp {
        /// `host[:port]`.
        host: String,
    },
    /// A file re-read on every use (`file:`, and Kubernetes' projected token).
    File {
        /// The file.
        path: PathBuf,
        /// Which platform this is, for messages.
        platform: &'static str,
    },
    /// An environment variable (`env:`).
    Env {
        /// The variable.
        var: String,
        /// Its value.
        token: Option<Secret>,
    },
    /// A program run without a shell; its standard output is the token.
    Exec {
        /// Program and arguments.
        argv: Vec<String>,
    },
}

impl Source {
    /// The secrets this source sends to get a token (the job's request
    /// token), to be kept out of every message.
    pub fn request_secrets(&self) -> Vec<&Secret> {
        match &self.kind {
            SourceKind::Github { token, .. } | SourceKind::AzurePipelines { token, .. } => {
                token.iter().collect()
            }
            _ => Vec::new(),
        }
    }

    /// The platform's name in messages.
    pub fn platform(&self) -> &'static str {
        match &self.kind {
            SourceKind::Github { .. } => "GitHub Actions",
            SourceKind::Gitlab { .. } => "GitLab CI",
            SourceKind::AzurePipelines { .. } => "Azure Pipelines",
            SourceKind::CircleCi { .. } => "CircleCI",
            SourceKind::Buildkite => "Buildkite",
            SourceKind::Gcp { .. } => "the Google Cloud metadata server",
            SourceKind::File { platform, .. } => platform,
            SourceKind::Env { .. } => "the environment",
            SourceKind::Exec { .. } => "the token program",
        }
    }

    /// A fresh token for `audience` (the `aud` asked of the platform, where it
    /// can be asked). `warn` hears what the user should know (an audience the
    /// platform fixes itself). The token is checked
    /// ([`check_token`]) against `now`.
    pub async fn fetch(
        &self,
        audience: Option<&str>,
        http: &Http,
        now: i64,
        warn: &dyn Fn(&str),
    ) -> Result<Secret> {
        let fixed = |why: &str| {
            if audience.is_some() {
                warn(&format!("--federated-audience is not used: {why}"));
            }
        };
        let raw = match &self.kind {
            SourceKind::Github { url, token } => {
                let (Some(url), Some(token)) = (url, token) else {
                    return Err(Error::usage(
                        "GitHub Actions did not give this job an OIDC token request (ACTIONS_ID_TOKEN_REQUEST_URL and ACTIONS_ID_TOKEN_REQUEST_TOKEN are unset); add `permissions: id-token: write` to the workflow or job",
                    ));
                };
                let mut url = secure(url, "ACTIONS_ID_TOKEN_REQUEST_URL")?;
                if let Some(aud) = audience {
                    let kept: Vec<(String, String)> = url
                        .query_pairs()
                        .filter(|(k, _)| k != "audience")
                        .map(|(k, v)| (k.into_owned(), v.into_owned()))
                        .collect();
                    url.query_pairs_mut()
                        .clear()
                        .extend_pairs(kept)
                        .append_pair("audience", aud);
                }
                let header = Secret::new(format!("bearer {}", token.expose()));
                self.call(
                    http,
                    false,
                    url.as_str(),
                    &[("authorization", &header)],
                    "value",
                )
                .await?
            }
            SourceKind::AzurePipelines {
                uri,
                token,
                connection,
            } => {
                fixed("Azure Pipelines issues its tokens for api://AzureADTokenExchange");
                let (Some(uri), Some(token)) = (uri, token) else {
                    return Err(Error::usage(
                        "Azure Pipelines did not give this job an OIDC request URI and access token (SYSTEM_OIDCREQUESTURI, SYSTEM_ACCESSTOKEN); map SYSTEM_ACCESSTOKEN into the step's env: `env: SYSTEM_ACCESSTOKEN: $(System.AccessToken)`",
                    ));
                };
                let Some(connection) = connection else {
                    return Err(Error::usage(
                        "--federated-token azure-pipelines needs the service connection: azure-pipelines:SERVICE_CONNECTION_ID (or AZURESUBSCRIPTION_SERVICE_CONNECTION_ID, which the AzureCLI task sets)",
                    ));
                };
                let mut url = secure(uri, "SYSTEM_OIDCREQUESTURI")?;
                url.query_pairs_mut()
                    .append_pair("api-version", "7.1")
                    .append_pair("serviceConnectionId", connection);
                let header = Secret::new(format!("Bearer {}", token.expose()));
                // As Azure's own SDKs ask: JSON, and no sign-in redirect for a
                // token that is not valid (a 401 instead).
                let (json, suppress) = (
                    Secret::new("application/json".to_string()),
                    Secret::new("Suppress".to_string()),
                );
                let headers = [
                    ("authorization", &header),
                    ("content-type", &json),
                    ("x-tfs-fedauthredirect", &suppress),
                ];
                self.call(http, true, url.as_str(), &headers, "oidcToken")
                    .await?
            }
            SourceKind::Gcp { host } => {
                let Some(aud) = audience else {
                    return Err(Error::usage(
                        "--federated-token gcp needs --federated-audience AUD: the metadata server issues identity tokens only for a named audience",
                    ));
                };
                let mut url = url::Url::parse(&format!(
                    "http://{host}/computeMetadata/v1/instance/service-accounts/default/identity"
                ))
                .map_err(|_| {
                    Error::usage(format!(
                        "GCE_METADATA_HOST {:?} is not a host[:port]",
                        crate::error::from_server(host, 80)
                    ))
                })?;
                if !crate::oidc::http::is_loopback(&url)
                    && !crate::oidc::http::is_metadata_host(&url)
                {
                    return Err(Error::usage(format!(
                        "GCE_METADATA_HOST {host} is neither the metadata server (metadata.google.internal, 169.254.169.254) nor loopback; vmauth sends no identity request elsewhere over http"
                    )));
                }
                url.query_pairs_mut()
                    .append_pair("audience", aud)
                    .append_pair("format", "full");
                let flavor = Secret::new("Google".to_string());
                self.call(
                    http,
                    false,
                    url.as_str(),
                    &[("metadata-flavor", &flavor)],
                    "",
                )
                .await?
            }
            SourceKind::Gitlab { var, token } => {
                fixed("GitLab fixes the audience in .gitlab-ci.yml (id_tokens: NAME: aud: …)");
                let var = var.as_ref().map_err(|e| Error::usage(e.clone()))?;
                match token {
                    Some(t) => t.expose().to_string(),
                    None => {
                        return Err(Error::usage(format!(
                            "GitLab gave this job no {var}; declare it in .gitlab-ci.yml: `id_tokens: {var}: aud: <audience>` (CI_JOB_JWT was removed in GitLab 17.0)"
                        )));
                    }
                }
            }
            SourceKind::CircleCi { token } => match (audience, token) {
                (None, Some(t)) => t.expose().to_string(),
                (None, None) => {
                    return Err(Error::usage(
                        "CircleCI gave this job no CIRCLE_OIDC_TOKEN_V2; OIDC tokens need a CircleCI context or project with OpenID Connect enabled",
                    ));
                }
                (Some(aud), _) => {
                    let claims = serde_json::json!({ "aud": aud }).to_string();
                    self.run(
                        &["circleci", "run", "oidc", "get", "--claims", &claims],
                        None,
                    )
                    .await?
                }
            },
            SourceKind::Buildkite => {
                let mut argv = vec!["buildkite-agent", "oidc", "request-token"];
                if let Some(aud) = audience {
                    argv.extend(["--audience", aud]);
                }
                self.run(&argv, None).await?
            }
            SourceKind::File { path, platform } => {
                fixed(&format!(
                    "{platform} fixes the audience of the token in the file"
                ));
                read_token_file(path, platform)?
            }
            SourceKind::Env { var, token } => {
                fixed("the token in the variable is already issued");
                match token {
                    Some(t) => t.expose().to_string(),
                    None => {
                        return Err(Error::usage(format!(
                            "--federated-token env:{var}: {var} is unset or empty"
                        )));
                    }
                }
            }
            SourceKind::Exec { argv } => {
                let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
                self.run(&argv, audience).await?
            }
        };
        let token = raw.trim().to_string();
        check_token(&token, now)
            .map_err(|why| Error::usage(format!("the token from {} {why}", self.platform())))?;
        Ok(Secret::new(token))
    }

    /// One request to the platform's token endpoint (GitHub and Azure: tried
    /// again twice, after 1 and 2 seconds, when it answers 502, 503 or 504, as
    /// GitHub's own toolkit does); `field` names the JSON member that holds
    /// the token (empty: the body is the token).
    async fn call(
        &self,
        http: &Http,
        post: bool,
        url: &str,
        headers: &[(&'static str, &Secret)],
        field: &str,
    ) -> Result<String> {
        let platform = self.platform();
        let retries = match self.kind {
            SourceKind::Github { .. } | SourceKind::AzurePipelines { .. } => 2,
            _ => 0,
        };
        let mut attempt = 0;
        let reply = loop {
            let reply = http
                .call_with_headers(post, url, headers)
                .await
                .map_err(|e| {
                    Error::from(e).context(format!("cannot get an OIDC token from {platform}"))
                })?;
            if attempt < retries && matches!(reply.status, 502..=504) {
                attempt += 1;
                tokio::time::sleep(Duration::from_secs(attempt)).await;
                continue;
            }
            break reply;
        };
        let refused = |status: String| {
            let hint = match &self.kind {
                SourceKind::Github { .. } => {
                    "check that the job has `permissions: id-token: write` and that ACTIONS_ID_TOKEN_REQUEST_TOKEN is the job's own"
                }
                SourceKind::AzurePipelines { .. } => {
                    "check SYSTEM_ACCESSTOKEN (env: SYSTEM_ACCESSTOKEN: $(System.AccessToken)) and that the service connection uses workload identity federation"
                }
                SourceKind::Gcp { .. } => {
                    "check the audience and that this machine has a service account"
                }
                _ => "check that this job or machine may ask for identity tokens",
            };
            Error::usage(format!(
                "{platform} refused the OIDC token request ({status}); {hint}"
            ))
        };
        let html = reply
            .content_type
            .to_ascii_lowercase()
            .starts_with("text/html");
        match reply.status {
            // A sign-in page (Azure without the suppress header, a proxy's
            // portal) is a refusal, not a token.
            200 if html && !field.is_empty() => Err(refused("it answered with a web page".into())),
            200 => parse_answer(&reply.body, field).map_err(|why| {
                Error::idp(format!(
                    "{platform} answered the OIDC token request with {why}"
                ))
            }),
            s @ (203 | 300..=399 | 400..=499) => Err(refused(format!("HTTP {s}"))),
            s => Err(Error::idp(format!(
                "{platform} could not issue an OIDC token (HTTP {s}); try again later"
            ))),
        }
    }

    /// Run a platform CLI or the `exec:` program (no shell; stdin empty; its
    /// stderr is the user's), with a deadline; stdout is the token. The
    /// `exec:` program is told the audience asked for in
    /// `VMAUTH_FEDERATED_AUDIENCE`.
    async fn run(&self, argv: &[&str], audience: Option<&str>) -> Result<String> {
        let platform = self.platform();
        let (program, args) = argv.split_first().ok_or_else(|| {
            Error::usage("--federated-token exec: names no program; use exec:/path/to/program ARGS")
        })?;
        use crate::program::{Call, Failure};
        let mut command = std::process::Command::new(program);
        command.args(args);
        if let Some(aud) = audience {
            command.env("VMAUTH_FEDERATED_AUDIENCE", aud);
        }
        let call = Call {
            input: None,
            capture_stderr: false,
            max_output: MAX_TOKEN as u64,
            timeout: PROGRAM_TIMEOUT,
        };
        let answer = crate::program::run(command, call).map_err(|f| match f {
            Failure::Spawn(e) => {
                let hint = if e.kind() == std::io::ErrorKind::NotFound {
                    match &self.kind {
                        SourceKind::CircleCi { .. } => "the circleci CLI is not on PATH; install it, or drop --federated-audience to use CIRCLE_OIDC_TOKEN_V2".to_string(),
                        SourceKind::Buildkite => "buildkite-agent is not on PATH; run vmauth in a Buildkite job step".to_string(),
                        _ => format!("{program} is not on PATH"),
                    }
                } else {
                    format!("cannot run {program}")
                };
                Error::with_cause(
                    Kind::Usage,
                    format!("cannot get an OIDC token from {platform}: {hint}"),
                    e,
                )
            }
            Failure::TooMuch => Error::idp(format!(
                "{program} printed more than {} KiB, which is no token ({platform})",
                MAX_TOKEN / 1024
            )),
            Failure::Read(e) => {
                Error::with_cause(Kind::Idp, format!("{program} failed ({platform})"), e)
            }
            Failure::Timeout => Error::idp(format!(
                "{program} gave no token within {} s ({platform})",
                PROGRAM_TIMEOUT.as_secs()
            )),
            Failure::NoExit => Error::idp(format!(
                "{program} did not exit within {} s ({platform})",
                PROGRAM_TIMEOUT.as_secs()
            )),
        })?;
        if !answer.status.success() {
            return Err(Error::idp(format!(
                "{program} failed ({}), so {platform} gave no token; see its message above",
                answer.status
            )));
        }
        let out = answer.stdout;
        String::from_utf8(out)
            .map_err(|_| Error::idp(format!("{program} printed something that is not text")))
    }
}

fn secure(value: &str, what: &str) -> Result<url::Url> {
    crate::oidc::http::require_secure(value, what).map_err(Error::from)
}

fn read_token_file(path: &std::path::Path, platform: &str) -> Result<String> {
    // The token says who the job is: one another user could have written is
    // not used (fsutil's rule for every file vmauth trusts).
    let bytes = crate::fsutil::read_placed(path, MAX_TOKEN as u64).map_err(|e| {
        Error::usage(format!(
            "cannot use the token ({platform}): {}",
            e.message()
        ))
    })?;
    String::from_utf8(bytes).map_err(|_| {
        Error::usage(format!(
            "{} holds no text, so no token ({platform})",
            path.display()
        ))
    })
}

/// The token in a platform's answer: the string member `field` of a JSON
/// object, or (empty `field`) the whole body as text. Never quotes the body.
pub fn parse_answer(body: &[u8], field: &str) -> std::result::Result<String, String> {
    if body.len() > MAX_TOKEN {
        return Err(format!("more than {} KiB", MAX_TOKEN / 1024));
    }
    if field.is_empty() {
        return std::str::from_utf8(body)
            .map(|s| s.trim().to_string())
            .map_err(|_| "a body that is not text".to_string());
    }
    let value: serde_json::Value =
        serde_json::from_slice(body).map_err(|_| "a body that is not JSON".to_string())?;
    match value.get(field) {
        Some(serde_json::Value::String(s)) => Ok(s.clone()),
        Some(_) => Err(format!("a {field:?} that is not a string")),
        None => Err(format!("no {field:?} in its JSON")),
    }
}

/// Whether `token` can be sent as a platform token at `now`: a compact JWS of
/// three base64url parts, at most 64 KiB, whose `exp` (when readable) is in
/// the future. The reason when not (a phrase after "the token from X").
pub fn check_token(token: &str, now: i64) -> std::result::Result<(), String> {
    if token.is_empty() {
        return Err("is empty".into());
    }
    if token.len() > MAX_TOKEN {
        return Err("is too long to be a JWT".into());
    }
    let parts: Vec<&str> = token.split('.').collect();
    if parts.len() != 3
        || parts[..2].iter().any(|p| p.is_empty())
        || !token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
    {
        return Err("is not a JWT (three base64url parts)".into());
    }
    if let Some(exp) = crate::jwt::expiry(token)
        && exp <= now
    {
        return Err(format!(
            "expired {} s ago; platform tokens live minutes: get a fresh one for each request (a built-in source does)",
            now.saturating_sub(exp)
        ));
    }
    Ok(())
}

#[cfg(test)]
#[path = "federated_tests.rs"]
mod tests;
