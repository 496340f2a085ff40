//! The chain's promises, checked after every event of a property test or a
//! chaos run. One copy, so both hold the product to the same rules.
//!
//! The checker remembers what it has already seen (catalog entries and
//! exports are append-mostly), so a check costs the new items only and a
//! run of thousands of simulated days stays fast.

use super::World;
use incx_core::domain::export::ExportKind;
use incx_core::domain::ledger::{CatalogEntry, CatalogStatus, WorkflowState};
use incx_core::domain::window::{MAX_WINDOW, MIN_WINDOW};
use incx_core::domain::Epoch;
use std::collections::HashSet;

type EntryKey = (u32, Epoch, u32);
type ExportKey = (ExportKind, Option<Epoch>, Epoch, String);

fn entry_key(e: &CatalogEntry) -> EntryKey {
    (e.chain, e.span.to, e.attempt)
}

/// What the checks remember between events.
#[derive(Debug, Default)]
pub struct Checker {
    /// Set by the driver when PITR was disabled at least once: only then may
    /// the ledger say PITR_GAP.
    pub pitr_toggled: bool,
    /// Catalog entries checked so far, and the key of the last of them.
    entries_seen: usize,
    last_entry: Option<EntryKey>,
    /// The chain so far: its number and end.
    chain: Option<(u32, Epoch)>,
    completed_arns: HashSet<String>,
    failed_arns: HashSet<String>,
    /// Exports checked so far, and the (kind, span, token) of each.
    exports_seen: usize,
    export_keys: HashSet<ExportKey>,
    /// The head's chain and watermark when last seen.
    last: Option<(u32, Epoch)>,
    /// Gaps and overlaps found (the check fails at the first; for reports).
    pub gaps: u64,
    pub overlaps: u64,
}

impl Checker {
    pub fn new() -> Self {
        Self::default()
    }

    fn restart_catalog(&mut self) {
        self.entries_seen = 0;
        self.last_entry = None;
        self.chain = None;
        self.completed_arns.clear();
        self.failed_arns.clear();
    }

    fn check_entry(&mut self, e: &CatalogEntry) -> Result<(), String> {
        match e.status {
            CatalogStatus::Completed => {
                if !e.export_arn.is_empty() && self.failed_arns.contains(&e.export_arn) {
                    return Err(format!("an export recorded failed also completed: {e:?}"));
                }
                self.completed_arns.insert(e.export_arn.clone());
            }
            CatalogStatus::Failed => {
                // A failed export never moved anything.
                if !e.export_arn.is_empty() && self.completed_arns.contains(&e.export_arn) {
                    return Err(format!("an export recorded completed also failed: {e:?}"));
                }
                self.failed_arns.insert(e.export_arn.clone());
                return Ok(());
            }
        }
        // One contiguous chain per full export: no gap, no overlap.
        match e.kind {
            ExportKind::Full => {
                if self.chain.is_some_and(|(c, _)| e.chain <= c) {
                    return Err(format!("full export does not open a new chain: {e:?}"));
                }
                self.chain = Some((e.chain, e.span.to));
            }
            ExportKind::Incremental => {
                let Some((c, end)) = self.chain else {
                    return Err(format!("incremental before any full export: {e:?}"));
                };
                if e.chain != c {
                    return Err(format!("incremental export in another chain: {e:?}"));
                }
                match e.span.from {
                    Some(from) if from > end => {
                        self.gaps += 1;
                        return Err(format!("gap before {:?} (chain ends at {end})", e.span));
                    }
                    Some(from) if from < end => {
                        self.overlaps += 1;
                        return Err(format!("overlap before {:?} (chain ends at {end})", e.span));
                    }
                    None => return Err(format!("incremental export without start: {e:?}")),
                    Some(_) => {}
                }
                let len = e.span.to - end;
                if !(MIN_WINDOW..=MAX_WINDOW).contains(&len) {
                    return Err(format!("window of {len} s: {e:?}"));
                }
                self.chain = Some((c, e.span.to));
            }
        }
        Ok(())
    }

    /// Checks the world after an event; the first broken promise, if any.
    pub fn check(&mut self, world: &World) -> Result<(), String> {
        {
            let entries = world
                .ledger
                .entries
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            let prefix_intact = entries.len() >= self.entries_seen
                && (self.entries_seen == 0
                    || Some(entry_key(&entries[self.entries_seen - 1])) == self.last_entry);
            if !prefix_intact {
                self.restart_catalog();
            }
            for e in &entries[self.entries_seen..] {
                self.check_entry(e)?;
            }
            self.entries_seen = entries.len();
            self.last_entry = entries.last().map(entry_key);
        }
        {
            let w = world.exports.world();
            for x in &w.exports[self.exports_seen.min(w.exports.len())..] {
                // Never past the horizon when asked for.
                if x.request.span.to > x.started - w.lag {
                    return Err(format!("window ends past the horizon: {x:?}"));
                }
                // At most one export per window and attempt (the token
                // encodes the attempt).
                let key = (
                    x.request.kind,
                    x.request.span.from,
                    x.request.span.to,
                    x.request.client_token.clone(),
                );
                if !self.export_keys.insert(key) {
                    return Err(format!(
                        "duplicate export of {:?} {:?} (token {}): {x:?}",
                        x.request.kind, x.request.span, x.request.client_token
                    ));
                }
            }
            self.exports_seen = w.exports.len();
        }
        let head = world
            .ledger
            .head
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
            .unwrap_or_default();
        // The watermark never moves back within a chain.
        if let Some(w) = head.watermark {
            if let Some((c, prev)) = self.last {
                if c == head.chain {
                    if w < prev {
                        return Err(format!("watermark moved back from {prev} to {w}"));
                    }
                } else if head.chain < c {
                    return Err("chain number moved back".into());
                }
            }
            self.last = Some((head.chain, w));
            if let Some((_, end)) = self.chain {
                if w != end {
                    return Err(format!("watermark {w} differs from the chain's end {end}"));
                }
            }
        }
        if head.state == WorkflowState::PitrGap && !self.pitr_toggled {
            return Err("PITR_GAP without PITR having been disabled".into());
        }
        Ok(())
    }
}
