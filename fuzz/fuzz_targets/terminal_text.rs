#![no_main]
//! Fuzz target: see `vmauth::fuzzing::terminal_text`.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| vmauth::fuzzing::terminal_text(data));
