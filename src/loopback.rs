//! The browser login's loopback redirect listener (RFC 8252 §7.3): one
//! listener on `127.0.0.1` (or `[::1]`), never on all interfaces and never
//! through the name `localhost`, that takes the one request carrying this
//! sign-in's answer and shows the person a page saying to return to the
//! terminal.
//!
//! What makes an answer this sign-in's is the caller's ([`Judge`]): the
//! listener only reads request heads (at most [`MAX_HEAD`] bytes, each within
//! [`READ_TIMEOUT`]), answers `GET` on the redirect path, and gives every other
//! path a 404. An accepted answer is redirected (303) to the same path without
//! its query, so the address bar ends on a URL without the code, and that page
//! is served before the listener closes.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::settings::Redirect;

/// The largest request head read.
pub const MAX_HEAD: usize = 8 * 1024;
/// How long one connection may take to send its request head.
pub const READ_TIMEOUT: Duration = Duration::from_secs(10);
/// How long the page after an accepted answer is waited for.
pub const DONE_PAGE_WAIT: Duration = Duration::from_secs(5);

/// Why the listener could not be set up.
#[derive(Debug)]
pub enum BindError {
    /// The port (chosen by the user or a profile) is taken.
    InUse(u16),
    /// Anything else (no loopback interface, permissions).
    Other(std::io::Error),
}

/// The listener, bound.
pub struct Listener {
    tcp: TcpListener,
    /// The redirect URI to send to the identity provider.
    pub redirect_uri: String,
    path: String,
}

/// What the caller makes of the query of a request to the redirect path.
pub enum Verdict<T> {
    /// This sign-in's answer: the login goes on with it.
    Accept(T),
    /// This sign-in's answer, and it ends the sign-in (the provider said no):
    /// the page shows `message`.
    Reject(T, String),
    /// Not this sign-in's (another `state`): the page says so, and the
    /// listener waits on.
    Ignore(String),
}

/// Judges the query parameters of each request to the redirect path.
pub type Judge<'a, T> = dyn FnMut(Vec<(String, String)>) -> Verdict<T> + 'a;

/// One request's head, as read.
#[derive(Debug, PartialEq, Eq)]
pub struct RequestHead {
    /// The method.
    pub method: String,
    /// The path, without the query.
    pub path: String,
    /// The query string (without `?`), if any.
    pub query: Option<String>,
    /// The `Host` header, if one came.
    pub host: Option<String>,
}

/// Parse a request head (`GET /callback?code=… HTTP/1.1\r\n…\r\n\r\n`).
/// `None` when it is not a complete, well-formed HTTP/1.x request head.
pub fn parse_head(bytes: &[u8]) -> Option<RequestHead> {
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut req = httparse::Request::new(&mut headers);
    match req.parse(bytes) {
        Ok(httparse::Status::Complete(_)) => {}
        _ => return None,
    }
    let target = req.path?;
    // Origin-form only (`/path?query`): an absolute URL or `*` is not a
    // browser following a redirect.
    if !target.starts_with('/') {
        return None;
    }
    let (path, query) = match target.split_once('?') {
        Some((p, q)) => (p, Some(q.to_string())),
        None => (target, None),
    };
    let host = req
        .headers
        .iter()
        .find(|h| h.name.eq_ignore_ascii_case("host"))
        .and_then(|h| std::str::from_utf8(h.value).ok())
        .map(|h| h.trim().to_string());
    Some(RequestHead {
        method: req.method?.to_string(),
        path: path.to_string(),
        query,
        host,
    })
}

