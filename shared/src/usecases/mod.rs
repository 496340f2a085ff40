//! Use cases: one per function. Each reads the ledger and the world through
//! the ports, applies the pure domain, writes back with conditional writes,
//! and returns the next [`Step`](crate::io::Step).

pub mod advance;
pub mod check;
pub mod decide;
pub mod notify;
pub mod start;

use crate::config::Config;
use crate::domain::export::ExportKind;
use crate::domain::ledger::{Head, Mode};
use crate::domain::poll;
use crate::domain::Epoch;
use crate::error::CoreError;
use crate::ports::{Clock, ControlStore, ExportService, Ledger, Mirrors, Notifier};

/// Decide calls per execution: the drain loop's bound.
pub const MAX_ITERATIONS: u32 = 48;
/// Exports one execution sees through before it leaves the rest to the next.
pub const MAX_EXPORTS_PER_EXECUTION: u32 = 12;
/// How far the latest restorable time usually trails now, for the cheap
/// "is more exportable already?" guess after an export (Decide checks it).
pub const TYPICAL_PITR_LAG: Epoch = 300;

/// The ports one use case works with.
pub struct Env<'a, C, L, X, N> {
    pub cfg: &'a Config,
    pub clock: &'a dyn Clock,
    pub control: &'a C,
    pub ledger: &'a L,
    pub exports: &'a X,
    pub notifier: &'a N,
}

impl<C, L, X, N> Env<'_, C, L, X, N>
where
    C: ControlStore,
    L: Ledger,
    X: ExportService,
    N: Notifier,
{
    pub async fn head(&self) -> Result<Head, CoreError> {
        Ok(self.ledger.head().await?.unwrap_or_default())
    }

    /// The stored version a write of `head` must find (None: no item yet).
    pub fn expected(head: &Head) -> Option<u64> {
        (head.version > 0).then_some(head.version)
    }

    /// First wait for an export of `kind`: from the catalog's recent
    /// durations of that kind (any kind when there are none yet).
    pub async fn first_wait(&self, kind: ExportKind) -> Result<Epoch, CoreError> {
        let recent = self.ledger.recent(20).await?;
        let of_kind: Vec<Epoch> = recent
            .iter()
            .filter(|e| e.kind == kind)
            .filter_map(|e| e.duration())
            .take(5)
            .collect();
        let durations = if of_kind.is_empty() {
            recent.iter().filter_map(|e| e.duration()).take(5).collect()
        } else {
            of_kind
        };
        Ok(poll::first_wait(&durations, self.cfg.poll_wait_seconds))
    }

    /// Brings the original's SSM parameters in line with the ledger.
    pub async fn mirror(&self, before: Option<&Head>, after: &Head) -> Result<(), CoreError> {
        let old = before.map(mirrors_of);
        self.control
            .write_mirrors(&mirrors_of(after), old.as_ref())
            .await
    }
}

/// The original's read-only parameters, derived from the ledger head.
pub fn mirrors_of(head: &Head) -> Mirrors {
    let full_in_flight = head
        .in_flight
        .as_ref()
        .is_some_and(|f| f.kind == ExportKind::Full);
    let full_failed = head.mode == Mode::NeedsFullExport
        && head
            .last_failure
            .as_ref()
            .is_some_and(|f| f.kind == ExportKind::Full);
    let workflow_initiated = if full_in_flight {
        Some("NULL")
    } else if full_failed {
        Some("false")
    } else if head.mode == Mode::Incremental {
        Some("true")
    } else {
        None
    };
    let last_incremental_export_time = match (head.watermark, head.full_export_time) {
        (Some(w), Some(f)) if w > f && head.mode == Mode::Incremental => Some(w),
        _ => None,
    };
    Mirrors {
        full_export_time: head.full_export_time,
        last_incremental_export_time,
        workflow_initiated,
        workflow_state: head.state,
    }
}
