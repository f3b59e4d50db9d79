//! index-pilot: keeps PostgreSQL index bloat under control across a fleet of databases.
//!
//! `domain` holds the rules with no I/O; `control` and `target_db` are the PostgreSQL
//! adapters; `engine` works through one database; `handler` turns an event into a
//! run and a report.

pub mod assignment;
pub mod aws;
pub mod cli;
pub mod config;
pub mod connect;
pub mod continuation;
pub mod control;
pub mod credentials;
pub mod domain;
pub mod engine;
pub mod event;
pub mod free_storage;
pub mod handler;
pub mod iam_auth;
pub mod logging;
pub mod pg;
pub mod pgpass;
pub mod report;
pub mod target_db;
