//! End to end: `vmauth login --flow browser|auto` against the real OpenID
//! Provider (tests/idp), signed in through its real pages by the headless
//! browser `authorize.mjs`, which follows the redirect to vmauth's loopback
//! listener (or, for the paste path, prints it for the test to paste into a
//! pseudo-terminal).

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;
use support::cli::Home;
use support::idp::Idp;
use support::login::{PendingLogin, stored};

const BROWSER_CLIENT: &str = "vmauth-cli-browser";

fn browser_login(home: &Home, idp: &Idp, client: &str, extra: &[&str]) -> PendingLogin {
    let mut args = vec!["login", "--issuer", &idp.issuer, "--client-id", client];
    args.extend_from_slice(extra);
    let mut cmd = home.cmd(&args);
    cmd.stdin(Stdio::null());
    PendingLogin::spawn(cmd)
}

/// The query parameter `name` of `url`.
fn param(url: &str, name: &str) -> Option<String> {
    let q = url.split_once('?')?.1;
    q.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=')?;
        (k == name).then(|| v.to_string())
    })
}

/// GET `target` (a path and query) from the listener at `origin`; the whole answer.
fn get(origin: &str, target: &str) -> std::io::Result<String> {
    let addr = origin.trim_start_matches("http://");
    let mut s = std::net::TcpStream::connect(addr)?;
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(s, "GET {target} HTTP/1.1\r\nHost: {addr}\r\n\r\n")?;
    let mut out = String::new();
    s.read_to_string(&mut out)?;
    Ok(out)
}

/// The origin and path+query of a loopback redirect URL.
fn split(url: &str) -> (String, String) {
    let rest = url.trim_start_matches("http://");
    let (host, target) = rest.split_at(rest.find('/').unwrap());
    (format!("http://{host}"), target.to_string())
}

#[test]
fn a_browser_login_goes_through_the_listener_and_keeps_a_refreshable_login() {
    let idp = Idp::start();
    let home = Home::new();
    let mut p = browser_login(&home, &idp, BROWSER_CLIENT, &["--browser", "--no-open"]);
    let url = p.verification_url();
    // The issuer has a PAR endpoint: the browser opens only client_id and request_uri.
    assert!(url.starts_with(&format!("{}/auth?", idp.issuer)), "{url}");
    assert!(
        param(&url, "request_uri").is_some() && param(&url, "code_challenge").is_none(),
        "{url}"
    );
    let report = tempfile::NamedTempFile::new().unwrap();
    let a = idp.run_authorize(&["--report", report.path().to_str().unwrap(), &url]);
    assert_eq!(a.status, Some(0), "{a:?}");
    let r = p.finish();
    r.expect_code(0);
    assert!(
        r.stderr.contains(&format!(
            "Logged in as alice@example.test at {}",
            idp.issuer
        )),
        "{}",
        r.stderr
    );

    // What the browser saw: the redirect with code, state and iss, answered 303 to
    // the same path without the query, and a page saying to return to the terminal.
    let seen: Value = serde_json::from_slice(&std::fs::read(report.path()).unwrap()).unwrap();
    let redirect = seen["redirect"].as_str().unwrap();
    assert!(
        redirect.starts_with("http://127.0.0.1:") && redirect.contains("/callback?code="),
        "{redirect}"
    );
    assert!(
        param(redirect, "state").is_some() && param(redirect, "iss").is_some(),
        "{redirect}"
    );
    assert_eq!(seen["hops"][0]["status"], 303, "{seen}");
    let final_url = seen["final_url"].as_str().unwrap();
    assert_eq!(
        final_url,
        redirect.split('?').next().unwrap(),
        "the address bar holds no code"
    );
    assert_eq!(seen["status"], 200);
    assert!(
        seen["body"]
            .as_str()
            .unwrap()
            .contains("return to the terminal"),
        "{seen}"
    );
    assert_eq!(seen["headers"]["cache-control"], "no-store");
    assert_eq!(seen["headers"]["referrer-policy"], "no-referrer");
    assert!(
        seen["headers"]["content-security-policy"]
            .as_str()
            .unwrap()
            .starts_with("default-src 'none'")
    );

    // What the provider saw: a pushed request with PKCE S256, state, nonce and
    // prompt=consent (offline_access), then the code redeemed.
    // count() waits until the IdP's log holds every request made so far.
    assert_eq!(idp.count("grant_type=authorization_code"), 1);
    let log = idp.log().join("\n");
    let par = log
        .lines()
        .find(|l| l.contains("POST /request 201"))
        .unwrap_or_else(|| panic!("{log}"));
    for needle in [
        "client_id=vmauth-cli-browser",
        "code_challenge_method=S256",
        "state=present",
        "nonce=present",
        "prompt=consent",
        "redirect_uri=http%3A%2F%2F127.0.0.1%3A",
    ] {
        assert!(par.contains(needle), "{needle} in {par}");
    }
    assert!(log.contains("grant_type=authorization_code"), "{log}");

    // The login is like any other: a refresh token, and it refreshes.
    let key = format!("{}|{BROWSER_CLIENT}", idp.issuer);
    let entry = stored(&home, &key);
    assert!(
        entry["refresh_token"].is_string() && entry["id_token"].is_string(),
        "{entry}"
    );
    let old = entry["access_token"].as_str().unwrap().to_string();
    let t = home.run(&["token", "--force-refresh"]);
    t.expect_code(0);
    assert_ne!(t.stdout.trim(), old);
    // The listener is gone: the same answer again reaches nobody.
    let (origin, target) = split(redirect);
    assert!(
        get(&origin, &target).is_err(),
        "the listener is closed after the login"
    );
}

