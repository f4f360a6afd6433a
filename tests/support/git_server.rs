//! A git server on loopback for the credential-helper tests: the real
//! `git http-backend` (CGI) behind a small HTTP front that lets a request
//! through only with a token the test IdP says is active (introspection), sent
//! as `Authorization: Bearer <token>` or, in Basic mode, as the password of
//! HTTP Basic; otherwise 401 with the matching `WWW-Authenticate`.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};

use base64::Engine;

/// How the server wants the token.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Scheme {
    /// `Authorization: Bearer <token>`.
    Bearer,
    /// HTTP Basic, the token as the password.
    Basic,
}

pub struct GitServer {
    /// `http://127.0.0.1:PORT`.
    pub origin: String,
    /// What each request carried: `Bearer`, `Basic user`, or `none`; and the answer's status.
    pub seen: Arc<Mutex<Vec<(String, u16)>>>,
    /// Tokens refused whatever the IdP says (as a server that wants another audience would).
    refused: Arc<Mutex<Vec<String>>>,
    _root: tempfile::TempDir,
}

impl GitServer {
    /// Serve a bare repository `repo.git` with one commit, checking tokens with `issuer`.
    pub fn start(issuer: &str, scheme: Scheme) -> GitServer {
        let root = tempfile::tempdir().unwrap();
        make_repo(root.path());
        let listener = TcpListener::bind(("127.0.0.1", 0)).unwrap();
        let origin = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let refused = Arc::new(Mutex::new(Vec::new()));
        let (s, r, i, f) = (
            seen.clone(),
            root.path().to_path_buf(),
            issuer.to_string(),
            refused.clone(),
        );
        std::thread::spawn(move || {
            for conn in listener.incoming().flatten() {
                let (s, r, i, f) = (s.clone(), r.clone(), i.clone(), f.clone());
                std::thread::spawn(move || serve(conn, &r, &i, scheme, &s, &f));
            }
        });
        GitServer {
            origin,
            seen,
            refused,
            _root: root,
        }
    }

    pub fn url(&self) -> String {
        format!("{}/repo.git", self.origin)
    }

    /// Refuse `token` from now on.
    pub fn refuse(&self, token: &str) {
        self.refused.lock().unwrap().push(token.to_string());
    }

    pub fn seen(&self) -> Vec<(String, u16)> {
        self.seen.lock().unwrap().clone()
    }
}

fn git(dir: &Path, args: &[&str]) {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@example.test")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.test")
        .output()
        .expect("run git");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn make_repo(root: &Path) {
    let work = root.join("work");
    std::fs::create_dir(&work).unwrap();
    git(&work, &["init", "-q", "-b", "main"]);
    std::fs::write(work.join("README"), "hello from the test server\n").unwrap();
    git(&work, &["add", "README"]);
    git(&work, &["commit", "-q", "-m", "first"]);
    git(root, &["clone", "-q", "--bare", "work", "repo.git"]);
}

