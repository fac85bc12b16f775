//! Shared support for the integration tests: include with `mod support;`.
//! Each test binary uses only part of it, hence the dead_code allowance.
#![allow(dead_code)]

pub mod cmd;
pub mod fake_auth;
pub mod fake_kfp;
