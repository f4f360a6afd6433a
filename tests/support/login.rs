//! Driving `vmauth login` against the test IdP: start it, read the verification
//! URL from its stderr, approve through the IdP's pages, collect the result.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::Value;

use super::cli::{Home, Run};
use super::idp::Idp;

pub const CLIENT: &str = "vmauth-cli";
pub const API: &str = "https://api.example.test";

/// A `vmauth login` in progress: the child and its stderr, line by line.
pub struct PendingLogin {
    child: Child,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl PendingLogin {
    pub fn start(home: &Home, idp: &Idp, extra: &[&str]) -> PendingLogin {
        let args = login_args(idp, extra);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        Self::spawn(home.cmd(&args))
    }

    /// Run under `umask 000`, to show vmauth does not rely on the umask.
    pub fn start_with_umask_000(home: &Home, idp: &Idp) -> PendingLogin {
        let mut args = vec![
            "-c".to_string(),
            "umask 000 && exec \"$0\" \"$@\"".to_string(),
            env!("CARGO_BIN_EXE_vmauth").to_string(),
        ];
        args.extend(login_args(idp, &[]).iter().map(|s| s.to_string()));
        let mut cmd = home.cmd(&[]);
        let mut sh = std::process::Command::new("sh");
        sh.args(&args);
        for (k, v) in cmd.get_envs() {
            match v {
                Some(v) => sh.env(k, v),
                None => sh.env_remove(k),
            };
        }
        let _ = cmd.stdin(Stdio::null());
        sh.stdin(Stdio::null());
        Self::spawn(sh)
    }

    pub fn spawn(mut cmd: std::process::Command) -> PendingLogin {
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn vmauth login");
        let stderr = child.stderr.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        PendingLogin {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The verification URL vmauth printed (verification_uri_complete).
    pub fn verification_url(&mut self) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut next_is_url = false;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = self
                .lines
                .recv_timeout(left)
                .unwrap_or_else(|_| panic!("no verification URL on stderr: {:?}", self.seen));
            self.seen.push(line.clone());
            if next_is_url {
                return line.trim().to_string();
            }
            next_is_url = line.contains("open this page in a browser");
        }
    }

    /// Wait for vmauth to exit (it has its own deadline; this one only guards the test).
    pub fn finish(mut self) -> Run {
        let deadline = Instant::now() + Duration::from_secs(60);
        let status = loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                break s;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("vmauth login did not finish: {:?}", self.seen);
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let mut stdout = String::new();
        std::io::Read::read_to_string(self.child.stdout.as_mut().unwrap(), &mut stdout).unwrap();
        // The reader thread ends at EOF; collect what it has.
        while let Ok(l) = self.lines.recv_timeout(Duration::from_secs(5)) {
            self.seen.push(l);
        }
        Run {
            code: status.code().unwrap_or(-1),
            stdout,
            stderr: self.seen.join("\n"),
        }
    }
}

pub fn login_args(idp: &Idp, extra: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = ["login", "--issuer", &idp.issuer, "--client-id", CLIENT]
        .iter()
        .map(|s| s.to_string())
        .collect();
    v.extend(extra.iter().map(|s| s.to_string()));
    v
}

/// Log in and approve as alice; returns the login's output.
pub fn login(home: &Home, idp: &Idp, extra: &[&str]) -> Run {
    let mut p = PendingLogin::start(home, idp, extra);
    let url = p.verification_url();
    idp.approve(&url);
    p.finish()
}

/// Make the stored access token of `key` expired, as time would (file store).
/// Written in the ValidMind library's offset style, which vmauth must read.
pub fn expire_in_file(home: &Home, key: &str) {
    let mut doc = home.read_credentials();
    doc["credentials"][key]["expires_at"] = Value::from("2000-01-01T00:00:00+00:00");
    std::fs::write(home.credentials(), serde_json::to_vec(&doc).unwrap()).unwrap();
}

pub fn stored(home: &Home, key: &str) -> Value {
    home.read_credentials()["credentials"][key].clone()
}

pub fn introspect(idp: &Idp, token: &str) -> Value {
    idp.post_form(
        "/token/introspection",
        &[("client_id", CLIENT), ("token", token)],
    )
    .json()
}

pub fn jwt_payload(token: &str) -> Value {
    let part = token.split('.').nth(1).expect("a JWT");
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(part)
            .unwrap(),
    )
    .unwrap()
}

pub fn assert_no_secret(text: &str, secrets: &[&str]) {
    for s in secrets.iter().filter(|s| s.len() > 8) {
        assert!(!text.contains(s), "a token leaked into: {text}");
    }
}
