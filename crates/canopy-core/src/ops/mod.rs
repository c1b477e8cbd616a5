//! One module per family of operations. Each function is one operation's rules, written as a
//! synchronous transaction over a [`crate::Tx`]; `lib.rs` wires them to the API trait.

pub mod account;
pub mod delegation;
pub mod effective;
pub mod govcloud;
pub mod handshake;
pub mod organization;
pub mod ou;
pub mod policy;
pub mod resource_policy;
pub mod tags;
pub mod transfer;