impl Listener {
    /// Listen as `redirect` says: on `127.0.0.1` at the given port (a free one
    /// when none is given; on `[::1]` when IPv4 has no loopback), or on the
    /// address and port of a registered URI, with its path (else `/callback`).
    pub async fn bind(redirect: &Redirect) -> Result<Listener, BindError> {
        let (ipv6, port, path) = match redirect {
            Redirect::AnyPort => (false, 0, "/callback".to_string()),
            Redirect::Port(p) => (false, *p, "/callback".to_string()),
            Redirect::Uri { ipv6, port, path } => (*ipv6, *port, path.clone()),
        };
        let v4 = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        let v6 = SocketAddr::from((Ipv6Addr::LOCALHOST, port));
        let in_use = |e: &std::io::Error| e.kind() == std::io::ErrorKind::AddrInUse && port != 0;
        let tcp = if ipv6 {
            TcpListener::bind(v6).await
        } else {
            match TcpListener::bind(v4).await {
                Ok(l) => Ok(l),
                // IPv4 cannot bind at all (an IPv6-only host): the same on [::1].
                Err(e) if !in_use(&e) && !matches!(redirect, Redirect::Uri { .. }) => {
                    TcpListener::bind(v6).await.map_err(|_| e)
                }
                Err(e) => Err(e),
            }
        }
        .map_err(|e| {
            if in_use(&e) {
                BindError::InUse(port)
            } else {
                BindError::Other(e)
            }
        })?;
        let addr = tcp.local_addr().map_err(BindError::Other)?;
        let host = match addr {
            SocketAddr::V4(a) => a.ip().to_string(),
            SocketAddr::V6(a) => format!("[{}]", a.ip()),
        };
        let path = if path.is_empty() {
            "/".to_string()
        } else {
            path
        };
        Ok(Listener {
            redirect_uri: format!("http://{host}:{}{path}", addr.port()),
            tcp,
            path,
        })
    }

    /// Serve requests until `judge` accepts or rejects the query of one to the
    /// redirect path; requests elsewhere get a 404, requests that are not
    /// well-formed (or name another `Host`, as a DNS-rebinding page would) a
    /// 400. Connections are read side by side (at most [`MAX_CONNECTIONS`]),
    /// so an idle one cannot hold up the browser's. An accepted answer sends
    /// the browser on to the redirect path without the query; the page it
    /// lands on is served by the returned [`DonePage`], which the caller runs
    /// while it redeems the code. Never returns on its own otherwise: the
    /// caller bounds it.
    pub async fn answer<T>(self, judge: &mut Judge<'_, T>) -> Result<(T, DonePage), (T, String)> {
        let mut heads = Heads::new();
        loop {
            let (mut conn, head) = heads.next(&self.tcp).await;
            let Some(head) = head.filter(|h| self.host_ok(h)) else {
                respond(&mut conn, 400, &page("Bad request", LISTENER)).await;
                continue;
            };
            if head.path != self.path {
                respond(&mut conn, 404, &page("Not found", LISTENER)).await;
                continue;
            }
            if head.method != "GET" && head.method != "HEAD" {
                respond(&mut conn, 405, &page("Method not allowed", LISTENER)).await;
                continue;
            }
            let params = crate::oidc::browser::parse_query(head.query.as_deref().unwrap_or(""));
            match judge(params) {
                Verdict::Accept(t) => {
                    redirect(&mut conn, &self.path).await;
                    drop(conn);
                    return Ok((
                        t,
                        DonePage {
                            listener: self,
                            heads,
                        },
                    ));
                }
                Verdict::Reject(t, message) => {
                    respond(&mut conn, 200, &page("Sign-in not completed", &message)).await;
                    return Err((t, message));
                }
                Verdict::Ignore(message) => {
                    respond(&mut conn, 400, &page("Not this sign-in", &message)).await;
                }
            }
        }
    }

    /// Whether the request names this listener as its `Host` (a page on
    /// another name that resolves to 127.0.0.1 does not).
    fn host_ok(&self, head: &RequestHead) -> bool {
        let ours = self.redirect_uri.trim_start_matches("http://");
        let ours = ours.split('/').next().unwrap_or(ours);
        head.host
            .as_deref()
            .is_some_and(|h| h.eq_ignore_ascii_case(ours))
    }
}

/// The page an accepted answer's browser lands on, still to be served.
pub struct DonePage {
    listener: Listener,
    heads: Heads,
}

impl DonePage {
    /// Serve it once, for at most [`DONE_PAGE_WAIT`]; other requests get a
    /// 404. The listener closes when this returns.
    pub async fn serve(mut self) {
        let serve = async {
            loop {
                let (mut conn, head) = self.heads.next(&self.listener.tcp).await;
                match head.filter(|h| self.listener.host_ok(h)) {
                    Some(h)
                        if h.path == self.listener.path
                            && h.query.is_none()
                            && h.method == "GET" =>
                    {
                        respond(&mut conn, 200, &page("Signed in", DONE)).await;
                        return;
                    }
                    _ => respond(&mut conn, 404, &page("Not found", "This sign-in is over.")).await,
                }
            }
        };
        let _ = tokio::time::timeout(DONE_PAGE_WAIT, serve).await;
    }
}

