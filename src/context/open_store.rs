//! Opening the credential store the settings name (`--store`, `VMAUTH_STORE`,
//! `VM_OIDC_NO_PERSIST`), including the `auto` decision and its memory in the
//! state directory.

use std::rc::Rc;

use crate::cli::StoreChoice;
use crate::clock::Rng;
use crate::error::{Error, Result};
use crate::settings::Common;
use crate::state::StateDir;
use crate::store::CredentialStore;
use crate::store::auto::AutoStore;
use crate::store::file::FileStore;
use crate::store::helper::HelperStore;
use crate::store::keyring::{KeyringStore, default_max_item};
use crate::store::memory::MemoryStore;
use crate::store::offsets::Offsets;
use crate::ui::Ui;

/// The settings' store choice, checked without opening anything: what
/// [`open`] would refuse for the configuration alone.
pub(crate) fn check(common: &Common) -> Result<()> {
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

/// The store for this run.
pub(crate) fn open(
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
