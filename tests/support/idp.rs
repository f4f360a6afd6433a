//! Test harness for vmauth's own OpenID Provider (`tests/idp/server.mjs`, panva's
//! oidc-provider 9.13.3 on Node.js).
//!
//! Include it from an integration test with
//!
//! ```ignore
//! #[path = "support/idp.rs"]
//! mod idp;
//! use idp::Idp;
//!
//! let idp = Idp::start();                                   // fresh IdP on an ephemeral port
//! let idp = Idp::start_with(&[("IDP_DEVICE_CODE_TTL", "5")]); // with extra IDP_* knobs
//! idp.approve(&user_code);                                  // headless browser: approve as alice
//! assert!(idp.wait_for_log("POST /token 200 grant_type=refresh_token", Duration::from_secs(5)));
//! ```
//!
//! Every `Idp` is its own `node` process with its own in-memory state, so tests can run in
//! parallel. It is killed when the `Idp` is dropped; should the test process die without
//! dropping it, the server exits by itself when its stdin closes (`IDP_EXIT_ON_STDIN_EOF`).
//!
//! Needs `node` (>= 20.19) on PATH; a missing `node` is a panic, not a skip. On first use the
//! npm dependencies are installed with `npm ci` (from `tests/idp/package-lock.json`), serialised
//! across concurrently running test binaries by an exclusive lock on
//! `tests/idp/.npm-install.lock`.
//!
//! Nothing here sleeps to wait for something: waits are condition-variable waits or polls
//! with a deadline.
//!
//! Only std and serde_json are used.
#![allow(dead_code)]

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

/// How long `Idp::start` waits for the `IDP_READY` line.
const START_TIMEOUT: Duration = Duration::from_secs(30);
/// Read/write timeout of the small HTTP helpers.
const HTTP_TIMEOUT: Duration = Duration::from_secs(30);

/// Lines captured from one of the child's output streams, with a condition variable that is
/// notified whenever a line arrives.
#[derive(Default)]
struct Lines {
    lines: Mutex<Vec<String>>,
    changed: Condvar,
}

impl Lines {
    fn push(&self, line: String) {
        self.lines.lock().unwrap().push(line);
        self.changed.notify_all();
    }
    fn snapshot(&self) -> Vec<String> {
        self.lines.lock().unwrap().clone()
    }
}

/// A running test OpenID Provider.
pub struct Idp {
    /// e.g. `http://127.0.0.1:41234` (equals discovery's `issuer`; no trailing slash).
    pub issuer: String,
    /// The CI-platform stub's issuer (GitHub/Azure/Google contracts, `/mint`),
    /// e.g. `http://127.0.0.1:41235`.
    pub platform: String,
    child: Child,
    /// Kept open so the server's stdin stays open; closing it makes the server exit.
    _stdin: Option<ChildStdin>,
    /// Access-log lines (stdout after the ready line).
    log: Arc<Lines>,
    /// Everything the server wrote to stderr.
    stderr: Arc<Lines>,
}

/// Outcome of one `approve.mjs` run (see [`Idp::run_approve`]).
#[derive(Debug, Clone)]
pub struct ApproveRun {
    /// Exit status: 0 = requested outcome happened, 2 = usage error, 3 = flow failed.
    pub status: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl ApproveRun {
    /// The last stdout line: `approved`, `denied` or `failed: <state> <message>`.
    pub fn outcome(&self) -> &str {
        self.stdout.lines().last().unwrap_or("").trim()
    }
}

/// A response from [`Idp::get`] / [`Idp::post_form`] / [`Idp::request`].
#[derive(Debug, Clone)]
pub struct HttpResponse {
    pub status: u16,
    /// Header names are lower-cased.
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl HttpResponse {
    /// The body parsed as JSON (panics with the body when it is not JSON).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| {
            panic!(
                "response (HTTP {}) is not JSON: {e}\n{}",
                self.status, self.body
            )
        })
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// `<crate>/tests/idp`
pub fn idp_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("idp")
}

impl Idp {
    /// Starts an IdP with the default knobs (see tests/idp/README.md) on an ephemeral port.
    pub fn start() -> Idp {
        Idp::start_with(&[])
    }

