use std::io::{Read, Write};

use super::*;

#[test]
fn a_request_head_is_read_in_origin_form_only() {
    let h = parse_head(b"GET /callback?code=a&state=b HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    assert_eq!(
        h,
        RequestHead {
            method: "GET".into(),
            path: "/callback".into(),
            query: Some("code=a&state=b".into()),
            host: Some("x".into()),
        }
    );
    assert_eq!(
        parse_head(b"GET /favicon.ico HTTP/1.1\r\n\r\n")
            .unwrap()
            .query,
        None
    );
    // Incomplete, absolute-form, asterisk-form, garbage.
    assert_eq!(parse_head(b"GET /callback HTTP/1.1\r\n"), None);
    assert_eq!(
        parse_head(b"GET http://127.0.0.1/callback HTTP/1.1\r\n\r\n"),
        None
    );
    assert_eq!(parse_head(b"OPTIONS * HTTP/1.1\r\n\r\n"), None);
    assert_eq!(parse_head(b"\x00\x01\x02\r\n\r\n"), None);
}

#[test]
fn pages_escape_what_they_show() {
    let p = page("T<", "a <script>\"x\"&'y'\u{1b}[31m");
    assert!(
        p.contains("a &lt;script&gt;&quot;x&quot;&amp;&#39;y&#39;[31m"),
        "{p}"
    );
    assert!(!p.contains('\u{1b}'));
    assert!(
        !p.contains("src=") && !p.contains("href="),
        "no outside resources: {p}"
    );
}

/// Send `request` to `port` and read the whole answer.
fn send(port: u16, request: &str) -> String {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.write_all(request.as_bytes()).unwrap();
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out
}

fn get(port: u16, target: &str) -> String {
    send(
        port,
        &format!("GET {target} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n"),
    )
}

/// `f`, or a failed test after 30 s (a listener that waits forever is a bug).
async fn within<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(std::time::Duration::from_secs(30), f)
        .await
        .expect("the listener answered within 30 s")
}

/// The port a listener is bound to, from its redirect URI.
fn port_of(listener: &Listener) -> u16 {
    let after_colon = listener.redirect_uri.rsplit(':').next().unwrap();
    after_colon.split('/').next().unwrap().parse().unwrap()
}

#[tokio::test]
async fn the_listener_takes_one_answer_and_ends_on_an_address_without_the_code() {
    let listener = Listener::bind(&Redirect::AnyPort).await.unwrap();
    let port = port_of(&listener);
    assert_eq!(
        listener.redirect_uri,
        format!("http://127.0.0.1:{port}/callback")
    );
    let browser = tokio::task::spawn_blocking(move || {
        let favicon = get(port, "/favicon.ico");
        let garbage = send(port, "\x16\x03\x01 not http\r\n\r\n");
        let post = send(
            port,
            &format!(
                "POST /callback HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 0\r\n\r\n"
            ),
        );
        let forged = get(port, "/callback?code=x&state=forged");
        // Another name for 127.0.0.1 (a DNS-rebinding page): refused.
        let rebound = send(
            port,
            "GET /callback?code=x&state=ours HTTP/1.1\r\nHost: evil.example:80\r\n\r\n",
        );
        assert!(rebound.starts_with("HTTP/1.1 400"), "{rebound}");
        let answer = get(port, "/callback?code=the-code&state=ours");
        let done = get(port, "/callback");
        (favicon, garbage, post, forged, answer, done)
    });
    let mut judged = Vec::new();
    let mut judge = |params: Vec<(String, String)>| {
        judged.push(params.clone());
        match params.iter().find(|(k, _)| k == "state") {
            Some((_, s)) if s == "ours" => Verdict::Accept("the-code".to_string()),
            _ => Verdict::Ignore("another sign-in's answer".to_string()),
        }
    };
    let (code, done) = within(listener.answer(&mut judge)).await.ok().unwrap();
    assert_eq!(code, "the-code");
    done.serve().await;
    let (favicon, garbage, post, forged, answer, done) = browser.await.unwrap();
    assert!(favicon.starts_with("HTTP/1.1 404"), "{favicon}");
    assert!(garbage.starts_with("HTTP/1.1 400"), "{garbage}");
    assert!(post.starts_with("HTTP/1.1 405"), "{post}");
    assert!(
        forged.starts_with("HTTP/1.1 400") && forged.contains("another sign-in"),
        "{forged}"
    );
    assert!(answer.starts_with("HTTP/1.1 303"), "{answer}");
    assert!(answer.contains("\r\nLocation: /callback\r\n"), "{answer}");
    assert!(
        done.starts_with("HTTP/1.1 200") && done.contains("return to the terminal"),
        "{done}"
    );
    for page in [&answer, &done] {
        for h in [
            "Cache-Control: no-store",
            "Referrer-Policy: no-referrer",
            "Content-Security-Policy: default-src 'none'",
        ] {
            assert!(page.contains(h), "{h} in {page}");
        }
        assert!(!page.contains("the-code"), "{page}");
    }
    // Only the two requests to the redirect path were judged.
    assert_eq!(judged.len(), 2);
    // The listener is closed: a replayed answer reaches nobody.
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err());
}

