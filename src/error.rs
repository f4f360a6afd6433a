//! The one error type of vmauth: every failure maps to a stable exit code and a
//! one-line, secret-free message that names the fix.

use std::fmt;

/// Exit codes. Documented in README.md and `vmauth --help`.
pub mod exit {
    /// Success.
    pub const OK: i32 = 0;
    /// The identity provider failed, the network failed, or something unexpected happened.
    pub const FAILURE: i32 = 1;
    /// Bad usage or configuration (options, environment, insecure URLs).
    pub const USAGE: i32 = 2;
    /// Authentication required: no login, or it can no longer be refreshed.
    pub const AUTH_REQUIRED: i32 = 4;
    /// The login was not completed: the user denied it or the code expired.
    pub const NOT_COMPLETED: i32 = 5;
    /// Interrupted (Ctrl-C).
    pub const INTERRUPTED: i32 = 130;
}

/// What went wrong, grouped by what the user can do about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Options, environment or configuration are wrong (exit 2).
    Usage,
    /// No usable login (exit 4).
    AuthRequired,
    /// Device login denied or expired (exit 5).
    NotCompleted,
    /// Ctrl-C (exit 130).
    Interrupted,
    /// The identity provider or the network failed (exit 1).
    Idp,
    /// Local storage failed (exit 1).
    Storage,
}

/// A vmauth error: a kind (which decides the exit code) and a one-line message.
///
/// Messages never contain tokens or secrets: server bodies are never quoted, only
/// the OAuth `error` / `error_description` fields (sanitised).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    kind: Kind,
    message: String,
}

impl Error {
    pub fn new(kind: Kind, message: impl Into<String>) -> Self {
        Error {
            kind,
            message: one_line(&message.into()),
        }
    }
    pub fn usage(message: impl Into<String>) -> Self {
        Self::new(Kind::Usage, message)
    }
    pub fn auth_required(message: impl Into<String>) -> Self {
        Self::new(Kind::AuthRequired, message)
    }
    pub fn not_completed(message: impl Into<String>) -> Self {
        Self::new(Kind::NotCompleted, message)
    }
    pub fn idp(message: impl Into<String>) -> Self {
        Self::new(Kind::Idp, message)
    }
    pub fn storage(message: impl Into<String>) -> Self {
        Self::new(Kind::Storage, message)
    }
    pub fn interrupted() -> Self {
        Self::new(Kind::Interrupted, "interrupted")
    }

    pub fn kind(&self) -> Kind {
        self.kind
    }
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Prefix the message with context, keeping the kind.
    pub fn context(self, what: impl fmt::Display) -> Self {
        Error::new(self.kind, format!("{what}: {}", self.message))
    }

    pub fn exit_code(&self) -> i32 {
        match self.kind {
            Kind::Usage => exit::USAGE,
            Kind::AuthRequired => exit::AUTH_REQUIRED,
            Kind::NotCompleted => exit::NOT_COMPLETED,
            Kind::Interrupted => exit::INTERRUPTED,
            Kind::Idp | Kind::Storage => exit::FAILURE,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Invisible formatting characters (Unicode category Cf: bidi overrides, zero-width
/// characters) that can make text read differently from what it is.
pub fn is_format_char(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{061C}' | '\u{180E}'
        | '\u{200B}'..='\u{200F}'
        | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{2064}'
        | '\u{2066}'..='\u{206F}'
        | '\u{FEFF}'
        | '\u{FFF9}'..='\u{FFFB}')
}

/// Text safe to print on a terminal: control characters (escape sequences) and
/// invisible formatting characters removed; newlines kept.
pub fn terminal_safe(s: &str) -> String {
    s.chars()
        .filter(|c| *c == '\n' || !(c.is_control() || is_format_char(*c)))
        .collect()
}

/// Fold a message onto one line and drop control characters (a server-supplied
/// `error_description` must not be able to move the cursor or fake output).
pub fn one_line(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut last_space = false;
    for c in s.chars() {
        let c = if c.is_whitespace() { ' ' } else { c };
        if c.is_control() || is_format_char(c) {
            continue;
        }
        if c == ' ' {
            if last_space {
                continue;
            }
            last_space = true;
        } else {
            last_space = false;
        }
        out.push(c);
    }
    out.trim().to_string()
}

/// Text that came from a server: one line, at most `max` characters.
pub fn from_server(s: &str, max: usize) -> String {
    let line = one_line(s);
    if line.chars().count() <= max {
        line
    } else {
        let mut cut: String = line.chars().take(max).collect();
        cut.push('…');
        cut
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_are_stable() {
        assert_eq!(Error::usage("x").exit_code(), 2);
        assert_eq!(Error::auth_required("x").exit_code(), 4);
        assert_eq!(Error::not_completed("x").exit_code(), 5);
        assert_eq!(Error::interrupted().exit_code(), 130);
        assert_eq!(Error::idp("x").exit_code(), 1);
        assert_eq!(Error::storage("x").exit_code(), 1);
    }

    #[test]
    fn messages_are_one_line_without_control_characters() {
        let e = Error::idp("bad\nthing\x1b[2J  here\r\n");
        assert_eq!(e.message(), "bad thing[2J here");
    }

    #[test]
    fn terminal_text_loses_escapes_and_bidi_overrides() {
        assert_eq!(
            terminal_safe("a\x1b]0;PWNED\x07b\nc\u{202E}d"),
            "a]0;PWNEDb\ncd"
        );
        assert_eq!(one_line("AB\u{200B}CD"), "ABCD");
    }

    #[test]
    fn server_text_is_truncated() {
        assert_eq!(from_server("abcdef", 3), "abc…");
        assert_eq!(from_server("abc", 3), "abc");
    }
}
