//! The workflow as a service: the configuration, the clock and the ports
//! one function has, with its use cases as methods (in [`crate::usecases`]).
//!
//! Each use case's `impl` block names the ports it needs, once; a function
//! builds the service with the adapters it links and `()` for the rest, so
//! a use case that needs a port the function did not build does not compile.

use crate::config::Config;
use crate::domain::export::ExportKind;
use crate::domain::ledger::Head;
use crate::domain::mirrors::Mirrors;
use crate::domain::{poll, Epoch};
use crate::error::CoreError;
use crate::ports::{Clock, ControlStore, Ledger};
use std::sync::Arc;

/// The ports of one function, and what it knows.
pub struct Service<C = (), L = (), X = (), N = ()> {
    pub config: Config,
    pub clock: Arc<dyn Clock>,
    pub control: C,
    pub ledger: L,
    pub exports: X,
    pub notifier: N,
}

impl<C, L, X, N> std::fmt::Debug for Service<C, L, X, N> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Service")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// The stored version a write of `head` must find (`None`: no item yet).
pub fn expected(head: &Head) -> Option<u64> {
    (head.version > 0).then_some(head.version)
}

impl<C, L, X, N> Service<C, L, X, N> {
    pub fn now(&self) -> Epoch {
        self.clock.now()
    }
}

impl<C, L: Ledger, X, N> Service<C, L, X, N> {
    /// The head as stored (the empty head before the first run).
    pub async fn head(&self) -> Result<Head, CoreError> {
        Ok(self.ledger.head().await?.unwrap_or_default())
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
        Ok(poll::first_wait(&durations, self.config.poll_wait_seconds))
    }
}

impl<C: ControlStore, L, X, N> Service<C, L, X, N> {
    /// Brings the original's SSM parameters in line with the ledger.
    pub async fn mirror(&self, before: Option<&Head>, after: &Head) -> Result<(), CoreError> {
        let old = before.map(Mirrors::of);
        self.control
            .write_mirrors(&Mirrors::of(after), old.as_ref())
            .await
    }
}
