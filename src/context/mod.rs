//! The one place a command's outside world is put together: the streams and
//! terminal UI, the credential store the settings name ([`open_store`], with
//! the `auto` decision and its memory in the state directory), the
//! state directory, the clock and random source, and what the protocol engine
//! is given ([`Context::seams`]). Also where a confidential client's secret or
//! key is read ([`client_source`]), so the engine never reads one itself.

pub(crate) mod client_source;

use std::rc::Rc;

use crate::cli::StoreChoice;
use crate::clock::{Clock, Rng};
use crate::credential::{Credential, LoginId};
use crate::error::{Error, Result};
use crate::io::Io;
use crate::settings::{Common, ProfileLogin};
use crate::state::StateDir;
use crate::store::auto::AutoStore;
use crate::store::file::FileStore;
use crate::store::helper::HelperStore;
use crate::store::keyring::{KeyringStore, default_max_item};
use crate::store::memory::MemoryStore;
use crate::store::offsets::Offsets;
use crate::store::{CredentialStore, Located};
use crate::ui::Ui;

/// Everything a command needs from the outside world, injected: the streams, the
/// terminal UI, the credential store, vmauth's state directory, time and randomness.
pub struct Context {
    pub(crate) io: Io,
    pub(crate) ui: Ui,
    /// The credential store `--store` names, opened when first used (a
    /// login opens it up front, to check that a keychain takes writes).
    store: std::cell::OnceCell<Box<dyn CredentialStore>>,
    /// The settings every command shares: what opening the store needs, the
    /// logins config.toml's profiles name (for `status`), the selected
    /// profile (endpoint overrides, login hints), config.toml's path.
    pub(crate) common: Common,
    pub(crate) state: StateDir,
    pub(crate) clock: Rc<dyn Clock>,
    pub(crate) rng: Rc<dyn Rng>,
    /// Warnings for the person, for the layers that never print.
    pub(crate) warn: crate::WarnSink,
    /// The async runtime, built the first time a command uses the network,
    /// then shared by all its requests.
    runtime: std::cell::OnceCell<tokio::runtime::Runtime>,
}

impl Context {
    /// The context of a command. The store the settings name is opened when
    /// first used (cheap for the file store; `auto` probes the keychain once);
    /// `will_write`: the command is about to store a new login, so the store
    /// is opened now and a keychain checked for writes before the identity
    /// provider is contacted.
    pub fn new(
        common: Common,
        will_write: bool,
        io: Io,
        clock: Rc<dyn Clock>,
        rng: Rc<dyn Rng>,
    ) -> Result<Context> {
        // A store that cannot be configured is said up front, whatever follows.
        check_store(&common)?;
        let ctx = Context::build(common, io, clock, rng);
        if will_write {
            let store = open_store(&ctx.common, &ctx.state, &ctx.ui, ctx.rng.clone(), true)?;
            let _ = ctx.store.set(store);
        }
        Ok(ctx)
    }

    /// A context around a given store (tests give one that misbehaves).
    #[cfg(test)]
    pub(crate) fn with_store(
        common: &Common,
        store: Box<dyn CredentialStore>,
        io: Io,
        clock: Rc<dyn Clock>,
        rng: Rc<dyn Rng>,
    ) -> Context {
        let ctx = Context::build(common.clone(), io, clock, rng);
        let _ = ctx.store.set(store);
        ctx
    }

    /// The credential store, opened the first time it is asked for.
    pub(crate) fn store(&self) -> Result<&dyn CredentialStore> {
        if let Some(s) = self.store.get() {
            return Ok(&**s);
        }
        let opened = open_store(&self.common, &self.state, &self.ui, self.rng.clone(), false)?;
        Ok(&**self.store.get_or_init(|| opened))
    }

    fn build(common: Common, io: Io, clock: Rc<dyn Clock>, rng: Rc<dyn Rng>) -> Context {
        let ui = Ui::new(io.clone(), common.no_color);
        let state = StateDir::new(
            common.config_dir.path.clone(),
            common.config_dir.own,
            ui.warn_sink(),
        );
        Context {
            io,
            warn: ui.warn_sink(),
            ui,
            store: Default::default(),
            common,
            state,
            clock,
            rng,
            runtime: Default::default(),
        }
    }

    /// The selected login's cache key: the one the settings name, else the
    /// current login. `None` means nobody is logged in.
    pub(crate) fn selected_key(&self, login: &Option<LoginId>) -> Option<String> {
        match login {
            Some(id) => Some(id.cache_key()),
            None => self.state.get(),
        }
    }