    /// Starts an IdP with extra environment variables, e.g. `[("IDP_DEVICE_CODE_TTL", "5")]`.
    /// `IDP_*` variables inherited from the test's environment are not passed on.
    pub fn start_with(env: &[(&str, &str)]) -> Idp {
        ensure_node();
        ensure_npm_deps();

        let dir = idp_dir();
        let mut cmd = Command::new("node");
        cmd.arg(dir.join("server.mjs"))
            .current_dir(&dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("IDP_") {
                cmd.env_remove(key);
            }
        }
        cmd.env("IDP_PORT", "0").env("IDP_EXIT_ON_STDIN_EOF", "1");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let started = Instant::now();
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start `node tests/idp/server.mjs`: {e}"));

        let log = Arc::new(Lines::default());
        let stderr = Arc::new(Lines::default());

        // stderr: drained for the whole life of the child so the pipe never fills up
        let err_pipe = child.stderr.take().expect("piped stderr");
        let err_lines = Arc::clone(&stderr);
        let err_thread = thread::spawn(move || {
            for line in BufReader::new(err_pipe).lines() {
                let Ok(line) = line else { break };
                // shown by the test harness only when the test fails
                eprintln!("[idp stderr] {line}");
                err_lines.push(line);
            }
        });

        // stdout: the first IDP_READY line goes to the channel, everything after into `log`
        let out_pipe = child.stdout.take().expect("piped stdout");
        let out_lines = Arc::clone(&log);
        let (ready_tx, ready_rx) = mpsc::channel::<String>();
        thread::spawn(move || {
            let mut ready_tx = Some(ready_tx);
            for line in BufReader::new(out_pipe).lines() {
                let Ok(line) = line else { break };
                eprintln!("[idp] {line}");
                if let Some(tx) = &ready_tx
                    && let Some(issuer) = line.strip_prefix("IDP_READY issuer=")
                {
                    let _ = tx.send(issuer.trim().to_string());
                    ready_tx = None;
                    continue;
                }
                out_lines.push(line);
            }
        });

        let (issuer, platform) = match ready_rx.recv_timeout(START_TIMEOUT) {
            Ok(ready) => match ready.split_once(" platform=") {
                Some((i, p)) => (i.trim().to_string(), p.trim().to_string()),
                None => (ready, String::new()),
            },
            Err(e) => {
                let why = match e {
                    mpsc::RecvTimeoutError::Timeout => {
                        format!("no IDP_READY line within {START_TIMEOUT:?}")
                    }
                    mpsc::RecvTimeoutError::Disconnected => {
                        "server.mjs closed its stdout before IDP_READY".to_string()
                    }
                };
                let alive = matches!(child.try_wait(), Ok(None));
                let _ = child.kill();
                let status = child.wait();
                let why = format!(
                    "{why}; server was {} after {:?}",
                    if alive { "still running" } else { "gone" },
                    started.elapsed()
                );
                let _ = err_thread.join(); // the child is gone, so stderr reaches EOF
                panic!(
                    "test IdP failed to start: {why} (exit: {status:?})\n--- stderr ---\n{}\n--- stdout ---\n{}",
                    stderr.snapshot().join("\n"),
                    log.snapshot().join("\n"),
                );
            }
        };

        Idp {
            issuer,
            platform,
            _stdin: child.stdin.take(),
            child,
            log,
            stderr,
        }
    }

    /// A token of the CI-platform stub for `aud` and `sub`, expiring in
    /// `exp_in` seconds (negative: already expired).
    pub fn mint(&self, aud: &str, sub: &str, exp_in: i64) -> String {
        let body = serde_json::json!({"aud": aud, "sub": sub, "exp_in": exp_in}).to_string();
        let out = Command::new("curl")
            .args([
                "-sf",
                "-H",
                "content-type: application/json",
                "--data",
                &body,
            ])
            .arg(format!("{}/mint", self.platform))
            .output()
            .expect("run curl");
        assert!(out.status.success(), "mint: {out:?}");
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    }

    /// Make the platform stub's next `n` token requests answer `status`.
    pub fn platform_fail_next(&self, n: u32, status: u16) {
        let body = serde_json::json!({"fail_next": n, "status": status}).to_string();
        let out = Command::new("curl")
            .args([
                "-sf",
                "-H",
                "content-type: application/json",
                "--data",
                &body,
            ])
            .arg(format!("{}/control", self.platform))
            .output()
            .expect("run curl");
        assert!(out.status.success(), "control: {out:?}");
    }

    /// Access-log lines seen so far, e.g. `POST /token 400 grant_type=refresh_token error=invalid_grant`.
    pub fn log(&self) -> Vec<String> {
        self.log.snapshot()
    }

    /// Lines the server wrote to stderr so far.
    pub fn stderr(&self) -> Vec<String> {
        self.stderr.snapshot()
    }

    /// Number of access-log lines containing `needle`, counted once the log
    /// has caught up with every request answered so far.
    pub fn count(&self, needle: &str) -> usize {
        self.sync_log();
        self.log
            .lines
            .lock()
            .unwrap()
            .iter()
            .filter(|l| l.contains(needle))
            .count()
    }

    /// The server writes a request's log line before it answers, but this
    /// process reads the log on another thread: ask for a path of its own
    /// and wait (with a deadline) for its line, after which every earlier
    /// line has been read.
    fn sync_log(&self) {
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let marker = format!("/vmauth-test-log-sync-{}-{n}", std::process::id());
        let _ = self.get(&marker);
        assert!(
            self.wait_for_log(&format!("GET {marker} "), Duration::from_secs(10)),
            "the test IdP's access log did not show {marker}"
        );
    }

