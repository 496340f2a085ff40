//! The pure domain: plain data and functions over it, property-testable.
//! No I/O, no AWS type, no async.

pub mod catalog;
pub mod control;
pub mod decision;
pub mod export;
pub mod ledger;
pub mod mirrors;
pub mod notification;
pub mod origin;
pub mod poll;
pub mod refusal;
pub mod timefmt;
pub mod token;
pub mod watch;
pub mod window;

/// Epoch seconds (UTC). Export times are whole seconds in the service's API.
pub type Epoch = i64;
