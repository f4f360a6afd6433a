//! Shared test support; each integration test includes the parts it needs.
#![allow(dead_code)]
pub mod cargo_registry;
pub mod cli;
pub mod git_server;
pub mod idp;
pub mod login;
pub mod mock_idp;
pub mod python;
pub mod secret_service;
pub mod tls;
