//! A minimal HTTPS server for tests: one request per connection, answered by a
//! handler, until a stop flag is set (then one more connection wakes it).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// One request: its first line and its headers (names lower-cased), and body.
pub struct Request {
    pub line: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    /// The value of header `name` (lower case), if sent.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Serve TLS connections on `listener` until `stop`: each request gets the
/// `(status line, JSON body)` that `answer` gives. Failed handshakes are dropped.
pub fn serve(
    listener: &TcpListener,
    tls: Arc<rustls::ServerConfig>,
    stop: &AtomicBool,
    answer: impl Fn(&Request) -> (&'static str, String),
) {
    for conn in listener.incoming() {
        if stop.load(Ordering::SeqCst) {
            return;
        }
        let Ok(tcp) = conn else { continue };
        let Ok(server) = rustls::ServerConnection::new(tls.clone()) else {
            continue;
        };
        let mut conn = rustls::StreamOwned::new(server, tcp);
        let mut reader = BufReader::new(&mut conn);
        let mut request = Request {
            line: String::new(),
            headers: Vec::new(),
            body: Vec::new(),
        };
        if reader.read_line(&mut request.line).unwrap_or(0) == 0 {
            continue;
        }
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                break;
            }
            if let Some((name, value)) = line.split_once(':') {
                request
                    .headers
                    .push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
            }
        }
        let length = request
            .header("content-length")
            .and_then(|l| l.parse().ok())
            .unwrap_or(0);
        request.body = vec![0; length];
        let _ = reader.read_exact(&mut request.body);
        drop(reader);
        let (status, body) = answer(&request);
        let _ = write!(
            conn,
            "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .and_then(|_| conn.flush());
        conn.conn.send_close_notify();
        let _ = conn.flush();
    }
}

/// Stop a [`serve`] loop on `port`.
pub fn stop(stop: &AtomicBool, port: u16) {
    stop.store(true, Ordering::SeqCst);
    // Wake the accept loop.
    let _ = std::net::TcpStream::connect(("127.0.0.1", port));
}
