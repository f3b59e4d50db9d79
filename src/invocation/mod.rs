//! One invocation, from the event to the report: what the event asks
//! ([`event`]), which targets this invocation takes ([`assignment`]), the work and
//! the report ([`handler`]), the hop's targets and the chain (`hop`), and how the run goes on in the next hop
//! ([`continuation`]).

pub mod assignment;
pub mod continuation;
pub mod event;
pub mod handler;
mod hop;