/// Idle connections (a local process, or a browser's preconnects) do not hold
/// up the browser's answer.
#[tokio::test]
async fn idle_connections_do_not_hold_up_the_answer() {
    let listener = Listener::bind(&Redirect::AnyPort).await.unwrap();
    let port = port_of(&listener);
    let browser = tokio::task::spawn_blocking(move || {
        let idle: Vec<_> = (0..40)
            .map(|_| std::net::TcpStream::connect(("127.0.0.1", port)).unwrap())
            .collect();
        let started = std::time::Instant::now();
        let answer = get(port, "/callback?code=c&state=ours");
        drop(idle);
        (answer, started.elapsed())
    });
    let mut judge = |_: Vec<(String, String)>| Verdict::Accept(());
    let (_, done) = within(listener.answer(&mut judge)).await.ok().unwrap();
    drop(done);
    let (answer, took) = browser.await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 303"), "{answer}");
    assert!(
        took < READ_TIMEOUT,
        "the answer waited {took:?} behind idle connections"
    );
}

#[tokio::test]
async fn a_rejected_answer_shows_why_and_ends() {
    let listener = Listener::bind(&Redirect::AnyPort).await.unwrap();
    let port = port_of(&listener);
    let browser =
        tokio::task::spawn_blocking(move || get(port, "/callback?error=access_denied&state=s"));
    let mut judge =
        |_: Vec<(String, String)>| Verdict::Reject((), "the provider said <no>".to_string());
    let Err((_, message)) = within(listener.answer(&mut judge)).await else {
        panic!("a rejected answer ends the wait");
    };
    assert_eq!(message, "the provider said <no>");
    let page = browser.await.unwrap();
    assert!(page.contains("the provider said &lt;no&gt;"), "{page}");
}

#[tokio::test]
async fn a_taken_port_is_named() {
    let taken = std::net::TcpListener::bind(("127.0.0.1", 0)).unwrap();
    let port = taken.local_addr().unwrap().port();
    match Listener::bind(&Redirect::Port(port)).await {
        Err(BindError::InUse(p)) => assert_eq!(p, port),
        other => panic!("{:?}", other.map(|l| l.redirect_uri)),
    }
    // A registered URI keeps its path and address.
    let l = Listener::bind(&Redirect::Uri {
        ipv6: false,
        port: 0,
        path: "/oauth/done".into(),
    })
    .await
    .unwrap();
    assert!(
        l.redirect_uri.starts_with("http://127.0.0.1:") && l.redirect_uri.ends_with("/oauth/done"),
        "{}",
        l.redirect_uri
    );
}
