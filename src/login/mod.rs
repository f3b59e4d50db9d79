//! How index-pilot logs in to a database: the connection settings and their
//! rotation ([`connect`]), the passwords from Secrets Manager ([`secrets`]), IAM
//! tokens ([`iam`]) and the password file of local runs ([`pgpass`]).

pub mod connect;
pub mod iam;
pub mod pgpass;
pub mod secrets;