    /// Waits until some access-log line contains `needle`; false on timeout.
    pub fn wait_for_log(&self, needle: &str, timeout: Duration) -> bool {
        self.wait_for_count(needle, 1, timeout)
    }

    /// Waits until at least `n` access-log lines contain `needle`; false on timeout.
    pub fn wait_for_count(&self, needle: &str, n: usize, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let mut lines = self.log.lines.lock().unwrap();
        loop {
            if lines.iter().filter(|l| l.contains(needle)).count() >= n {
                return true;
            }
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            lines = self
                .log
                .changed
                .wait_timeout(lines, deadline - now)
                .unwrap()
                .0;
        }
    }

    /// `issuer` + `path`, e.g. `idp.url("/token")`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.issuer, path)
    }

    /// Runs `node approve.mjs --issuer <issuer> <args...>` and returns what happened.
    pub fn run_approve(&self, args: &[&str]) -> ApproveRun {
        self.run_node("approve.mjs", args)
    }

    /// Runs `node authorize.mjs --issuer <issuer> <args...>`: the headless browser of
    /// the authorization code flow (see its header for the arguments).
    pub fn run_authorize(&self, args: &[&str]) -> ApproveRun {
        self.run_node("authorize.mjs", args)
    }

    /// Runs `node tests/idp/<script> --issuer <issuer> <args...>`.
    fn run_node(&self, script: &str, args: &[&str]) -> ApproveRun {
        let dir = idp_dir();
        let out = Command::new("node")
            .arg(dir.join(script))
            .arg("--issuer")
            .arg(&self.issuer)
            .args(args)
            .current_dir(&dir)
            .env_remove("IDP_CONFIG_FILE")
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("cannot run `node tests/idp/{script}`: {e}"));
        ApproveRun {
            status: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Approves a device authorization as alice. `code_or_url` is the user_code or the
    /// verification_uri_complete. Panics with approve.mjs's output unless it printed `approved`.
    pub fn approve(&self, code_or_url: &str) {
        self.approve_as("alice", code_or_url);
    }

    /// Approves as `user` (login name or email; the password comes from config.json).
    pub fn approve_as(&self, user: &str, code_or_url: &str) {
        self.expect_approve(&["--user", user, code_or_url], "approved");
    }

    /// Denies at the device confirmation page ("Abort"). Panics unless approve.mjs printed `denied`.
    pub fn deny(&self, code_or_url: &str) {
        self.deny_at("confirm", code_or_url);
    }

    /// Denies at `stage`: `confirm` (device page "Abort"), `login` ("Cancel" on the login page)
    /// or `consent` (log in as alice, then "Deny").
    pub fn deny_at(&self, stage: &str, code_or_url: &str) {
        self.expect_approve(&["--deny-at", stage, code_or_url], "denied");
    }

    fn expect_approve(&self, args: &[&str], expected: &str) {
        let run = self.run_approve(args);
        if run.status != Some(0) || run.outcome() != expected {
            panic!(
                "approve.mjs {args:?} did not report `{expected}` (exit {:?})\n--- stdout ---\n{}\n--- stderr ---\n{}\n--- idp log ---\n{}",
                run.status,
                run.stdout,
                run.stderr,
                self.log().join("\n"),
            );
        }
    }

    /// `GET issuer+path` (e.g. `/.well-known/openid-configuration`).
    pub fn get(&self, path: &str) -> HttpResponse {
        self.request("GET", path, &[], None)
    }

    /// `POST issuer+path` with an `application/x-www-form-urlencoded` body.
    pub fn post_form(&self, path: &str, form: &[(&str, &str)]) -> HttpResponse {
        let body = form_urlencode(form);
        self.request(
            "POST",
            path,
            &[("content-type", "application/x-www-form-urlencoded")],
            Some(body.as_bytes()),
        )
    }

    /// A minimal HTTP/1.1 request to the IdP (`Connection: close`; handles chunked bodies).
    pub fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
    ) -> HttpResponse {
        let authority = self
            .issuer
            .strip_prefix("http://")
            .unwrap_or_else(|| panic!("issuer {} is not http://", self.issuer))
            .split('/')
            .next()
            .unwrap()
            .to_string();
        let mut stream = TcpStream::connect(&authority)
            .unwrap_or_else(|e| panic!("cannot connect to the test IdP at {authority}: {e}"));
        stream.set_read_timeout(Some(HTTP_TIMEOUT)).unwrap();
        stream.set_write_timeout(Some(HTTP_TIMEOUT)).unwrap();

        let mut req =
            format!("{method} {path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n");
        for (k, v) in headers {
            req.push_str(&format!("{k}: {v}\r\n"));
        }
        let body = body.unwrap_or_default();
        if !body.is_empty() || method == "POST" {
            req.push_str(&format!("Content-Length: {}\r\n", body.len()));
        }
        req.push_str("\r\n");
        let mut bytes = req.into_bytes();
        bytes.extend_from_slice(body);
        stream.write_all(&bytes).expect("write HTTP request");

        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).expect("read HTTP response");
        parse_response(&raw).unwrap_or_else(|| {
            panic!(
                "malformed HTTP response from the IdP: {:?}",
                String::from_utf8_lossy(&raw)
            )
        })
    }
}

