//! A cargo sparse registry on loopback for the credential-provider tests: one
//! crate (`vmtest-dep` 0.1.0), `"auth-required": true`, every request let
//! through only with `Authorization: Bearer <token>` the test IdP says is active.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex};

pub struct Registry {
    /// `sparse+http://127.0.0.1:PORT/index/`.
    pub index: String,
    /// What each request was for and its answer: (path, status).
    pub seen: Arc<Mutex<Vec<(String, u16)>>>,
}

/// The crate's `.crate` file (a gzipped tar of `vmtest-dep-0.1.0/`).
fn crate_file(dir: &Path) -> Vec<u8> {
    let root = dir.join("vmtest-dep-0.1.0");
    std::fs::create_dir_all(root.join("src")).unwrap();
    std::fs::write(
        root.join("Cargo.toml"),
        "[package]\nname = \"vmtest-dep\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
    )
    .unwrap();
    std::fs::write(
        root.join("src/lib.rs"),
        "pub fn hello() -> &'static str { \"hi\" }\n",
    )
    .unwrap();
    let out = Command::new("tar")
        .args(["-czf", "-", "vmtest-dep-0.1.0"])
        .current_dir(dir)
        .output()
        .expect("run tar");
    assert!(out.status.success());
    out.stdout
}

impl Registry {
    pub fn start(issuer: &str) -> Registry {
        let dir = tempfile::tempdir().unwrap();
        let dot_crate = crate_file(dir.path());
        let digest = ring::digest::digest(&ring::digest::SHA256, &dot_crate);
        let cksum: String = digest.as_ref().iter().map(|b| format!("{b:02x}")).collect();
        let listener = TcpListener::bind(("127.0.0.1", 0)).unwrap();
        let origin = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
        let config = format!(
            "{{\"dl\":\"{origin}/dl/{{crate}}-{{version}}.crate\",\"auth-required\":true}}"
        );
        let entry = format!(
            "{{\"name\":\"vmtest-dep\",\"vers\":\"0.1.0\",\"deps\":[],\"cksum\":\"{cksum}\",\"features\":{{}},\"yanked\":false}}\n"
        );
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (s, i) = (seen.clone(), issuer.to_string());
        std::thread::spawn(move || {
            let files = Arc::new(vec![
                ("/index/config.json".to_string(), config.into_bytes()),
                ("/index/vm/te/vmtest-dep".to_string(), entry.into_bytes()),
                ("/dl/vmtest-dep-0.1.0.crate".to_string(), dot_crate),
            ]);
            for conn in listener.incoming().flatten() {
                let (s, i, f) = (s.clone(), i.clone(), files.clone());
                std::thread::spawn(move || serve(conn, &i, &f, &s));
            }
        });
        Registry {
            index: format!("sparse+{origin}/index/"),
            seen,
        }
    }

    pub fn seen(&self) -> Vec<(String, u16)> {
        self.seen.lock().unwrap().clone()
    }
}

fn serve(
    mut conn: TcpStream,
    issuer: &str,
    files: &[(String, Vec<u8>)],
    seen: &Mutex<Vec<(String, u16)>>,
) {
    let mut reader = BufReader::new(conn.try_clone().unwrap());
    let mut line = String::new();
    if reader.read_line(&mut line).unwrap_or(0) == 0 {
        return;
    }
    let path = line.split_whitespace().nth(1).unwrap_or("").to_string();
    let mut auth = None;
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).unwrap_or(0) == 0 || h.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = h.trim_end().split_once(':')
            && k.eq_ignore_ascii_case("authorization")
        {
            auth = Some(v.trim().to_string());
        }
    }
    let ok = auth
        .as_deref()
        .and_then(|a| a.strip_prefix("Bearer "))
        .is_some_and(|t| super::idp::active(issuer, t));
    let (status, body): (u16, &[u8]) = if !ok {
        (401, b"")
    } else {
        match files.iter().find(|(p, _)| *p == path) {
            Some((_, b)) => (200, b),
            None => (404, b""),
        }
    };
    seen.lock().unwrap().push((path, status));
    let reason = match status {
        200 => "OK",
        401 => "Unauthorized",
        _ => "Not Found",
    };
    let challenge = if status == 401 {
        "WWW-Authenticate: Cargo login_url=\"https://example.test/login\"\r\n"
    } else {
        ""
    };
    let _ = write!(
        conn,
        "HTTP/1.1 {status} {reason}\r\n{challenge}Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let _ = conn.write_all(body);
}
