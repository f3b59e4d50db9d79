//! index-pilot: keeps PostgreSQL index bloat under control across a fleet of databases.
//!
//! An invocation (`invocation`) turns an event into work and a report; the `engine`
//! works through one target, database by database; `domain` holds the rules with no
//! I/O. The ports and their adapters: `control` and `target_db` (PostgreSQL), `login`
//! (connection settings, secrets, IAM), `aws` (Secrets Manager, Lambda, CloudWatch).

pub mod aws;
pub mod config;
pub mod control;
pub mod domain;
pub(crate) mod engine;
pub mod invocation;
pub mod login;
pub mod pg;
pub mod report;
pub mod target_db;
