//! Every integration test that needs no process-wide state, one module per subject,
//! in one test binary: it links once and shares one throwaway cluster (each test
//! makes databases of its own). Run one module with `cargo test --test suite fleet::`.
//!
//! Apart: `tests/kill/` (the kill test, on the machine's PostgreSQL only),
//! `tests/vector/` (on a server with pgvector), `tests/password_file.rs` (sets
//! PGPASSFILE for the whole process) and `tests/progress.rs` (installs a global
//! tracing subscriber to read the log).

mod aws;
mod bad_input;
mod baselines;
mod bounded_reads;
mod cli;
mod confirm;
mod connect_errors;
mod continuation;
mod disk;
mod dry_run_budget;
mod eligibility_end_to_end;
mod failover;
mod fan_out;
mod fleet;
mod forecast;
mod hostile_cluster;
mod hostile_failures;
mod hostile_following;
mod hostile_rebuild;
mod hostile_scan;
mod hostile_standbys;
mod iam_auth;
mod leftovers;
mod metrics;
mod nothing_hangs;
mod operator_views;
mod preflight;
mod reindex_engine;
mod scan_state;
mod secrets_stay_out;
mod setting_values;
mod settings_precedence;
mod stale_state;
mod target_errors;
mod tls;
mod unknown_baselines;
mod windows;
