//! Pure logic: no I/O. Everything here is decided from values the adapters bring.

pub mod aftermath;
pub mod baseline;
pub mod bloat;
pub mod blocker;
pub mod budget;
pub mod confirm;
pub mod deferral;
pub mod eligibility;
pub mod estimate;
pub mod failure;
pub mod fleet;
pub mod forecast;
pub mod hazard;
pub mod ident;
pub(crate) mod inspect;
pub mod plan;
pub mod preflight;
pub mod progress;
pub mod server;
pub mod settings;
pub mod sift;
pub mod standing;
pub mod stored;
pub mod units;
pub mod window;
