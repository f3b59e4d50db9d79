//! The pgvector tests, on servers with pgvector (PostgreSQL 18.4 with pgvector 0.8.5,
//! and 16.11 with 0.8.1 for the version gates): a binary of their own, since
//! scripts/test.sh runs them on those servers only and scripts/postgres-versions.sh
//! leaves them out. Run one module with `cargo test --test vector vector_rebuild::`.

mod vector;
mod vector_estimate;
mod vector_prediction;
mod vector_rebuild;
mod vector_unknown;