fn serve(
    mut conn: TcpStream,
    root: &Path,
    issuer: &str,
    scheme: Scheme,
    seen: &Mutex<Vec<(String, u16)>>,
    refused: &Mutex<Vec<String>>,
) {
    let mut reader = BufReader::new(conn.try_clone().unwrap());
    let mut line = String::new();
    if reader.read_line(&mut line).unwrap_or(0) == 0 {
        return;
    }
    let mut parts = line.split_whitespace();
    let (method, target) = (
        parts.next().unwrap_or("").to_string(),
        parts.next().unwrap_or("").to_string(),
    );
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).unwrap_or(0) == 0 || h.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = h.trim_end().split_once(':') {
            headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
        }
    }
    let header = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let len: usize = header("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; len];
    reader.read_exact(&mut body).unwrap();
    let (what, token) = match header("authorization") {
        Some(a) if a.starts_with("Bearer ") => ("Bearer".to_string(), Some(a[7..].to_string())),
        Some(a) if a.starts_with("Basic ") => {
            let pair = base64::engine::general_purpose::STANDARD
                .decode(&a[6..])
                .unwrap_or_default();
            let pair = String::from_utf8_lossy(&pair).to_string();
            let (user, pass) = pair.split_once(':').unwrap_or(("", ""));
            (format!("Basic {user}"), Some(pass.to_string()))
        }
        _ => ("none".to_string(), None),
    };
    let right_scheme = match scheme {
        Scheme::Bearer => what == "Bearer",
        Scheme::Basic => what.starts_with("Basic"),
    };
    let refused_now = token
        .as_ref()
        .is_some_and(|t| refused.lock().unwrap().contains(t));
    if !right_scheme || refused_now || !token.is_some_and(|t| super::idp::active(issuer, &t)) {
        seen.lock().unwrap().push((what, 401));
        let challenge = match scheme {
            Scheme::Bearer => "Bearer realm=\"git\"",
            Scheme::Basic => "Basic realm=\"git\"",
        };
        let _ = write!(
            conn,
            "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: {challenge}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        );
        return;
    }
    let (path, query) = target.split_once('?').unwrap_or((&target, ""));
    let mut cgi = Command::new("git")
        .arg("http-backend")
        .env("GIT_PROJECT_ROOT", root)
        .env("GIT_HTTP_EXPORT_ALL", "1")
        .env("REQUEST_METHOD", &method)
        .env("PATH_INFO", path)
        .env("QUERY_STRING", query)
        .env("CONTENT_TYPE", header("content-type").unwrap_or_default())
        .env("CONTENT_LENGTH", len.to_string())
        .env(
            "HTTP_CONTENT_ENCODING",
            header("content-encoding").unwrap_or_default(),
        )
        .env("GIT_PROTOCOL", header("git-protocol").unwrap_or_default())
        .env("REMOTE_USER", "alice")
        .env("REMOTE_ADDR", "127.0.0.1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("run git http-backend");
    cgi.stdin.take().unwrap().write_all(&body).unwrap();
    let mut out = Vec::new();
    cgi.stdout.take().unwrap().read_to_end(&mut out).unwrap();
    let _ = cgi.wait();
    let split = out
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| (i, 4))
        .or_else(|| out.windows(2).position(|w| w == b"\n\n").map(|i| (i, 2)))
        .unwrap_or((out.len(), 0));
    let head = String::from_utf8_lossy(&out[..split.0]).to_string();
    let rest = &out[(split.0 + split.1).min(out.len())..];
    let mut status = "200 OK".to_string();
    let mut lines = Vec::new();
    for l in head.lines() {
        match l.split_once(':') {
            Some((k, v)) if k.eq_ignore_ascii_case("status") => status = v.trim().to_string(),
            Some(_) => lines.push(l.to_string()),
            None => {}
        }
    }
    let code: u16 = status
        .split_whitespace()
        .next()
        .and_then(|c| c.parse().ok())
        .unwrap_or(500);
    seen.lock().unwrap().push((what, code));
    let _ = write!(conn, "HTTP/1.1 {status}\r\n");
    for l in lines {
        let _ = write!(conn, "{l}\r\n");
    }
    let _ = write!(
        conn,
        "Content-Length: {}\r\nConnection: close\r\n\r\n",
        rest.len()
    );
    let _ = conn.write_all(rest);
}

/// `git` for the tests: no system or global configuration, no prompts, the
/// helper `!VMAUTH git-credential` (with `helper_args` before the subcommand)
/// for the server's origin, and `env` (the test home's vmauth variables).
pub fn git_with_helper(
    dir: &Path,
    origin: &str,
    helper_args: &str,
    env: &[(std::ffi::OsString, Option<std::ffi::OsString>)],
    args: &[&str],
) -> std::process::Output {
    let vmauth = env!("CARGO_BIN_EXE_vmauth");
    let mut cmd = Command::new("git");
    cmd.arg("-c")
        .arg(format!(
            "credential.{origin}.helper=!'{vmauth}' {helper_args} git-credential"
        ))
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_TERMINAL_PROMPT", "0")
        .env_remove("GIT_ASKPASS")
        .env_remove("SSH_ASKPASS")
        .stdin(Stdio::null());
    for (k, v) in env {
        match v {
            Some(v) => cmd.env(k, v),
            None => cmd.env_remove(k),
        };
    }
    cmd.output().expect("run git")
}
