//! The Python environment of the tests that drive real Python programs (the
//! MLflow/requests/httpx clients, the MCP SDK's protected resource): the pinned
//! packages of tests/python/requirements.txt from PyPI. `VMAUTH_TEST_PYTHON`
//! names its python (CI caches it); else one is made (or brought up to date)
//! under target/ on first use.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

pub fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The python of the test environment, with the pinned packages and this
/// checkout's package (python/) installed.
pub fn python() -> &'static PathBuf {
    static PYTHON: OnceLock<PathBuf> = OnceLock::new();
    PYTHON.get_or_init(|| {
        let python = match std::env::var_os("VMAUTH_TEST_PYTHON") {
            Some(p) => PathBuf::from(p),
            None => {
                let venv = root().join("target/py-venv");
                let python = venv.join("bin/python");
                if !python.exists() {
                    run(Command::new("python3").args(["-m", "venv"]).arg(&venv));
                }
                // A venv made before a package was added to the pins gets it now.
                let complete = Command::new(&python)
                    .args(["-c", "import mlflow, requests, httpx, mcp"])
                    .output()
                    .is_ok_and(|o| o.status.success());
                if !complete {
                    run(Command::new(&python)
                        .args(["-m", "pip", "install", "-q", "-r"])
                        .arg(root().join("tests/python/requirements.txt")));
                }
                python
            }
        };
        // This checkout's package (its MLflow entry point too), over any older copy.
        run(Command::new(&python)
            .args([
                "-m",
                "pip",
                "install",
                "-q",
                "--no-deps",
                "--force-reinstall",
            ])
            .arg(root().join("python")));
        python
    })
}

pub fn run(cmd: &mut Command) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A real protected resource: the MCP Python SDK's server
/// (tests/python/mcp_resource.py) in front of the test IdP, on loopback.
pub struct McpServer {
    /// e.g. `http://127.0.0.1:41234/mcp`: the resource.
    pub url: String,
    child: Child,
    _stdin: Option<ChildStdin>,
}

impl McpServer {
    /// Start it for `issuer` with `args` (`--extra-server URL`, `--wrong-resource`).
    pub fn start(issuer: &str, args: &[&str]) -> McpServer {
        let mut child = Command::new(python())
            .arg(root().join("tests/python/mcp_resource.py"))
            .args(["--issuer", issuer])
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start mcp_resource.py");
        let out = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if let Some(url) = line.strip_prefix("MCP_READY url=") {
                    let _ = tx.send(url.trim().to_string());
                }
            }
        });
        let url = rx
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|_| {
                let _ = child.kill();
                panic!("mcp_resource.py printed no MCP_READY line within 60 s")
            });
        McpServer {
            url,
            _stdin: child.stdin.take(),
            child,
        }
    }

    /// `GET /whoami` with `token` (behind the SDK's own auth middleware):
    /// the status and the body.
    pub fn whoami(&self, token: &str) -> (u16, String) {
        let url = self.url.trim_end_matches("/mcp").to_string() + "/whoami";
        let out = Command::new("curl")
            .args(["-s", "-o", "-", "-w", "\n%{http_code}", "-H"])
            .arg(format!("Authorization: Bearer {token}"))
            .arg(url)
            .output()
            .expect("run curl");
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let (body, code) = text.rsplit_once('\n').unwrap_or(("", "0"));
        (code.trim().parse().unwrap_or(0), body.to_string())
    }
}

impl Drop for McpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
