//! The real kubectl using vmauth as its exec credential plugin, against a
//! loopback API server stub that accepts a bearer token only when the test IdP's
//! introspection says it is active; and curl reading `vmauth token -o header`.
#![cfg(unix)]

mod support;

use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use serde_json::Value;
use support::cli::{Home, Run};
use support::idp::Idp;
use support::login::*;

/// A self-signed certificate for 127.0.0.1 (kubectl sends exec-plugin
/// credentials only over TLS), made with openssl in `dir`.
fn tls_config(dir: &std::path::Path) -> (Arc<rustls::ServerConfig>, std::path::PathBuf) {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};
    let (cert, key) = (dir.join("stub-cert.pem"), dir.join("stub-key.pem"));
    let ok = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-days",
            "1",
        ])
        .args([
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("openssl is on the machine (Debian: openssl); see .ci/run")
        .success();
    assert!(ok, "openssl could not make a certificate");
    let certs: Vec<CertificateDer> = CertificateDer::pem_file_iter(&cert)
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let key = PrivateKeyDer::from_pem_file(&key).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(certs, key)
    .unwrap();
    (Arc::new(config), cert)
}

/// Serve API requests until `stop`: 200 with a Status object for a bearer token
/// the IdP says is active, 401 otherwise. Records every token it saw.
fn api_stub(
    listener: &TcpListener,
    tls: Arc<rustls::ServerConfig>,
    idp: &Idp,
    seen: &Mutex<Vec<String>>,
    stop: &AtomicBool,
) {
    support::tls::serve(listener, tls, stop, |request| {
        let token = request
            .header("authorization")
            .and_then(|v| v.strip_prefix("Bearer "));
        let active = token.is_some_and(|t| {
            seen.lock().unwrap().push(t.to_string());
            idp.post_form(
                "/token/introspection",
                &[("client_id", CLIENT), ("token", t)],
            )
            .json()["active"]
                == true
        });
        if active {
            (
                "200 OK",
                r#"{"kind":"Status","apiVersion":"v1","status":"Success","message":"hello from the stub"}"#.to_string(),
            )
        } else {
            (
                "401 Unauthorized",
                r#"{"kind":"Status","apiVersion":"v1","status":"Failure","code":401}"#.to_string(),
            )
        }
    });
}

fn kubeconfig(home: &Home, server: &str, ca: &std::path::Path) -> std::path::PathBuf {
    let vm = env!("CARGO_BIN_EXE_vmauth");
    let text = format!(
        r#"apiVersion: v1
kind: Config
clusters:
- name: stub
  cluster:
    server: {server}
    certificate-authority: {ca}
users:
- name: vmauth
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1
      command: {vm}
      args: ["token", "-o", "exec-credential"]
      env:
      - name: VMAUTH_CREDENTIALS_FILE
        value: {creds}
      - name: VMAUTH_CONFIG_DIR
        value: {config}
      - name: VMAUTH_STORE
        value: file
      interactiveMode: Never
contexts:
- name: stub
  context:
    cluster: stub
    user: vmauth
current-context: stub
"#,
        creds = home.credentials().display(),
        config = home.config_dir().display(),
        ca = ca.display(),
    );
    let path = home.dir.path().join("kubeconfig");
    std::fs::write(&path, text).unwrap();
    path
}

fn kubectl(config: &std::path::Path) -> Run {
    Run::from(
        Command::new("kubectl")
            .arg("--kubeconfig")
            .arg(config)
            .args(["get", "--raw", "/api/v1/namespaces/default/stub"])
            .env_remove("KUBECONFIG")
            .stdin(Stdio::null())
            .output()
            .expect("kubectl is on the machine (Debian: kubernetes-client); see .ci/run"),
    )
}

#[test]
fn kubectl_gets_its_token_from_vmauth_and_a_fresh_one_after_expiry() {
    let idp = Idp::start();
    let home = Home::new();
    let key = format!("{}|{CLIENT}", idp.issuer);
    login(&home, &idp, &[]).expect_code(0);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let server = format!("https://{}", listener.local_addr().unwrap());
    let (tls, ca) = tls_config(home.dir.path());
    let config = kubeconfig(&home, &server, &ca);
    let (seen, stop) = (Mutex::new(Vec::new()), AtomicBool::new(false));
    std::thread::scope(|scope| {
        scope.spawn(|| api_stub(&listener, tls, &idp, &seen, &stop));
        // Stop the stub however this scope ends (an assertion failing included).
        struct StopStub<'a>(&'a AtomicBool, std::net::SocketAddr);
        impl Drop for StopStub<'_> {
            fn drop(&mut self) {
                self.0.store(true, Ordering::SeqCst);
                let _ = std::net::TcpStream::connect(self.1);
            }
        }
        let _stop = StopStub(&stop, listener.local_addr().unwrap());
        let r = kubectl(&config);
        r.expect_code(0);
        assert!(r.stdout.contains("hello from the stub"), "{}", r.stdout);
        let first = stored(&home, &key)["access_token"]
            .as_str()
            .unwrap()
            .to_string();
        assert_eq!(
            seen.lock().unwrap().last(),
            Some(&first),
            "the stub saw vmauth's token"
        );

        // The token expires: the next kubectl call gets a refreshed one.
        expire_in_file(&home, &key);
        let r = kubectl(&config);
        r.expect_code(0);
        let second = stored(&home, &key)["access_token"]
            .as_str()
            .unwrap()
            .to_string();
        assert_ne!(second, first);
        assert_eq!(seen.lock().unwrap().last(), Some(&second));
        assert_eq!(idp.count("POST /token 200 grant_type=refresh_token"), 1);
    });
}

#[test]
fn curl_reads_the_header_form_from_stdin_and_exec_shows_who_logged_in() {
    let idp = Idp::start();
    let home = Home::new();
    login(&home, &idp, &[]).expect_code(0);
    // vmauth token -o header | curl -H @- URL: the token is never in curl's argv.
    let mut vm = home
        .cmd(&["token", "-o", "header"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let out = Command::new("curl")
        .args(["-sf", "-H", "@-", &format!("{}/me", idp.issuer)])
        .stdin(vm.stdout.take().unwrap())
        .output()
        .expect("curl is on the machine");
    assert!(vm.wait().unwrap().success());
    assert!(out.status.success(), "{out:?}");
    let me: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(me["sub"], "alice");
    // exec adds who logged in, from the verified ID token.
    let r = home.run(&[
        "exec",
        "--",
        "sh",
        "-c",
        r#"printf '%s|%s|%s|%s' "$VMAUTH_USER_SUB" "$VMAUTH_USER_EMAIL" "$VMAUTH_USER_NAME" "$VMAUTH_USER_ROLES""#,
    ]);
    r.expect_code(0);
    assert_eq!(
        r.stdout,
        "alice|alice@example.test|Alice Example|admin,developer"
    );
    // --token-type id gives the login's (verified) ID token.
    let r = home.run(&["token", "--token-type", "id", "-o", "json"]);
    r.expect_code(0);
    let j: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(j["token_use"], "id_token");
    assert_eq!(jwt_payload(j["token"].as_str().unwrap())["aud"], CLIENT);
}