    /// The stored login `key`, if there is one, checked: an entry whose issuer,
    /// client or audience disagree with its key is refused (a planted or edited
    /// entry must not send its tokens, or the client's secret, to another
    /// issuer). Its tokens are registered so no message can show them.
    pub(crate) fn load(&self, key: &str) -> Result<Option<Credential>> {
        let c = self.store()?.get(key)?;
        c.map(|c| self.checked(key, c)).transpose()
    }

    /// [`Context::load`] as last written by anyone, for a refresh under the
    /// lock (`CredentialStore::get_latest`).
    pub(crate) fn load_latest(&self, key: &str) -> Result<Option<Credential>> {
        let c = self.store()?.get_latest(key)?;
        c.map(|c| self.checked(key, c)).transpose()
    }

    /// [`Context::load`], with the store that holds the login (for `status`).
    pub(crate) fn load_located(&self, key: &str) -> Result<Option<Located>> {
        let Some(l) = self.store()?.get_located(key)? else {
            return Ok(None);
        };
        let credential = self.checked(key, l.credential)?;
        Ok(Some(Located { credential, ..l }))
    }

    fn checked(&self, key: &str, c: Credential) -> Result<Credential> {
        self.guard(&c);
        c.check_key(key).map_err(|why| {
            let id = LoginId::from_key(key);
            Error::storage(format!(
                "the stored login {key:?} in {} {why}, so it was not used; log in again ({}) or remove it (vmauth logout --issuer {} --client-id {}{})",
                self.store().map(|s| s.location()).unwrap_or_default(),
                id.login_hint(),
                id.issuer,
                id.client_id,
                id.audience.map(|a| format!(" --audience {a}")).unwrap_or_default(),
            ))
        })?;
        Ok(c)
    }

    /// Every stored login that passes [`Context::load`]'s check, with the store
    /// that holds it, in one read of the store; the others are named in a warning.
    pub(crate) fn load_all(&self) -> Result<Vec<(String, Located)>> {
        let mut out = Vec::new();
        for (key, l) in self.store()?.list_located()? {
            self.guard(&l.credential);
            match l.credential.check_key(&key) {
                Ok(()) => out.push((key, l)),
                Err(why) => self
                    .ui
                    .warn(&format!("skipping the stored login {key:?}: it {why}")),
            }
        }
        Ok(out)
    }

    /// Never show this login's tokens in a message.
    pub(crate) fn guard(&self, c: &Credential) {
        for t in [
            Some(&c.access_token),
            c.refresh_token.as_ref(),
            c.id_token.as_ref(),
        ]
        .into_iter()
        .flatten()
        {
            self.io.redact(t.expose());
        }
    }

    /// The profile that names the login `key`, if one does.
    pub(crate) fn profile_of(&self, key: &str) -> Option<&ProfileLogin> {
        self.common.profile_logins.iter().find(|p| p.key == key)
    }

    /// What a provider session for the login `id` is given: the state
    /// directory's caches, the warning sink, the clock, and the selected
    /// profile's endpoint overrides when `id` is its login.
    pub(crate) fn seams(&self, id: &LoginId) -> crate::oidc::provider::Seams<'_> {
        let key = id.cache_key();
        crate::oidc::provider::Seams {
            cache: &self.state,
            warn: &*self.warn,
            secret: &self.io,
            clock: &*self.clock,
            rng: &*self.rng,
            overrides: self
                .common
                .selected_profile
                .as_ref()
                .filter(|p| p.key == key)
                .map(|p| &p.overrides),
        }
    }

    /// Take the per-login locks that make a refresh single-flight across
    /// processes: the store's own when it has one (beside the credentials
    /// file, shared with processes of other config directories), then the one
    /// in the config directory (every store, and older vmauth versions, take
    /// it; skipped only when that directory takes no writes and the store's
    /// lock is held). Always in this order, so two processes never wait for
    /// each other.
    pub(crate) fn lock_login(
        &self,
        key: &str,
        wait: std::time::Duration,
    ) -> Result<Vec<crate::fsutil::LockGuard>> {
        let own = self.store()?.lock_login(key, wait);
        let mut held = Vec::new();
        match self.state.lock_login(key, wait) {
            Ok(lock) => held.push(lock),
            // A config directory that takes no writes (root's, or mounted
            // read-only): the store's own lock, when it has one, serves.
            Err(e) if e.is_read_only_fs() && matches!(own, Some(Ok(_))) => {}
            Err(e) => return Err(e),
        }
        if let Some(lock) = own {
            held.push(lock?);
        }
        Ok(held)
    }
}

