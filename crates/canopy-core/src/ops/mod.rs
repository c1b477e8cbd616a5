//! One module per family of operations. Each function is one operation's rules, written as a
//! synchronous transaction over a [`crate::Tx`]; `lib.rs` wires them to the API trait.

pub mod account;
pub mod effective;
pub mod organization;
pub mod ou;
pub mod policy;
pub mod tags;
// ---- section HANDSHAKES: handshakes and EnableAllFeatures ----
pub mod handshake;
// ---- end HANDSHAKES ----
// ---- section DELEGATION: trusted access, delegated administrators and the resource policy ----
pub mod delegation;
pub mod resource_policy;
// ---- end DELEGATION ----
// ---- section GOVCLOUD: GovCloud accounts, responsibility transfers and caller principals ----
pub mod govcloud;
pub mod transfer;
// ---- end GOVCLOUD ----
