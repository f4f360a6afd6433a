//! The crate's own test support: the in-process harness that runs command lines
//! against mock identity providers ([`harness`]) and signing keys with JWTs
//! signed by them ([`keys`]), and property tests of the parsers' round trips.
#![allow(dead_code)]

pub(crate) mod harness;
pub(crate) mod keys;
#[path = "../../tests/support/mock_idp.rs"]
pub(crate) mod mock_idp;
mod proptests;
