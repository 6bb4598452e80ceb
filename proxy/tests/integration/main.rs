//! The proxy's integration tests, in one test binary: the proxy on a real
//! port (in this process, or as a child process where a test kills it),
//! against the sandbox CallKeeper or a scripted stub.
//!
//! One binary rather than one per file: each test binary links the whole
//! proxy with axum, sqlx and reqwest again, and on a small machine the links
//! cost more than the tests. `cargo test -p proxy --test integration delivery::`
//! runs one file's tests.
//!
//! Files drive the proxy in this process through [`support::TestProxy`],
//! or the real binary through [`support::ProxyBinary`] (floods, reload).
//! The binary runs once per store engine (`engines.rs`): SQLite, then
//! PostgreSQL with `TEST_STORE=postgres` (`cargo xtask test` runs both).

mod api;
mod attacks;
mod bot_checks;
mod challenge;
mod config_example;
mod console;
mod delivery;
mod doctor;
mod engines;
mod exactly_once;
mod fault_matrix;
mod flood;
mod init;
mod limits;
mod observability;
mod operators;
mod phone_numbers;
mod reload;
mod replicas;
mod serving;
mod status_flow;
mod streams;
mod support;