/// What the listener's own pages say.
const LISTENER: &str = "This is vmauth's sign-in listener.";
/// What the page after an accepted answer says.
const DONE: &str = "vmauth received the sign-in. You can close this tab and return to the terminal, which shows the result.";

/// The most connections read at once (each for at most [`READ_TIMEOUT`]);
/// more wait to be accepted.
pub const MAX_CONNECTIONS: usize = 256;

/// Connections accepted and read side by side: each head is read in its own
/// task (bounded by [`READ_TIMEOUT`]), and they come out as they are complete.
struct Heads {
    tasks: tokio::task::JoinSet<(TcpStream, Option<RequestHead>)>,
}

impl Heads {
    fn new() -> Heads {
        Heads {
            tasks: tokio::task::JoinSet::new(),
        }
    }

    /// The next connection whose head is read (`None`: not a request head).
    async fn next(&mut self, tcp: &TcpListener) -> (TcpStream, Option<RequestHead>) {
        loop {
            let room = self.tasks.len() < MAX_CONNECTIONS;
            tokio::select! {
                conn = accept(tcp), if room => {
                    if let Some(mut conn) = conn {
                        self.tasks.spawn(async move {
                            let head = read_head(&mut conn).await;
                            (conn, head)
                        });
                    }
                }
                Some(done) = self.tasks.join_next() => {
                    if let Ok(read) = done {
                        return read;
                    }
                }
            }
        }
    }
}

/// The next connection; after a failed accept (out of file descriptors, a
/// connection reset before it was taken) `None`, a moment later, so a
/// persistent failure does not spin.
async fn accept(tcp: &TcpListener) -> Option<TcpStream> {
    match tcp.accept().await {
        Ok((conn, _)) => Some(conn),
        Err(_) => {
            tokio::time::sleep(Duration::from_millis(50)).await;
            None
        }
    }
}

/// Read one request head, at most [`MAX_HEAD`] bytes within [`READ_TIMEOUT`].
async fn read_head(conn: &mut TcpStream) -> Option<RequestHead> {
    let read = async {
        let mut buf = Vec::with_capacity(1024);
        let mut chunk = [0u8; 1024];
        loop {
            let n = conn.read(&mut chunk).await.ok()?;
            if n == 0 {
                return None;
            }
            buf.extend_from_slice(&chunk[..n]);
            if buf.windows(4).any(|w| w == b"\r\n\r\n") {
                return parse_head(&buf);
            }
            if buf.len() > MAX_HEAD {
                return None;
            }
        }
    };
    tokio::time::timeout(READ_TIMEOUT, read)
        .await
        .ok()
        .flatten()
}

/// The headers every answer carries: nothing cached, no referrer (the
/// address held the code), no scripts, frames or outside resources.
const HEADERS: &str = "Cache-Control: no-store\r\nPragma: no-cache\r\nReferrer-Policy: no-referrer\r\nContent-Security-Policy: default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'\r\nX-Content-Type-Options: nosniff\r\nX-Frame-Options: DENY\r\nConnection: close\r\n";

async fn respond(conn: &mut TcpStream, status: u16, body: &str) {
    let reason = match status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        _ => "Error",
    };
    let msg = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\n{HEADERS}\r\n{body}",
        body.len()
    );
    let _ = conn.write_all(msg.as_bytes()).await;
    let _ = conn.shutdown().await;
}

async fn redirect(conn: &mut TcpStream, path: &str) {
    let msg =
        format!("HTTP/1.1 303 See Other\r\nLocation: {path}\r\nContent-Length: 0\r\n{HEADERS}\r\n");
    let _ = conn.write_all(msg.as_bytes()).await;
    let _ = conn.shutdown().await;
}

/// A page with a title and one paragraph (both escaped), no outside resources.
pub fn page(title: &str, text: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"referrer\" content=\"no-referrer\"><title>vmauth: {t}</title><style>body{{font-family:system-ui,sans-serif;max-width:36em;margin:4em auto;padding:0 1em;line-height:1.5}}</style></head><body><h1>{t}</h1><p>{x}</p></body></html>",
        t = escape(title),
        x = escape(text)
    )
}

/// Text as HTML: the five special characters escaped, control characters dropped.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() || crate::error::is_format_char(c) => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
#[path = "loopback_tests.rs"]
mod tests;
