//! The workflow's promises, held against what the simulated services
//! actually did, not against the ledger's own beliefs: the exports the
//! service made (every span at most once, every one recorded), the messages
//! SNS took (every ledger entry announced, nothing announced the ledger
//! does not hold, repeats under one key), and every write to the control
//! (an operator's value never overwritten, but for RESET set back to RUN
//! after that reset's full export). One copy, for the property tests and
//! the chaos run.
//!
//! [`Checker::check`] runs after every step and looks only at what is new
//! (the records are append-only), so thousands of simulated days stay fast;
//! [`Checker::settle`] runs when the faults have stopped and every
//! execution has ended, when every promise must hold in full.

use super::World;
use crate::memory::{lock, Writer};
use incx_core::domain::export::ExportKind;
use incx_core::domain::ledger::{CatalogEntry, CatalogStatus, WorkflowState};
use incx_core::domain::notification::{dedupe_key, Status};
use incx_core::domain::window::{MAX_WINDOW, MIN_WINDOW};
use incx_core::domain::Epoch;
use serde::Serialize;
use std::collections::{HashMap, HashSet};

type Span = (ExportKind, Option<Epoch>, Epoch);

/// The broken promises found, by kind (a run fails at the first; the
/// figures are for the reports).
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Violations {
    pub gaps: u64,
    pub overlaps: u64,
    pub spans_exported_twice: u64,
    pub exports_unrecorded: u64,
    pub entries_without_export: u64,
    pub entries_unannounced: u64,
    pub announcements_without_entry: u64,
    pub controls_overwritten: u64,
    pub stalls: u64,
}

impl Violations {
    pub fn add(&mut self, o: &Violations) {
        self.gaps += o.gaps;
        self.overlaps += o.overlaps;
        self.spans_exported_twice += o.spans_exported_twice;
        self.exports_unrecorded += o.exports_unrecorded;
        self.entries_without_export += o.entries_without_export;
        self.entries_unannounced += o.entries_unannounced;
        self.announcements_without_entry += o.announcements_without_entry;
        self.controls_overwritten += o.controls_overwritten;
        self.stalls += o.stalls;
    }
}

/// What the checks remember between events.
#[derive(Debug, Default)]
pub struct Checker {
    /// Set by the driver when PITR was disabled at least once: only then may
    /// the ledger say PITR_GAP.
    pub pitr_toggled: bool,
    pub found: Violations,
    /// Catalog entries checked so far, and the key of the last of them.
    entries_seen: usize,
    last_entry: Option<String>,
    /// The chain so far: its number and end.
    chain: Option<(u32, Epoch)>,
    /// Service exports checked so far, and the span each live one holds
    /// (an export that did not fail at the service).
    exports_seen: usize,
    live_spans: HashMap<Span, String>,
    /// Control writes checked so far.
    writes_seen: usize,
    /// The head's chain and watermark when last seen.
    last: Option<(u32, Epoch)>,
}

impl Checker {
    pub fn new() -> Self {
        Self::default()
    }

    fn restart_catalog(&mut self) {
        self.entries_seen = 0;
        self.last_entry = None;
        self.chain = None;
    }

