//! The one error type of vmauth: every failure maps to a stable exit code and a
//! one-line, secret-free message that names the fix.
//!
//! An [`Error`] is a [`Kind`] (which decides the exit code) over an `anyhow` cause
//! chain: the outermost context is what happened, the inner causes (an
//! `std::io::Error`, a protocol error) say why. The chain is kept, not flattened
//! into a string, so code that handles an error can still look at its cause (a
//! broken pipe on stdout ends `vmauth token` quietly). The message shown to the
//! user is the chain joined with `": "`, folded to one line.

use std::fmt;

/// Every exit status with what it means, from [`exit`]: `--help`'s "Exit
/// codes" and the man pages' EXIT STATUS are written from it.
pub const EXIT_STATUS: &[(i32, &str)] = &[
    (exit::OK, "success"),
    (
        exit::FAILURE,
        "identity provider, network or storage failure",
    ),
    (
        exit::USAGE,
        "usage or configuration error (bad option, http:// issuer, ...)",
    ),
    (
        exit::AUTH_REQUIRED,
        "authentication required: not logged in, or the login cannot be refreshed",
    ),
    (
        exit::NOT_COMPLETED,
        "login not completed: denied, or the code expired",
    ),
    (exit::NOT_RUNNABLE, "exec: the command cannot be run"),
    (exit::NOT_FOUND, "exec: the command is not found"),
    (exit::INTERRUPTED, "interrupted (Ctrl-C)"),
];

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
    /// `vmauth exec`: the command cannot be run.
    pub const NOT_RUNNABLE: i32 = 126;
    /// `vmauth exec`: the command is not found.
    pub const NOT_FOUND: i32 = 127;
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
    /// `vmauth exec`: the command does not exist (exit 127, as shells say).
    CommandNotFound,
    /// `vmauth exec`: the command exists but cannot be run (exit 126).
    CommandNotRunnable,
    /// `vmauth exec` without `execve`: the command ran and exited with this code.
    ChildExited(i32),
}

/// A vmauth error: a kind (which decides the exit code) and a cause chain whose
/// text is the one-line message.
///
/// Messages never contain tokens or secrets: server bodies are never quoted, only
/// the OAuth `error` / `error_description` fields (sanitised).
#[derive(Debug)]
pub struct Error {
    kind: Kind,
    chain: anyhow::Error,
}

/// The reader of standard output has gone.
#[derive(Debug)]
struct StdoutClosed;

impl fmt::Display for StdoutClosed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("cannot write to stdout: the reading end of the pipe is closed")
    }
}

impl std::error::Error for StdoutClosed {}

/// A plain message at the bottom of a cause chain.
#[derive(Debug)]
struct Message(String);

impl fmt::Display for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Message {}

impl Error {
    /// An error of `kind` with a message (folded to one line).
    pub fn new(kind: Kind, message: impl Into<String>) -> Self {
        Error {
            kind,
            chain: anyhow::Error::new(Message(one_line(&message.into()))),
        }
    }

    /// An error of `kind` that says `what` happened because of `cause`; the cause
    /// stays in the chain (and can be inspected with [`Error::find_cause`]).
    pub fn with_cause<E>(kind: Kind, what: impl fmt::Display, cause: E) -> Self
    where
        E: std::error::Error + Send + Sync + 'static,
    {
        Error {
            kind,
            chain: anyhow::Error::new(cause).context(one_line(&what.to_string())),
        }
    }

    /// An error of `kind` whose message is `cause` itself (kept in the chain).
    pub fn wrap<E>(kind: Kind, cause: E) -> Self
    where
        E: std::error::Error + Send + Sync + 'static,
    {
        Error {
            kind,
            chain: anyhow::Error::new(cause),
        }
    }

