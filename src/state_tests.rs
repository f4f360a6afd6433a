//! Unit tests for `src/state.rs`.

use super::*;

#[test]
fn state_json_is_read_once_per_process_and_updated_under_its_lock() {
    let t = tempfile::tempdir().unwrap();
    let state = StateDir::new(t.path().join("config"), true, Box::new(|_| {}));
    state.ensure().unwrap();
    let file = t.path().join("config/state.json");
    fs::write(&file, r#"{"current":"a|c","auto_store":"file"}"#).unwrap();
    assert_eq!(state.get().as_deref(), Some("a|c"));
    // Another process changes it: this one keeps the snapshot it read...
    fs::write(&file, r#"{"current":"b|c","auto_store":"keyring"}"#).unwrap();
    assert_eq!(state.auto_store().as_deref(), Some("file"));
    // ...but a change is made to what is on disk, under the lock, and then seen.
    state.set(Some("d|c")).unwrap();
    assert_eq!(state.auto_store().as_deref(), Some("keyring"), "not lost");
    assert_eq!(state.get().as_deref(), Some("d|c"));
    let on_disk: serde_json::Value = serde_json::from_slice(&fs::read(&file).unwrap()).unwrap();
    assert_eq!(on_disk["current"], "d|c");
    assert_eq!(on_disk["auto_store"], "keyring");
}
