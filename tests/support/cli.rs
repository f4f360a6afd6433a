//! Running the real `vmauth` binary in an isolated home: its own credentials file
//! and config directory, no inherited VMAUTH_* / VM_OIDC_* / proxy variables.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

pub struct Home {
    pub dir: tempfile::TempDir,
}

impl Home {
    pub fn new() -> Home {
        Home {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    pub fn credentials(&self) -> PathBuf {
        self.dir.path().join("validmind/credentials.json")
    }

    pub fn config_dir(&self) -> PathBuf {
        self.dir.path().join("config")
    }

    /// Write `text` as config.toml (0600 in a 0700 config directory).
    pub fn write_config(&self, text: &str) {
        use std::os::unix::fs::PermissionsExt;
        std::fs::create_dir_all(self.config_dir()).unwrap();
        std::fs::set_permissions(self.config_dir(), std::fs::Permissions::from_mode(0o700))
            .unwrap();
        let config = self.config_dir().join("config.toml");
        std::fs::write(&config, text).unwrap();
        std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o600)).unwrap();
    }

    /// A `vmauth` command with a clean environment pointing at this home.
    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_vmauth"));
        c.args(args);
        for (k, _) in std::env::vars() {
            if k.starts_with("VMAUTH_")
                || k.starts_with("VM_OIDC_")
                || k.to_ascii_lowercase().ends_with("_proxy")
                || k == "NO_COLOR"
                // Whether a browser can be opened: never the developer's.
                || [
                    "DISPLAY",
                    "WAYLAND_DISPLAY",
                    "BROWSER",
                    "SSH_CONNECTION",
                    "SSH_TTY",
                    "WSL_DISTRO_NAME",
                ]
                .contains(&k.as_str())
                // The CI platform this test may run on is not the one a test sets up.
                || [
                    "GITHUB_ACTIONS",
                    "GITLAB_CI",
                    "TF_BUILD",
                    "CIRCLECI",
                    "BUILDKITE",
                    "ACTIONS_ID_TOKEN_REQUEST_URL",
                    "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
                    "SYSTEM_OIDCREQUESTURI",
                    "SYSTEM_ACCESSTOKEN",
                    "CIRCLE_OIDC_TOKEN_V2",
                    "GCE_METADATA_HOST",
                    "AZURE_FEDERATED_TOKEN_FILE",
                    "AWS_WEB_IDENTITY_TOKEN_FILE",
                    "KUBERNETES_SERVICE_HOST",
                ]
                .contains(&k.as_str())
                || k.ends_with("_ID_TOKEN")
            {
                c.env_remove(&k);
            }
        }
        c.env("VMAUTH_CREDENTIALS_FILE", self.credentials())
            .env("VMAUTH_CONFIG_DIR", self.config_dir())
            .env("HOME", self.dir.path())
            // The file store unless a test asks for another (no keychain probing).
            .env("VMAUTH_STORE", "file")
            .stdin(Stdio::null());
        c
    }

    /// Run to completion.
    pub fn run(&self, args: &[&str]) -> Run {
        Run::from(self.cmd(args).output().expect("run vmauth"))
    }

    pub fn read_credentials(&self) -> serde_json::Value {
        serde_json::from_slice(&std::fs::read(self.credentials()).expect("credentials file"))
            .expect("credentials JSON")
    }
}

#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl From<Output> for Run {
    fn from(o: Output) -> Run {
        Run {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
}

impl Run {
    /// Assert the exit code, showing the output when it differs.
    pub fn expect_code(&self, code: i32) -> &Run {
        // stdout may hold a token: tests never print tokens, only its size.
        assert_eq!(
            self.code,
            code,
            "exit code\n--- stdout: {} bytes (not shown)\n--- stderr\n{}",
            self.stdout.len(),
            self.stderr
        );
        self
    }

    /// stderr is exactly one `vmauth: error:` line containing `needle`.
    pub fn expect_error(&self, needle: &str) -> &Run {
        let lines: Vec<&str> = self.stderr.lines().collect();
        assert_eq!(lines.len(), 1, "one line on stderr: {:?}", self.stderr);
        assert!(lines[0].starts_with("vmauth: error: "), "{:?}", lines[0]);
        assert!(
            lines[0].contains(needle),
            "{:?} does not contain {needle:?}",
            lines[0]
        );
        self
    }
}

pub fn mode(p: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

/// `token --client-credentials --issuer ISSUER --client-id CLIENT`, to extend.
pub fn cc_args<'a>(issuer: &'a str, client: &'a str) -> Vec<&'a str> {
    vec![
        "token",
        "--client-credentials",
        "--issuer",
        issuer,
        "--client-id",
        client,
    ]
}