    /// Options, environment or configuration are wrong (exit 2).
    pub fn usage(message: impl Into<String>) -> Self {
        Self::new(Kind::Usage, message)
    }
    /// No usable login (exit 4).
    pub fn auth_required(message: impl Into<String>) -> Self {
        Self::new(Kind::AuthRequired, message)
    }
    /// Device login denied or expired (exit 5).
    pub fn not_completed(message: impl Into<String>) -> Self {
        Self::new(Kind::NotCompleted, message)
    }
    /// The identity provider or the network failed (exit 1).
    pub fn idp(message: impl Into<String>) -> Self {
        Self::new(Kind::Idp, message)
    }
    /// Local storage failed (exit 1).
    pub fn storage(message: impl Into<String>) -> Self {
        Self::new(Kind::Storage, message)
    }
    /// Local storage failed because of an I/O error: "cannot `what` `path`: cause".
    pub fn io(what: impl fmt::Display, cause: std::io::Error) -> Self {
        Self::with_cause(Kind::Storage, format!("cannot {what}"), cause)
    }
    /// Ctrl-C (exit 130).
    pub fn interrupted() -> Self {
        Self::new(Kind::Interrupted, "interrupted")
    }

    /// The kind, which decides the exit code.
    pub fn kind(&self) -> Kind {
        self.kind
    }

    /// The one-line message: the cause chain joined with `": "`.
    pub fn message(&self) -> String {
        one_line(&format!("{:#}", self.chain))
    }

    /// Prefix the message with context, keeping the kind and the causes.
    pub fn context(self, what: impl fmt::Display) -> Self {
        Error {
            kind: self.kind,
            chain: self.chain.context(one_line(&what.to_string())),
        }
    }

    /// The same error with another kind (a failure that means something else here).
    pub fn with_kind(self, kind: Kind) -> Self {
        Error {
            kind,
            chain: self.chain,
        }
    }

    /// The first cause of type `E` in the chain.
    pub fn find_cause<E: std::error::Error + 'static>(&self) -> Option<&E> {
        self.chain.chain().find_map(|c| c.downcast_ref::<E>())
    }

    /// The reader of stdout has gone (`vmauth token | head -c0`).
    pub fn stdout_closed() -> Self {
        Self::wrap(Kind::Storage, StdoutClosed)
    }

    /// Whether this is [`Error::stdout_closed`]: not worth an error message.
    pub fn is_broken_pipe(&self) -> bool {
        self.find_cause::<StdoutClosed>().is_some()
    }

    /// Whether the cause is a file system that takes no writes here: read-only
    /// (`EROFS`) or not writable by this user (`EACCES`, `EPERM`).
    pub fn is_read_only_fs(&self) -> bool {
        self.find_cause::<std::io::Error>().is_some_and(|e| {
            e.kind() == std::io::ErrorKind::PermissionDenied
                || e.kind() == std::io::ErrorKind::ReadOnlyFilesystem
        })
    }

    /// The process exit code for this error.
    pub fn exit_code(&self) -> i32 {
        match self.kind {
            Kind::Usage => exit::USAGE,
            Kind::AuthRequired => exit::AUTH_REQUIRED,
            Kind::NotCompleted => exit::NOT_COMPLETED,
            Kind::Interrupted => exit::INTERRUPTED,
            Kind::Idp | Kind::Storage => exit::FAILURE,
            Kind::CommandNotFound => exit::NOT_FOUND,
            Kind::CommandNotRunnable => exit::NOT_RUNNABLE,
            Kind::ChildExited(code) => code,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message())
    }
}

impl std::error::Error for Error {}

/// vmauth's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Invisible formatting characters: all of Unicode category Cf (Unicode 15):
/// bidi overrides, zero-width characters, Arabic number signs, Egyptian
/// hieroglyph and shorthand format controls, musical symbol beams and the tag
/// characters (U+E0001, U+E0020–E007F), which are invisible and can carry
/// hidden ASCII text. Any of them can make text read differently from what it
/// is. U+180E (Cf until Unicode 6.3) is kept.
pub fn is_format_char(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{0600}'..='\u{0605}' | '\u{061C}' | '\u{06DD}' | '\u{070F}'
        | '\u{0890}'..='\u{0891}' | '\u{08E2}' | '\u{180E}'
        | '\u{200B}'..='\u{200F}'
        | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{2064}'
        | '\u{2066}'..='\u{206F}'
        | '\u{FEFF}'
        | '\u{FFF9}'..='\u{FFFB}'
        | '\u{110BD}' | '\u{110CD}'
        | '\u{13430}'..='\u{1343F}'
        | '\u{1BCA0}'..='\u{1BCA3}'
        | '\u{1D173}'..='\u{1D17A}'
        | '\u{E0001}' | '\u{E0020}'..='\u{E007F}')
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
#[path = "error_tests.rs"]
mod tests;