    /// One contiguous chain per full export: no gap, no overlap.
    fn check_entry(&mut self, e: &CatalogEntry) -> Result<(), String> {
        if e.status == CatalogStatus::Failed {
            return Ok(());
        }
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
                        self.found.gaps += 1;
                        return Err(format!("gap before {:?} (chain ends at {end})", e.span));
                    }
                    Some(from) if from < end => {
                        self.found.overlaps += 1;
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

    /// After every step: the chain's shape, the service's exports, the
    /// control's writes, the watermark.
    pub fn check(&mut self, world: &World) -> Result<(), String> {
        {
            let entries = lock(&world.ledger.entries);
            let prefix_intact = entries.len() >= self.entries_seen
                && (self.entries_seen == 0
                    || Some(entries[self.entries_seen - 1].sort_key()) == self.last_entry);
            if !prefix_intact {
                self.restart_catalog();
            }
            // A chain that continues the original sample's starts at its end.
            if self.chain.is_none() {
                if let Some(c) = world.ledger.head_now().continued {
                    self.chain = Some((1, c.watermark()));
                }
            }
            for e in &entries[self.entries_seen..] {
                self.check_entry(e)?;
            }
            self.entries_seen = entries.len();
            self.last_entry = entries.last().map(CatalogEntry::sort_key);
        }
        self.check_exports(world)?;
        self.check_control(world)?;
        let head = world.ledger.head_now();
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

    /// What the service made: never past the horizon, and no span twice
    /// (whatever the client tokens) unless the earlier export failed at the
    /// service.
    fn check_exports(&mut self, world: &World) -> Result<(), String> {
        let w = world.exports.world();
        for x in &w.exports[self.exports_seen.min(w.exports.len())..] {
            if x.request.span.to > x.started - w.lag {
                return Err(format!("window ends past the horizon: {x:?}"));
            }
            let span = (x.request.kind, x.request.span.from, x.request.span.to);
            if let Some(first) = self.live_spans.get(&span) {
                let earlier = w.exports.iter().find(|e| &e.arn == first);
                if earlier.is_none_or(|e| e.failure.is_none()) {
                    self.found.spans_exported_twice += 1;
                    let entries: Vec<String> = lock(&world.ledger.entries)
                        .iter()
                        .filter(|e| e.span.to == span.2)
                        .map(|e| {
                            format!(
                                "{:?}/{}/{}/{:?}",
                                e.status, e.attempt, e.export_arn, e.failure_code
                            )
                        })
                        .collect();
                    return Err(format!(
                        "the service exported {span:?} twice: {earlier:?} and {x:?}; ledger entries of the span: {entries:?}; head {:?}",
                        world.ledger.head_now()
                    ));
                }
            }
            self.live_spans.insert(span, x.arn.clone());
        }
        self.exports_seen = w.exports.len();
        Ok(())
    }

    /// Every write the product made to the control: RUN where the control
    /// was missing, or RUN over a RESET whose full export completed after
    /// that RESET was set. Anything else overwrote an operator's value.
    fn check_control(&mut self, world: &World) -> Result<(), String> {
        let writes = lock(&world.control.writes).clone();
        for (i, w) in writes.iter().enumerate().skip(self.writes_seen) {
            if w.by != Writer::Product {
                continue;
            }
            let ok = match w.replaced.as_deref() {
                None => w.value == "RUN",
                Some("RESET_WITH_FULL_EXPORT_AGAIN") if w.value == "RUN" => {
                    // The RESET it replaced, and a full export completed
                    // after it was set.
                    let set_at = writes[..i]
                        .iter()
                        .rev()
                        .find(|p| p.version == w.version - 1)
                        .map(|p| p.at);
                    let entries = lock(&world.ledger.entries);
                    set_at.is_some_and(|t| {
                        entries.iter().any(|e| {
                            e.kind == ExportKind::Full
                                && e.status == CatalogStatus::Completed
                                && e.started_at >= t
                                && e.recorded_at <= w.at
                        })
                    })
                }
                Some(_) => false,
            };
            if !ok {
                self.found.controls_overwritten += 1;
                return Err(format!(
                    "the product wrote {:?} over {:?} (version {}) at {}",
                    w.value, w.replaced, w.version, w.at
                ));
            }
        }
        self.writes_seen = writes.len();
        Ok(())
    }

    /// When the faults have stopped and every execution has ended: every
    /// export the service finished is in the ledger with the status the
    /// service gave it, every ledger entry stands for an export the service
    /// made, and every entry was announced (and only those).
    pub fn settle(&mut self, world: &World) -> Result<(), String> {
        self.check(world)?;
        let now = world.exports.service_now();
        let head = world.ledger.head_now();
        let in_flight = head.in_flight.as_ref().and_then(|f| f.export_arn.clone());
        let entries = lock(&world.ledger.entries).clone();
        let by_arn: HashMap<&str, &CatalogEntry> = entries
            .iter()
            .filter(|e| !e.export_arn.is_empty())
            .map(|e| (e.export_arn.as_str(), e))
            .collect();
        let exports = world.exports.world().exports.clone();
        for x in &exports {
            if now < x.finishes {
                if in_flight.as_deref() != Some(&x.arn) {
                    self.found.exports_unrecorded += 1;
                    return Err(format!(
                        "export {} runs but the ledger does not watch it",
                        x.arn
                    ));
                }
                continue;
            }
            let want = if x.failure.is_none() {
                CatalogStatus::Completed
            } else {
                CatalogStatus::Failed
            };
            match by_arn.get(x.arn.as_str()) {
                Some(e) if e.status == want => {}
                Some(e) => {
                    self.found.exports_unrecorded += 1;
                    return Err(format!(
                        "the service ended {} {want:?}, the ledger says {:?}",
                        x.arn, e.status
                    ));
                }
                None if in_flight.as_deref() == Some(&x.arn) => {}
                None => {
                    self.found.exports_unrecorded += 1;
                    return Err(format!(
                        "the service made {} and the ledger never recorded it: {x:?}",
                        x.arn
                    ));
                }
            }
        }
        let known: HashSet<&str> = exports.iter().map(|x| x.arn.as_str()).collect();
        for e in &entries {
            let backed = if e.export_arn.is_empty() {
                // A refused or never-confirmed attempt: failed, no export.
                e.status == CatalogStatus::Failed
            } else {
                known.contains(e.export_arn.as_str())
            };
            if !backed {
                self.found.entries_without_export += 1;
                return Err(format!("ledger entry with no export behind it: {e:?}"));
            }
        }
        self.check_announced(world, &entries)
    }

    fn check_announced(&mut self, world: &World, entries: &[CatalogEntry]) -> Result<(), String> {
        let alias = &world.service.config.alias;
        // Read in place: a copy of every message on each check grows with
        // the run.
        let published = lock(&world.notifier.published);
        let mut by_key: HashMap<&str, Vec<&incx_core::domain::notification::Notification>> =
            HashMap::new();
        for n in published.iter().map(|p| &p.notification) {
            if let Some(k) = n.dedupe_key.as_deref() {
                by_key.entry(k).or_default().push(n);
            }
        }
        let keys: HashSet<String> = entries.iter().map(|e| dedupe_key(alias, e)).collect();
        for e in entries {
            let key = dedupe_key(alias, e);
            let status = match e.status {
                CatalogStatus::Completed => Status::Success,
                CatalogStatus::Failed => Status::Failed,
            };
            let sent = by_key.get(key.as_str()).map_or(&[][..], Vec::as_slice);
            if !e.announced || sent.is_empty() {
                self.found.entries_unannounced += 1;
                return Err(format!(
                    "ledger entry never announced ({} messages under {key}): {e:?}",
                    sent.len()
                ));
            }
            if let Some(bad) = sent.iter().find(|n| {
                n.status != status || n.export_type != Some(e.kind) || n.attempt != Some(e.attempt)
            }) {
                return Err(format!("{key} announced as something else: {bad:?}"));
            }
        }
        for key in by_key.keys() {
            if !keys.contains(*key) {
                self.found.announcements_without_entry += 1;
                return Err(format!("announced {key}, which the ledger does not hold"));
            }
        }
        Ok(())
    }
}
