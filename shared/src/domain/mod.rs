//! The pure domain: plain data and functions over it, property-testable.

pub mod control;
pub mod decision;
pub mod export;
pub mod ledger;
pub mod notification;
pub mod poll;
pub mod timefmt;
pub mod token;
pub mod window;

/// Epoch seconds (UTC). Export times are whole seconds in the service's API.
pub type Epoch = i64;