#[test]
fn auto_signs_in_with_the_browser_when_the_device_flow_is_refused_and_remembers_it() {
    let idp = Idp::start();
    let home = Home::new();
    // The "browser" vmauth opens is authorize.mjs, started in the background
    // (BROWSER is run without a shell, with the URL as its argument).
    let dir = tempfile::tempdir().unwrap();
    let opener = dir.path().join("browser.sh");
    let done = dir.path().join("opened");
    std::fs::write(
        &opener,
        format!(
            "#!/bin/sh\nprintf '%s\\n' \"$1\" > '{done}.url'\nnode '{script}' --issuer '{issuer}' \"$1\" > '{done}' 2>&1 &\n",
            done = done.display(),
            script = support::idp::idp_dir().join("authorize.mjs").display(),
            issuer = idp.issuer,
        ),
    )
    .unwrap();
    std::fs::set_permissions(&opener, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let mut cmd = home.cmd(&[
        "login",
        "--issuer",
        &idp.issuer,
        "--client-id",
        BROWSER_CLIENT,
        "--save-profile",
        "web",
    ]);
    cmd.env("BROWSER", &opener).stdin(Stdio::null());
    let r = PendingLogin::spawn(cmd).finish();
    r.expect_code(0);
    assert!(
        r.stderr
            .contains("The device flow is not allowed for this sign-in")
            && r.stderr.contains("unauthorized_client")
            && r.stderr.contains("signing in with the browser instead"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("Logged in as alice@example.test"),
        "{}",
        r.stderr
    );
    let opened = std::fs::read_to_string(format!("{}.url", done.display())).unwrap();
    assert!(
        opened.starts_with(&format!("{}/auth?", idp.issuer)),
        "{opened}"
    );
    let config = std::fs::read_to_string(home.config_dir().join("config.toml")).unwrap();
    assert!(config.contains("flow = \"browser\""), "{config}");
    // The saved profile goes straight to the browser (no device request).
    let before = idp.count("POST /device/auth");
    let mut cmd = home.cmd(&["login", "--profile", "web"]);
    cmd.env("BROWSER", &opener).stdin(Stdio::null());
    let r = PendingLogin::spawn(cmd).finish();
    r.expect_code(0);
    assert_eq!(idp.count("POST /device/auth"), before, "{}", r.stderr);
}

/// `vmauth login` on a pseudo-terminal (util-linux `script`), so stdin is a
/// terminal: its output lines, and a pipe that types into it.
struct OnTerminal {
    child: Child,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl OnTerminal {
    fn start(home: &Home, args: &[&str]) -> OnTerminal {
        let mut vmauth = home.cmd(args);
        // As over SSH: no browser is opened, and the address is to be pasted.
        vmauth.env("SSH_CONNECTION", "10.0.0.1 50000 10.0.0.2 22");
        let mut line = format!("exec {}", shell_quote(env!("CARGO_BIN_EXE_vmauth")));
        for a in args {
            line.push(' ');
            line.push_str(&shell_quote(a));
        }
        let mut cmd = Command::new("script");
        cmd.args(["-qfec", &line, "/dev/null"]);
        for (k, v) in vmauth.get_envs() {
            match v {
                Some(v) => cmd.env(k, v),
                None => cmd.env_remove(k),
            };
        }
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("run util-linux `script`");
        let out = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for l in BufReader::new(out).lines().map_while(Result::ok) {
                if tx.send(l.trim_end_matches('\r').to_string()).is_err() {
                    break;
                }
            }
        });
        OnTerminal {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// The next line that contains `needle` (and every line before it).
    fn wait_for(&mut self, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let l = self
                .lines
                .recv_timeout(left)
                .unwrap_or_else(|_| panic!("no {needle:?} in {:?}", self.seen));
            self.seen.push(l.clone());
            if l.contains(needle) {
                return l;
            }
        }
    }

    /// Type Ctrl-C: the terminal sends SIGINT to vmauth.
    fn interrupt(&mut self) {
        let stdin = self.child.stdin.as_mut().unwrap();
        stdin.write_all(b"\x03").unwrap();
        stdin.flush().unwrap();
    }

    fn type_line(&mut self, text: &str) {
        let stdin = self.child.stdin.as_mut().unwrap();
        stdin.write_all(format!("{text}\n").as_bytes()).unwrap();
        stdin.flush().unwrap();
    }

    fn finish(mut self) -> (i32, String) {
        let deadline = Instant::now() + Duration::from_secs(60);
        let status = loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                break s;
            }
            assert!(
                Instant::now() < deadline,
                "vmauth did not finish: {:?}",
                self.seen
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        while let Ok(l) = self.lines.recv_timeout(Duration::from_secs(5)) {
            self.seen.push(l);
        }
        (status.code().unwrap_or(-1), self.seen.join("\n"))
    }
}

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

#[test]
fn over_ssh_the_address_the_browser_was_sent_to_is_pasted() {
    let idp = Idp::start();
    let home = Home::new();
    let mut t = OnTerminal::start(
        &home,
        &[
            "login",
            "--browser",
            "--no-open",
            "--no-qr",
            "--issuer",
            &idp.issuer,
            "--client-id",
            BROWSER_CLIENT,
        ],
    );
    t.wait_for("open this page in a browser");
    let url = t.wait_for("/auth?").trim().to_string();
    t.wait_for("paste here the address");
    // The browser runs elsewhere: it cannot reach the listener, so it shows the address.
    let a = idp.run_authorize(&["--no-follow", &url]);
    assert_eq!(a.status, Some(0), "{a:?}");
    let redirect = a.outcome().to_string();
    assert!(redirect.contains("code="), "{redirect}");
    // A paste from another sign-in (another state) is refused, and it asks again.
    let forged = redirect.replace(
        &format!("state={}", param(&redirect, "state").unwrap()),
        "state=other",
    );
    t.type_line(&forged);
    t.wait_for("state is not this login's");
    t.type_line(&redirect);
    let (code, out) = t.finish();
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("Logged in as alice@example.test"), "{out}");
    let key = format!("{}|{BROWSER_CLIENT}", idp.issuer);
    assert!(stored(&home, &key)["refresh_token"].is_string());
}

#[test]
fn only_this_sign_ins_answer_is_taken_by_the_listener() {
    let idp = Idp::start();
    let home = Home::new();
    let mut p = browser_login(&home, &idp, BROWSER_CLIENT, &["--browser", "--no-open"]);
    let url = p.verification_url();
    let a = idp.run_authorize(&["--no-follow", &url]);
    assert_eq!(a.status, Some(0), "{a:?}");
    let redirect = a.outcome().to_string();
    let (origin, target) = split(&redirect);
    // Another path (a favicon request): 404.
    let r = get(&origin, "/favicon.ico").unwrap();
    assert!(r.starts_with("HTTP/1.1 404"), "{r}");
    // Another state (a forged or old answer), another issuer (a mix-up): refused, still waiting.
    let state = param(&redirect, "state").unwrap();
    let r = get(
        &origin,
        &target.replace(&format!("state={state}"), "state=forged"),
    )
    .unwrap();
    assert!(
        r.starts_with("HTTP/1.1 400") && r.contains("not for the sign-in vmauth is waiting for"),
        "{r}"
    );
    let iss = param(&redirect, "iss").unwrap();
    let r = get(
        &origin,
        &target.replace(&format!("iss={iss}"), "iss=https%3A%2F%2Fevil.example"),
    )
    .unwrap();
    assert!(
        r.starts_with("HTTP/1.1 400") && !r.contains("evil.example"),
        "{r}"
    );
    // This sign-in's answer: taken.
    let r = get(&origin, &target).unwrap();
    assert!(r.starts_with("HTTP/1.1 303"), "{r}");
    let page = get(&origin, target.split('?').next().unwrap()).unwrap();
    assert!(page.starts_with("HTTP/1.1 200"), "{page}");
    let r = p.finish();
    r.expect_code(0);
    assert!(
        r.stderr
            .contains("refused a request to the sign-in listener"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("RFC 9207"),
        "the mix-up is named: {}",
        r.stderr
    );
    assert_eq!(
        idp.count("grant_type=authorization_code"),
        1,
        "one code redeemed"
    );
    // Replayed after the login: nobody listens.
    assert!(get(&origin, &target).is_err());
}

#[test]
fn a_denied_sign_in_ends_with_exit_5_and_stores_nothing() {
    let idp = Idp::start();
    let home = Home::new();
    let mut p = browser_login(&home, &idp, BROWSER_CLIENT, &["--browser", "--no-open"]);
    let url = p.verification_url();
    let report = tempfile::NamedTempFile::new().unwrap();
    let a = idp.run_authorize(&["--deny", "--report", report.path().to_str().unwrap(), &url]);
    assert_eq!(a.status, Some(5), "{a:?}");
    let r = p.finish();
    r.expect_code(5);
    assert!(
        r.stderr
            .contains("the identity provider answered access_denied"),
        "{}",
        r.stderr
    );
    let seen: Value = serde_json::from_slice(&std::fs::read(report.path()).unwrap()).unwrap();
    assert!(
        seen["body"].as_str().unwrap().contains("access_denied"),
        "{seen}"
    );
    assert!(!home.credentials().exists(), "nothing stored");
}

#[test]
fn a_taken_port_a_timeout_and_ctrl_c_end_cleanly() {
    let idp = Idp::start();
    let home = Home::new();
    let taken = std::net::TcpListener::bind(("127.0.0.1", 0)).unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let r = home.run(&[
        "login",
        "--browser",
        "--redirect-port",
        &port,
        "--issuer",
        &idp.issuer,
        "--client-id",
        BROWSER_CLIENT,
    ]);
    r.expect_code(2);
    assert!(
        r.stderr
            .contains(&format!("port {port} on the loopback interface is in use")),
        "{}",
        r.stderr
    );
    assert_eq!(
        r.stderr
            .lines()
            .filter(|l| l.starts_with("vmauth: error"))
            .count(),
        1,
        "{}",
        r.stderr
    );

    let r = home.run(&[
        "login",
        "--browser",
        "--no-open",
        "--timeout",
        "1s",
        "--issuer",
        &idp.issuer,
        "--client-id",
        BROWSER_CLIENT,
    ]);
    r.expect_code(5);
    assert!(
        r.stderr.contains("no answer from the browser within 1s"),
        "{}",
        r.stderr
    );

    let mut p = browser_login(&home, &idp, BROWSER_CLIENT, &["--browser", "--no-open"]);
    let url = p.verification_url();
    let redirect_uri = {
        // The redirect URI vmauth registered with the pushed request (this
        // login's is the second; the log is read once it holds it).
        assert!(
            idp.wait_for_count("POST /request 201", 2, std::time::Duration::from_secs(10)),
            "the pushed request is in the IdP's log"
        );
        let log = idp.log().join("\n");
        let line = log
            .lines()
            .rev()
            .find(|l| l.contains("POST /request 201"))
            .unwrap()
            .to_string();
        let enc = line
            .split("redirect_uri=")
            .nth(1)
            .unwrap()
            .split(' ')
            .next()
            .unwrap()
            .to_string();
        enc.replace("%3A", ":").replace("%2F", "/")
    };
    assert!(!url.is_empty());
    let (origin, _) = split(&redirect_uri);
    assert!(get(&origin, "/favicon.ico").is_ok(), "listening");
    // SAFETY: kill(2) with a child's pid and SIGINT touches no memory.
    unsafe { libc::kill(p.pid() as i32, libc::SIGINT) };
    let r = p.finish();
    r.expect_code(130);
    assert!(
        get(&origin, "/favicon.ico").is_err(),
        "the listener is closed"
    );
    assert!(!home.credentials().exists(), "nothing stored");
}

/// On a terminal the paste prompt reads stdin; a timeout and Ctrl-C still end
/// the login at once (the read is not waited for), and the listener is closed.
#[test]
fn on_a_terminal_a_timeout_and_ctrl_c_end_the_login() {
    let idp = Idp::start();
    let home = Home::new();
    let mut t = OnTerminal::start(
        &home,
        &[
            "login",
            "--browser",
            "--no-qr",
            "--timeout",
            "2s",
            "--issuer",
            &idp.issuer,
            "--client-id",
            BROWSER_CLIENT,
        ],
    );
    t.wait_for("paste here the address");
    let (code, out) = t.finish();
    assert_eq!(code, 5, "{out}");
    assert!(
        out.contains("no answer from the browser within 2s"),
        "{out}"
    );

    let mut t = OnTerminal::start(
        &home,
        &[
            "login",
            "--browser",
            "--no-qr",
            "--issuer",
            &idp.issuer,
            "--client-id",
            BROWSER_CLIENT,
        ],
    );
    t.wait_for("paste here the address");
    t.wait_for("Waiting for the sign-in");
    t.interrupt();
    let (code, out) = t.finish();
    assert_eq!(code, 130, "{out}");
    assert!(!home.credentials().exists(), "nothing stored");
}
