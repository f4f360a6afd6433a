//! The only code that writes for humans. Everything goes to stderr through the
//! [`Io`] seam, so stdout carries nothing but a command's product (a token, JSON).

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};
use qrcode::QrCode;
use qrcode::render::unicode::Dense1x2;

use crate::error::is_format_char;
use crate::io::Io;

/// Writes for humans on stderr, styled as the terminal allows.
#[derive(Clone)]
pub struct Ui {
    io: Io,
    /// stderr is a terminal: spinner, QR by default, cursor control allowed.
    pub tty: bool,
    /// ANSI styling allowed (a terminal, and `NO_COLOR` unset).
    pub color: bool,
}

impl Ui {
    /// `no_color`: the `NO_COLOR` convention (<https://no-color.org>) is in effect.
    pub fn new(io: Io, no_color: bool) -> Ui {
        let tty = io.stderr_tty;
        Ui {
            io,
            tty,
            color: tty && !no_color,
        }
    }

    fn line(&self, prefix: &str, msg: &str) {
        self.io.err(&format!("{prefix}{}\n", terminal_safe(msg)));
    }

    /// Text for humans. Everything printed passes through [`terminal_safe`]: much
    /// of it (scopes, claims, URLs, error descriptions) comes from a server.
    pub fn info(&self, msg: &str) {
        self.line("", msg);
    }

    /// `vmauth: warning: …`.
    pub fn warn(&self, msg: &str) {
        self.line("vmauth: warning: ", msg);
    }

    /// `vmauth: error: …`.
    pub fn error(&self, msg: &str) {
        self.line("vmauth: error: ", msg);
    }

    /// A sink for storage warnings (storage code must not print).
    pub fn warn_sink(&self) -> crate::WarnSink {
        let ui = self.clone();
        Box::new(move |m: &str| ui.warn(m))
    }