impl Context {
    /// The "not logged in" error, naming the command that fixes it: a login a
    /// profile names (the selected one first) is made with `vmauth login
    /// --profile NAME` (which keeps its scopes and the rest), any other from
    /// its parts.
    pub(crate) fn not_logged_in(&self, key: Option<&str>, why: &str) -> Error {
        let hint = match (key, &self.common.selected_profile) {
            (Some(k), Some(p)) if p.key == k => format!("vmauth login --profile {}", p.profile),
            // A profile names this login (git and cargo reach it that way).
            (Some(k), _) if let Some(p) = self.profile_of(k) => {
                format!("vmauth login --profile {}", p.name)
            }
            (Some(k), _) => LoginId::from_key(k).login_hint(),
            (None, _) => "vmauth login --issuer URL --client-id ID".to_string(),
        };
        Error::auth_required(format!("{why}; run: {hint}"))
    }
}

impl Context {
    /// The single-threaded async runtime, built the first time a command
    /// uses the network (the cached-token path never does).
    pub(crate) fn runtime(&self) -> Result<&tokio::runtime::Runtime> {
        if self.runtime.get().is_none() {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| {
                    Error::with_cause(crate::error::Kind::Idp, "cannot start the async runtime", e)
                })?;
            // Set once: a command runs on one thread.
            let _ = self.runtime.set(rt);
        }
        self.runtime
            .get()
            .ok_or_else(|| Error::idp("cannot start the async runtime"))
    }
}

/// The settings' store choice, checked without opening anything: what
/// [`open_store`] would refuse for the configuration alone.
pub(crate) fn check_store(common: &Common) -> Result<()> {
    if common.store == StoreChoice::Helper && common.helper.is_none() {
        return Err(missing_helper());
    }
    Ok(())
}

fn missing_helper() -> Error {
    Error::usage(
        "--store helper needs VMAUTH_CREDENTIAL_HELPER=<program>; see README.md for the protocol",
    )
}

/// The store for this run: the one the settings name (`--store`,
/// `VMAUTH_STORE`, `VM_OIDC_NO_PERSIST`), with the `auto` decision and its
/// memory in the state directory.
pub(crate) fn open_store(
    common: &Common,
    state: &StateDir,
    ui: &Ui,
    rng: Rc<dyn Rng>,
    will_write: bool,
) -> Result<Box<dyn CredentialStore>> {
    let creds = &common.credentials_file;
    let file = || {
        FileStore::new(creds.path.clone(), creds.own, ui.warn_sink())
            .with_offsets(Offsets::new(state.config_dir()))
    };
    let keyring = |check_write: bool| {
        KeyringStore::open(
            state.config_dir(),
            common.keyring_timeout,
            common.keyring_max_item.unwrap_or_else(default_max_item),
            check_write,
            ui.warn_sink(),
            rng.clone(),
        )
    };
    Ok(match common.store {
        StoreChoice::File => Box::new(file()),
        StoreChoice::Memory => Box::new(MemoryStore::default()),
        StoreChoice::Helper => {
            let program = common.helper.clone().ok_or_else(missing_helper)?;
            Box::new(HelperStore::new(program, common.helper_timeout))
        }
        StoreChoice::Keyring => Box::new(keyring(will_write).map_err(|e| {
            Error::usage(format!(
                "--store keyring: {}; or use --store file",
                e.message()
            ))
        })?),
        StoreChoice::Auto => match state.auto_store().as_deref() {
            Some("file") => Box::new(file()),
            Some("keyring") => match keyring(will_write) {
                Ok(k) => Box::new(AutoStore::new(k, file(), ui.warn_sink())),
                Err(e) => {
                    ui.warn(&format!(
                        "the OS keychain is not available now ({}); using {}",
                        e.message(),
                        creds.path.display()
                    ));
                    Box::new(file())
                }
            },
            // The first decision checks that the keychain takes writes too.
            _ => match keyring(true) {
                Ok(k) => {
                    state.set_auto_store("keyring")?;
                    Box::new(AutoStore::new(k, file(), ui.warn_sink()))
                }
                // A command that does not log in (status, token) says nothing
                // of where logins would go: the choice is remembered quietly
                // (so the keychain is not probed again), and `vmauth login`
                // names the file it stores in.
                Err(_) if !will_write => {
                    // Best effort: a config directory that takes no writes
                    // must not stop a command that only reads.
                    let _ = state.set_auto_store("file");
                    Box::new(file())
                }
                Err(e) => {
                    ui.info(&format!(
                        "vmauth: no usable OS keychain ({}); credentials go to {} (mode 0600). This choice is remembered; use --store keyring to require a keychain.",
                        e.message(),
                        creds.path.display()
                    ));
                    state.set_auto_store("file")?;
                    Box::new(file())
                }
            },
        },
    })
}
