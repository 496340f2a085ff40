//! The workflow as a service: the configuration, the clock and the ports
//! one function has, with its use cases as methods (in [`crate::usecases`]).
//!
//! Each use case's `impl` block names the ports it needs, once; a function
//! builds the service with the adapters it links and `()` for the rest, so
//! a use case that needs a port the function did not build does not compile.

use crate::config::Config;
use crate::domain::export::ExportKind;
use crate::domain::ledger::{CatalogEntry, Head};
use crate::domain::mirrors::Mirrors;
use crate::domain::{poll, Epoch};
use crate::error::CoreError;
use crate::ports::{Clock, ControlStore, Ledger};
use std::sync::Arc;

/// The ports of one function, and what it knows.
pub struct Service<C = (), L = (), X = (), B = ()> {
    pub config: Config,
    pub clock: Arc<dyn Clock>,
    pub control: C,
    pub ledger: L,
    pub exports: X,
    /// The exports published in the bucket (decide-mode, to continue the
    /// original sample's chain).
    pub published: B,
}

impl<C, L, X, B> std::fmt::Debug for Service<C, L, X, B> {
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

/// The first wait for an export of `kind`, learned from `recent` entries
/// (newest first) of that kind, or of any kind when there are none yet.
pub fn first_wait(recent: &[CatalogEntry], kind: ExportKind, min_wait: Epoch) -> Epoch {
    let durations = |of_kind: bool| -> Vec<Epoch> {
        recent
            .iter()
            .filter(|e| !of_kind || e.kind == kind)
            .filter_map(CatalogEntry::duration)
            .take(poll::LEARN_FROM)
            .collect()
    };
    let of_kind = durations(true);
    let learned = if of_kind.is_empty() {
        durations(false)
    } else {
        of_kind
    };
    poll::first_wait(&learned, min_wait)
}

impl<C, L, X, B> Service<C, L, X, B> {
    pub fn now(&self) -> Epoch {
        self.clock.now()
    }
}

impl<C, L: Ledger, X, B> Service<C, L, X, B> {
    /// The head as stored (the empty head before the first run).
    pub async fn head(&self) -> Result<Head, CoreError> {
        Ok(self.ledger.head().await?.unwrap_or_default())
    }

    /// The chain's lag, windows behind and in-flight age now (nothing when
    /// the ledger cannot be read: the metric's absence is what alarms).
    pub async fn gauges(&self) -> Vec<crate::metrics::Metric> {
        match self.head().await {
            Ok(head) => crate::metrics::gauges(&head, self.now(), self.config.window_minutes * 60),
            Err(_) => Vec::new(),
        }
    }

    /// The first wait for an export of `kind`, from the catalog.
    pub async fn first_wait(&self, kind: ExportKind) -> Result<Epoch, CoreError> {
        let recent = self.ledger.recent(2 * poll::LEARN_FROM).await?;
        Ok(first_wait(&recent, kind, self.config.poll_wait_seconds))
    }
}

impl<C: ControlStore, L, X, B> Service<C, L, X, B> {
    /// Brings the original's SSM parameters in line with `head`. They are
    /// a view of the ledger, never on the chain's critical path: a failure
    /// is logged and left for the next run, which rewrites what is stale.
    /// `known`: the head the parameters were last written from (saves
    /// reading them); `None` reads them.
    pub async fn sync_mirrors(&self, head: &Head, known: Option<&Head>) {
        let current = match known {
            Some(before) => Mirrors::of(before).stored(),
            None => match self.control.read_mirrors().await {
                Ok(current) => current,
                Err(e) => {
                    tracing::warn!(error = %e, "mirrors not read; the next run rewrites them");
                    return;
                }
            },
        };
        for (name, value) in Mirrors::of(head).changes(&current) {
            if let Err(e) = self.control.write_mirror(name, value.as_deref()).await {
                tracing::warn!(error = %e, mirror = name, "mirror not written; the next run rewrites it");
            }
        }
    }
}