    fn bold(&self, s: &str) -> String {
        if self.color {
            format!("\x1b[1m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }

    /// Tell the person where to go: QR code (when `show.qr`), then the URL and
    /// the user code, always both (the code is their check that the page is
    /// the real one); open the page when `show.open`; then wait for approval
    /// ([`Ui::waiting`]) until the code expires.
    pub fn device_prompt(&self, p: &DevicePage, show: Show) -> Waiting {
        let uri = terminal_safe(p.uri);
        let user_code = terminal_safe(p.user_code);
        let complete = p.complete;
        let complete = complete.map(terminal_safe);
        let (uri, complete, user_code) = (uri.as_str(), complete.as_deref(), user_code.as_str());
        let qr = show.qr;
        let mut out = String::new();
        let host = |u: &str| {
            url::Url::parse(u)
                .ok()
                .and_then(|u| u.host_str().map(str::to_ascii_lowercase))
                .unwrap_or_else(|| "an unknown host".into())
        };
        // Two pages on two hosts: one of them may not be the provider's
        // (device-code phishing sends people to a page of the attacker's).
        if let Some(c) = complete
            && host(c) != host(uri)
        {
            let _ = writeln!(
                out,
                "vmauth: warning: the identity provider names sign-in pages on two hosts, {} and {}; sign in only if both are your provider's",
                host(c),
                host(uri)
            );
        }
        if qr && let Some(code) = render_qr(complete.unwrap_or(uri)) {
            out.push_str(&code);
            out.push('\n');
        }
        let page = complete.unwrap_or(uri);
        let _ = writeln!(
            out,
            "To sign in, open this page in a browser (it is on {}):",
            host(page)
        );
        let _ = writeln!(out, "  {page}");
        let _ = writeln!(out, "and check that it shows this code:");
        let _ = writeln!(out, "  {}", self.bold(user_code));
        if complete.is_some_and(|c| c != uri) {
            let _ = writeln!(out, "(or open {uri} and enter the code)");
        }
        self.io.err(&out);
        if show.open
            && let Err(why) = open_browser(p.complete.unwrap_or(p.uri))
        {
            self.warn(&format!(
                "could not open a browser ({why}); open the URL above yourself"
            ));
        }
        self.waiting(p.expires_in)
    }

    /// The browser flow's prompt: the QR code (when `qr`), the sign-in page's
    /// address, always (a browser may not open, or open elsewhere), and, when
    /// the person can paste, how to finish where the browser cannot reach this
    /// machine.
    pub fn browser_prompt(&self, url: &str, qr: bool, paste: bool) {
        let url = terminal_safe(url);
        let host = url::Url::parse(&url)
            .ok()
            .and_then(|u| u.host_str().map(str::to_ascii_lowercase))
            .unwrap_or_else(|| "an unknown host".into());
        let mut out = String::new();
        if qr && let Some(code) = render_qr(&url) {
            out.push_str(&code);
            out.push('\n');
        }
        let _ = writeln!(
            out,
            "To sign in, open this page in a browser (it is on {host}):"
        );
        let _ = writeln!(out, "  {url}");
        if paste {
            let _ = writeln!(
                out,
                "If the browser cannot reach this machine (SSH, a container), paste here the address it was sent to after signing in:"
            );
        }
        self.io.err(&out);
    }

    /// Show that vmauth waits for the browser sign-in: one plain line.
    pub fn waiting_for_browser(&self, limit: Duration) -> Waiting {
        // One line, no spinner: the person may be pasting on this terminal.
        self.info(&format!(
            "Waiting for the sign-in in the browser (giving up after {}) …",
            human_duration(limit)
        ));
        Waiting {
            bar: None,
            io: self.io.clone(),
        }
    }

    /// Show that vmauth is waiting: a spinner with the time left on a terminal,
    /// one plain line otherwise.
    fn waiting(&self, expires_in: Duration) -> Waiting {
        if !self.tty {
            self.info(&format!(
                "Waiting for approval (the code expires in {}) …",
                human_duration(expires_in)
            ));
            return Waiting {
                bar: None,
                io: self.io.clone(),
            };
        }
        let deadline = Instant::now() + expires_in;
        let style = ProgressStyle::with_template("{spinner} {msg} (code expires in {left})")
            .unwrap_or_else(|_| ProgressStyle::default_spinner())
            .with_key(
                "left",
                move |_: &ProgressState, w: &mut dyn std::fmt::Write| {
                    let left = deadline.saturating_duration_since(Instant::now());
                    let _ = write!(w, "{}", human_duration(left));
                },
            );
        // The spinner draws on the process's stderr; an in-process test's captured
        // stderr shows the prompt and notes, not the animation.
        let target = if self.io.is_system() {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        };
        let bar = ProgressBar::with_draw_target(None, target);
        bar.set_style(style);
        bar.set_message("Waiting for approval");
        bar.enable_steady_tick(Duration::from_millis(120));
        Waiting {
            bar: Some(bar),
            io: self.io.clone(),
        }
    }
}

/// The device flow's sign-in page, as the identity provider named it.
pub struct DevicePage<'a> {
    /// `verification_uri`.
    pub uri: &'a str,
    /// `verification_uri_complete`, if sent.
    pub complete: Option<&'a str>,
    /// The code the person checks (or enters).
    pub user_code: &'a str,
    /// How long the code lasts.
    pub expires_in: Duration,
}

/// How a sign-in page is offered besides its address.
#[derive(Clone, Copy, Default)]
pub struct Show {
    /// As a QR code.
    pub qr: bool,
    /// Opened in the browser.
    pub open: bool,
}

/// A running wait indicator; cleared when finished or dropped.
pub struct Waiting {
    bar: Option<ProgressBar>,
    io: Io,
}

impl Waiting {
    /// A notice while waiting (slow_down, retries) that does not break the spinner.
    pub fn note(&self, msg: &str) {
        let msg = terminal_safe(msg);
        match &self.bar {
            Some(bar) if !bar.is_hidden() => bar.println(self.io.scrub(&format!("vmauth: {msg}"))),
            _ => self.io.err(&format!("vmauth: {msg}\n")),
        }
    }
}

impl Drop for Waiting {
    fn drop(&mut self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

/// Text safe to print on a terminal: control characters (escape sequences) and
/// invisible formatting characters removed; newlines kept.
pub fn terminal_safe(s: &str) -> String {
    s.chars()
        .filter(|c| *c == '\n' || !(c.is_control() || is_format_char(*c)))
        .collect()
}

/// Open `url` in the person's browser: only an http(s) URL, and never through
/// a shell (the `webbrowser` crate runs the opener, or `BROWSER`, directly).
pub fn open_browser(url: &str) -> Result<(), String> {
    match url::Url::parse(url) {
        Ok(u) if matches!(u.scheme(), "http" | "https") => {}
        _ => return Err("not an http(s) address".into()),
    }
    webbrowser::open(url).map_err(|e| crate::error::one_line(&e.to_string()))
}

/// A QR code in Unicode half blocks, light on dark (for dark terminals, like
/// `qrencode -t UTF8`), with its quiet zone. `None` if the text does not fit.
pub fn render_qr(text: &str) -> Option<String> {
    let code = QrCode::new(text.as_bytes()).ok()?;
    Some(
        code.render::<Dense1x2>()
            .dark_color(Dense1x2::Light)
            .light_color(Dense1x2::Dark)
            .quiet_zone(true)
            .build(),
    )
}

/// `9m 05s`, `45s`, `1h 02m`, `3d 04h`.
pub fn human_duration(d: Duration) -> String {
    let s = d.as_secs();
    if s >= 86400 {
        format!("{}d {:02}h", s / 86400, (s % 86400) / 3600)
    } else if s >= 3600 {
        format!("{}h {:02}m", s / 3600, (s % 3600) / 60)
    } else if s >= 60 {
        format!("{}m {:02}s", s / 60, s % 60)
    } else {
        format!("{s}s")
    }
}

#[cfg(test)]
#[path = "ui_tests.rs"]
mod tests;