impl Drop for Idp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Panics with a clear message when `node` is not on PATH.
fn ensure_node() {
    static CHECKED: OnceLock<()> = OnceLock::new();
    CHECKED.get_or_init(|| match Command::new("node").arg("--version").output() {
        Ok(out) if out.status.success() => {}
        Ok(out) => panic!(
            "`node --version` failed ({}): the end-to-end tests need Node.js >= 20.19 on PATH to run the test IdP (tests/idp)",
            out.status
        ),
        Err(e) => panic!(
            "`node` not found on PATH ({e}): the end-to-end tests need Node.js >= 20.19 to run the test IdP in tests/idp (see tests/idp/README.md)"
        ),
    });
}

/// Runs `npm ci` in tests/idp unless `node_modules/oidc-provider` is there. The check and the
/// install happen under an exclusive file lock, so concurrently starting test binaries neither
/// install twice nor start node on a half-installed tree.
fn ensure_npm_deps() {
    static INSTALLED: OnceLock<()> = OnceLock::new();
    INSTALLED.get_or_init(|| {
        let dir = idp_dir();
        let marker = dir
            .join("node_modules")
            .join("oidc-provider")
            .join("package.json");
        let lock_path = dir.join(".npm-install.lock");
        let lock: File = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .unwrap_or_else(|e| panic!("cannot open {}: {e}", lock_path.display()));
        lock.lock()
            .unwrap_or_else(|e| panic!("cannot lock {}: {e}", lock_path.display()));
        if marker.is_file() {
            return; // the lock is released when `lock` is dropped
        }
        let out = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(&dir)
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot run `npm ci` in {} (is npm on PATH?): {e}",
                    dir.display()
                )
            });
        if !out.status.success() || !marker.is_file() {
            panic!(
                "`npm ci` in {} failed ({})\n--- stdout ---\n{}\n--- stderr ---\n{}",
                dir.display(),
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr),
            );
        }
        drop(lock);
    });
}

/// `application/x-www-form-urlencoded` encoding of `pairs`.
pub fn form_urlencode(pairs: &[(&str, &str)]) -> String {
    fn enc(s: &str, out: &mut String) {
        for b in s.bytes() {
            match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'*' => {
                    out.push(b as char)
                }
                b' ' => out.push('+'),
                _ => out.push_str(&format!("%{b:02X}")),
            }
        }
    }
    let mut out = String::new();
    for (i, (k, v)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        enc(k, &mut out);
        out.push('=');
        enc(v, &mut out);
    }
    out
}

fn parse_response(raw: &[u8]) -> Option<HttpResponse> {
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&raw[..split]).ok()?;
    let mut rest = &raw[split + 4..];
    let mut lines = head.split("\r\n");
    let status: u16 = lines.next()?.split(' ').nth(1)?.parse().ok()?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let chunked = headers
        .iter()
        .any(|(k, v)| k == "transfer-encoding" && v.to_ascii_lowercase().contains("chunked"));
    let body = if chunked {
        let mut body = Vec::new();
        loop {
            let eol = rest.windows(2).position(|w| w == b"\r\n")?;
            let size_str = std::str::from_utf8(&rest[..eol]).ok()?;
            let size = usize::from_str_radix(size_str.split(';').next()?.trim(), 16).ok()?;
            rest = &rest[eol + 2..];
            if size == 0 {
                break;
            }
            body.extend_from_slice(rest.get(..size)?);
            rest = rest.get(size + 2..)?;
        }
        body
    } else {
        rest.to_vec()
    };
    Some(HttpResponse {
        status,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

/// Whether the IdP at `issuer` says `token` is active (introspection, as the
/// device client; for loopback servers that check tokens in another thread).
pub fn active(issuer: &str, token: &str) -> bool {
    let out = Command::new("curl")
        .args([
            "-s",
            "--data-urlencode",
            "client_id=vmauth-cli",
            "--data-urlencode",
        ])
        .arg(format!("token={token}"))
        .arg(format!("{issuer}/token/introspection"))
        .output()
        .expect("run curl");
    serde_json::from_slice::<serde_json::Value>(&out.stdout).is_ok_and(|v| v["active"] == true)
}
