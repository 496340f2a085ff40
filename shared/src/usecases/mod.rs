//! Use cases: one per function, each a method of [`Service`](crate::service::Service)
//! (notify's of [`Announcer`](notify::Announcer)) whose `impl` block names
//! the ports it uses. Each reads the ledger and the world through the ports,
//! asks the pure domain what to do, and carries it out with conditional writes.

pub mod advance;
pub mod check;
pub mod decide;
pub mod notify;
pub mod start;

use crate::domain::Epoch;

/// Decide calls per execution (waits for a window due soon, pending
/// notifications): the bound of the loops through Decide.
pub const MAX_ITERATIONS: u32 = 8;
/// How far the latest restorable time usually trails now, for the cheap
/// "is more exportable already?" guess after an export (Decide checks it).
pub const TYPICAL_PITR_LAG: Epoch = 300;
