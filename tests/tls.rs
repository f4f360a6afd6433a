//! vmauth over real TLS: an identity provider stub on loopback with a
//! certificate from a test CA (made with openssl). The trust store is read at
//! the first handshake (not when the HTTP client is built), so these check that
//! certificates are still verified: the CA in `SSL_CERT_FILE` is trusted, an
//! unknown CA and a name the certificate does not carry are refused.
#![cfg(unix)]

mod support;

use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use support::cli::{Home, cc_args};

fn openssl(args: &[&str], dir: &Path) {
    let ok = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("openssl is on the machine (Debian: openssl); see .ci/run")
        .success();
    assert!(ok, "openssl {args:?} failed");
}

/// A test CA (`ca.pem`) and a server certificate it signed for `localhost`
/// only; the server's TLS configuration.
fn pki(dir: &Path) -> Arc<rustls::ServerConfig> {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
    ];
    let mut ca = vec!["req", "-x509", "-days", "1", "-subj", "/CN=vmauth test CA"];
    ca.extend(ec);
    ca.extend([
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
    ]);
    openssl(&ca, dir);
    let mut csr = vec!["req", "-new", "-subj", "/CN=localhost"];
    csr.extend(ec);
    csr.extend(["-keyout", "server.key", "-out", "server.csr"]);
    openssl(&csr, dir);
    std::fs::write(
        dir.join("server.ext"),
        "subjectAltName=DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    openssl(
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "1",
            "-extfile",
            "server.ext",
            "-out",
            "server.pem",
        ],
        dir,
    );
    let certs: Vec<CertificateDer> = CertificateDer::pem_file_iter(dir.join("server.pem"))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let key = PrivateKeyDer::from_pem_file(dir.join("server.key")).unwrap();
    Arc::new(
        rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .unwrap(),
    )
}

/// Answer discovery and the token endpoint (client credentials) over TLS until
/// `stop`.
fn serve(listener: &TcpListener, tls: Arc<rustls::ServerConfig>, issuer: &str, stop: &AtomicBool) {
    support::tls::serve(listener, tls, stop, |request| {
        let json = if request
            .line
            .starts_with("GET /.well-known/openid-configuration")
        {
            serde_json::json!({"issuer": issuer, "token_endpoint": format!("{issuer}/token")})
        } else if request.line.starts_with("POST /token") {
            serde_json::json!({"access_token": "at-over-tls", "token_type": "Bearer", "expires_in": 3600})
        } else {
            serde_json::json!({})
        };
        ("200 OK", json.to_string())
    });
}

#[test]
fn certificates_are_verified_against_the_trust_store_read_at_the_first_handshake() {
    let home = Home::new();
    let tls = pki(home.dir.path());
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let issuer = format!("https://localhost:{port}");
    let stop = AtomicBool::new(false);
    std::thread::scope(|scope| {
        scope.spawn(|| serve(&listener, tls, &issuer, &stop));
        let run = |issuer: &str, ca: Option<&Path>| {
            let mut args = cc_args(issuer, "ci");
            args.extend(["--store", "memory"]);
            let mut cmd = home.cmd(&args);
            cmd.env("VMAUTH_CLIENT_SECRET", "s3cret");
            cmd.env_remove("SSL_CERT_DIR");
            match ca {
                Some(ca) => cmd.env("SSL_CERT_FILE", ca),
                None => cmd.env_remove("SSL_CERT_FILE"),
            };
            support::cli::Run::from(cmd.output().unwrap())
        };
        let ca = home.dir.path().join("ca.pem");
        // Trusted CA, the certificate's name: the token.
        let ok = run(&issuer, Some(&ca));
        ok.expect_code(0);
        assert_eq!(ok.stdout, "at-over-tls\n");
        // The system's trust store does not know the test CA.
        let r = run(&issuer, None);
        assert_ne!(r.code, 0);
        r.expect_error("TLS handshake or certificate check failed");
        // The CA is trusted, but the certificate is not for 127.0.0.1.
        let r = run(&format!("https://127.0.0.1:{port}"), Some(&ca));
        assert_ne!(r.code, 0);
        r.expect_error("TLS handshake or certificate check failed");
        support::tls::stop(&stop, port);
    });
}
