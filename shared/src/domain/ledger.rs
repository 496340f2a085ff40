//! The ledger: the single source of truth of the export chain.
//!
//! A head item per deployment holds the mode, the watermark, the export in
//! flight (with the lease of the execution watching it) and a version; every
//! change is a pure transition here, written by the adapter with a condition
//! on the version, so two executions can never both advance it. A catalog
//! entry per finished export lets downstream readers list the chain in
//! order; it stays "unannounced" until its notification went out (the
//! outbox), so no finished export goes unannounced whatever fails after the
//! ledger write.

use super::control::Setting;
use super::export::{ExportKind, ExportResult, Span};
use super::origin::Continued;
use super::Epoch;
use serde::{Deserialize, Serialize};

/// The item format this code reads and writes. A head with a larger number
/// was written by a newer release and is left untouched. Fields added since
/// format 1 all have defaults, so a format-1 head reads as it was.
pub const LEDGER_FORMAT: u32 = 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Mode {
    /// No chain yet, or a reset asked for a new one.
    #[default]
    NeedsFullExport,
    Incremental,
}

/// The original's `workflow-state` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum WorkflowState {
    #[default]
    Normal,
    PitrGap,
}

impl WorkflowState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Normal => "NORMAL",
            Self::PitrGap => "PITR_GAP",
        }
    }
}

/// An export the workflow asks for, recorded in the ledger before the
/// service is asked (so a crash between the two is resumed with the same
/// client token, and so the same export).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct Intent {
    pub kind: ExportKind,
    #[serde(flatten)]
    pub span: Span,
    pub attempt: u32,
    pub client_token: String,
    pub started_at: Epoch,
    /// The chain this export belongs to (a full export opens a new one).
    pub chain: u32,
    /// For a full export an operator's RESET asked for: that setting's
    /// version and modification time (epoch milliseconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reset_version: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reset_modified: Option<i64>,
    /// The exact start in epoch milliseconds, when it is not a whole
    /// second: the first window after the original sample's chain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_ms: Option<i64>,
    /// Said in the export's notification (how the chain began).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl Intent {
    /// The RESET setting this full export carries out, if any.
    pub fn reset(&self) -> Option<Setting> {
        self.reset_version.map(|version| Setting {
            version,
            modified: self.reset_modified,
        })
    }
}

/// The export in flight, as the ledger holds it: the intent, the ARN once
/// the service gave one, and the lease of the execution watching it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InFlight {
    #[serde(flatten)]
    pub intent: Intent,
    pub export_arn: Option<String>,
    /// The execution watching the export; another one leaves it alone until
    /// `watchUntil` (a live watcher renews it at every look).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub watcher: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub watch_until: Option<Epoch>,
    /// Status checks made so far.
    #[serde(default)]
    pub polls: u32,
}

/// An export the service has: its ARN is known, so it can be watched.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct Tracked {
    #[serde(flatten)]
    pub intent: Intent,
    pub export_arn: String,
}

impl InFlight {
    /// The export as the service knows it, when it has an ARN.
    pub fn tracked(&self) -> Option<Tracked> {
        self.export_arn.as_ref().map(|arn| Tracked {
            intent: self.intent.clone(),
            export_arn: arn.clone(),
        })
    }

    /// Another execution than `me` holds a live lease on it.
    pub fn watched_by_other(&self, me: &str, now: Epoch) -> Option<(&str, Epoch)> {
        match (&self.watcher, self.watch_until) {
            (Some(w), Some(until)) if w != me && until > now => Some((w, until)),
            _ => None,
        }
    }
}

impl From<Intent> for InFlight {
    fn from(intent: Intent) -> Self {
        Self {
            intent,
            export_arn: None,
            watcher: None,
            watch_until: None,
            polls: 0,
        }
    }
}

/// The last failed attempt, kept until the window completes, so the same
/// window is retried with the next attempt number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LastFailure {
    pub kind: ExportKind,
    #[serde(flatten)]
    pub span: Span,
    pub attempts: u32,
    pub code: String,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Head {
    pub format: u32,
    pub version: u64,
    pub mode: Mode,
    pub chain: u32,
    pub full_export_time: Option<Epoch>,
    /// The RESET setting the last completed full export carried out (its
    /// version and modification time): that same setting must not start
    /// another one.
    #[serde(default)]
    pub reset_version: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reset_modified: Option<i64>,
    /// Exclusive end of the last completed window (or the full export time).
    pub watermark: Option<Epoch>,
    pub state: WorkflowState,
    pub in_flight: Option<InFlight>,
    pub last_failure: Option<LastFailure>,
    pub updated_at: Epoch,
    /// The original sample's chain this one continues (migration).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub continued: Option<Continued>,
}

impl Default for Head {
    fn default() -> Self {
        Self {
            format: LEDGER_FORMAT,
            version: 0,
            mode: Mode::NeedsFullExport,
            chain: 0,
            full_export_time: None,
            reset_version: None,
            reset_modified: None,
            watermark: None,
            state: WorkflowState::Normal,
            in_flight: None,
            last_failure: None,
            updated_at: 0,
            continued: None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CatalogStatus {
    Completed,
    Failed,
}

impl CatalogStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Completed => "COMPLETED",
            Self::Failed => "FAILED",
        }
    }
}

fn yes() -> bool {
    true
}

/// One finished export, as downstream readers see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CatalogEntry {
    pub chain: u32,
    pub kind: ExportKind,
    #[serde(flatten)]
    pub span: Span,
    pub attempt: u32,
    pub export_arn: String,
    pub status: CatalogStatus,
    pub item_count: i64,
    pub billed_size_bytes: i64,
    pub manifest: Option<String>,
    pub started_at: Epoch,
    pub start_time: Option<Epoch>,
    pub end_time: Option<Epoch>,
    pub failure_code: Option<String>,
    pub failure_message: Option<String>,
    pub recorded_at: Epoch,
    /// Whether its notification went out. Written `false` with the entry and
    /// set once published; entries written before the outbox existed were
    /// announced when they were made.
    #[serde(default = "yes")]
    pub announced: bool,
    /// Said in the notification (see [`Intent::note`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl CatalogEntry {
    /// The entry of a finished export, with no figures yet.
    fn finished(flight: &InFlight, status: CatalogStatus, now: Epoch) -> Self {
        let intent = &flight.intent;
        Self {
            chain: intent.chain,
            kind: intent.kind,
            span: intent.span,
            attempt: intent.attempt,
            export_arn: flight.export_arn.clone().unwrap_or_default(),
            status,
            item_count: 0,
            billed_size_bytes: 0,
            manifest: None,
            started_at: intent.started_at,
            start_time: None,
            end_time: None,
            failure_code: None,
            failure_message: None,
            recorded_at: now,
            announced: false,
            note: intent.note.clone(),
        }
    }

    /// The sort key: chains in order, then windows by end, then attempts.
    pub fn sort_key(&self) -> String {
        sort_key(self.chain, self.span.to, self.attempt)
    }

    /// Seconds the export took, when the service said.
    pub fn duration(&self) -> Option<Epoch> {
        Some(self.end_time? - self.start_time?)
    }

    /// The export as it was watched.
    pub fn tracked(&self) -> Tracked {
        Tracked {
            intent: Intent {
                kind: self.kind,
                span: self.span,
                attempt: self.attempt,
                client_token: String::new(),
                started_at: self.started_at,
                chain: self.chain,
                reset_version: None,
                reset_modified: None,
                from_ms: None,
                note: None,
            },
            export_arn: self.export_arn.clone(),
        }
    }
}

/// The catalog's sort key of an export of `chain` ending at `to`.
pub fn sort_key(chain: u32, to: Epoch, attempt: u32) -> String {
    format!("EXPORT#{chain:06}#{to:012}#{attempt:04}")
}

/// The sort key of the entry an intent's export is recorded under.
pub fn entry_key(intent: &Intent) -> String {
    sort_key(intent.chain, intent.span.to, intent.attempt)
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LedgerError {
    #[error("ledger changed since it was read (expected version {expected}, found {found})")]
    VersionMismatch { expected: u64, found: u64 },
    #[error("another export is already in flight (client token {0})")]
    Busy(String),
    #[error("export with client token {0} is not the one in flight")]
    NotInFlight(String),
    #[error("window starting at {from:?} does not continue the chain at watermark {watermark:?}")]
    Discontinuous {
        from: Option<Epoch>,
        watermark: Option<Epoch>,
    },
    #[error("the export in flight is watched by {watcher} until {until}")]
    Watched { watcher: String, until: Epoch },
    #[error("ledger item has format {found}, newer than this release's {LEDGER_FORMAT}: upgrade the functions before they touch it")]
    FutureFormat { found: u32 },
}

impl Head {
    /// Refuses to work on an item written by a newer release.
    pub fn check_format(&self) -> Result<(), LedgerError> {
        if self.format > LEDGER_FORMAT {
            return Err(LedgerError::FutureFormat { found: self.format });
        }
        Ok(())
    }

    /// The RESET setting the chain's full export carried out.
    pub fn reset_setting(&self) -> Option<Setting> {
        self.reset_version.map(|version| Setting {
            version,
            modified: self.reset_modified,
        })
    }

    fn bumped(mut self, now: Epoch) -> Self {
        self.version += 1;
        self.updated_at = now;
        self
    }

    fn expect_version(&self, expected: u64) -> Result<(), LedgerError> {
        if self.version != expected {
            return Err(LedgerError::VersionMismatch {
                expected,
                found: self.version,
            });
        }
        Ok(())
    }

    fn expect_in_flight(&self, token: &str) -> Result<&InFlight, LedgerError> {
        match &self.in_flight {
            Some(f) if f.intent.client_token == token => Ok(f),
            _ => Err(LedgerError::NotInFlight(token.to_string())),
        }
    }

    /// The first head of a chain that continues the original sample's:
    /// incremental from its exact end, as chain 1. Only on an empty
    /// ledger (`None` otherwise: another run got there first).
    pub fn continuing(&self, continued: Continued, now: Epoch) -> Option<Head> {
        if self.version != 0 || self.chain != 0 {
            return None;
        }
        let next = Head {
            mode: Mode::Incremental,
            chain: 1,
            full_export_time: Some(continued.full_export_ms.div_euclid(1000)),
            watermark: Some(continued.watermark()),
            continued: Some(continued),
            ..Head::default()
        };
        Some(next.bumped(now))
    }

    /// Records the intent to export. Returns `None` when exactly this export
    /// is already recorded (a retried call), so the caller writes nothing.
    pub fn begin(
        &self,
        expected_version: u64,
        flight: Intent,
        now: Epoch,
    ) -> Result<Option<Head>, LedgerError> {
        self.check_format()?;
        if let Some(current) = &self.in_flight {
            if current.intent.client_token == flight.client_token {
                return Ok(None);
            }
            return Err(LedgerError::Busy(current.intent.client_token.clone()));
        }
        self.expect_version(expected_version)?;
        let mut next = self.clone();
        if flight.kind == ExportKind::Incremental
            && (self.mode != Mode::Incremental || flight.span.from != self.watermark)
        {
            return Err(LedgerError::Discontinuous {
                from: flight.span.from,
                watermark: self.watermark,
            });
        }
        if flight.kind == ExportKind::Full {
            next = next.reset();
        }
        next.in_flight = Some(flight.into());
        Ok(Some(next.bumped(now)))
    }

    /// Stores the ARN the service gave the export in flight, and takes the
    /// lease for `watcher` until `until`. `None`: nothing to change.
    pub fn record_arn(
        &self,
        token: &str,
        arn: &str,
        watcher: &str,
        until: Epoch,
        now: Epoch,
    ) -> Result<Option<Head>, LedgerError> {
        let flight = self.expect_in_flight(token)?;
        if flight.export_arn.as_deref() == Some(arn) && flight.watcher.as_deref() == Some(watcher) {
            return Ok(None);
        }
        let mut next = self.clone();
        if let Some(f) = next.in_flight.as_mut() {
            f.export_arn = Some(arn.to_string());
            f.watcher = Some(watcher.to_string());
            f.watch_until = Some(until);
        }
        Ok(Some(next.bumped(now)))
    }

    /// `watcher` looks at the export in flight once more: renews its lease
    /// until `until` and counts the look. Refused while another execution's
    /// lease is live: it watches, this one leaves.
    pub fn watch(
        &self,
        token: &str,
        watcher: &str,
        until: Epoch,
        now: Epoch,
    ) -> Result<Head, LedgerError> {
        let flight = self.expect_in_flight(token)?;
        if let Some((other, held)) = flight.watched_by_other(watcher, now) {
            return Err(LedgerError::Watched {
                watcher: other.to_string(),
                until: held,
            });
        }
        let mut next = self.clone();
        if let Some(f) = next.in_flight.as_mut() {
            f.watcher = Some(watcher.to_string());
            f.watch_until = Some(until);
            f.polls += 1;
        }
        Ok(next.bumped(now))
    }

    /// `watcher` stops watching (it hands the export over to the next run).
    /// `None` when it does not hold the lease.
    pub fn release(&self, token: &str, watcher: &str, now: Epoch) -> Option<Head> {
        let flight = self.expect_in_flight(token).ok()?;
        if flight.watcher.as_deref() != Some(watcher) {
            return None;
        }
        let mut next = self.clone();
        if let Some(f) = next.in_flight.as_mut() {
            f.watch_until = None;
        }
        Some(next.bumped(now))
    }

    /// A completed export moves the watermark from the window's start to its
    /// end (a full export starts a new chain at its export time).
    pub fn complete(
        &self,
        token: &str,
        result: &ExportResult,
        now: Epoch,
    ) -> Result<(Head, CatalogEntry), LedgerError> {
        self.check_format()?;
        let flight = self.expect_in_flight(token)?.clone();
        let intent = &flight.intent;
        let mut next = self.clone();
        match intent.kind {
            ExportKind::Full => {
                next.mode = Mode::Incremental;
                next.chain = intent.chain;
                next.full_export_time = Some(intent.span.to);
                if intent.reset_version.is_some() {
                    next.reset_version = intent.reset_version;
                    next.reset_modified = intent.reset_modified;
                }
                next.state = WorkflowState::Normal;
            }
            ExportKind::Incremental => {
                if intent.span.from != self.watermark {
                    return Err(LedgerError::Discontinuous {
                        from: intent.span.from,
                        watermark: self.watermark,
                    });
                }
            }
        }
        next.watermark = Some(intent.span.to);
        next.in_flight = None;
        next.last_failure = None;
        let entry = CatalogEntry {
            item_count: result.item_count,
            billed_size_bytes: result.billed_size_bytes,
            manifest: result.manifest.clone(),
            start_time: result.start_time,
            end_time: result.end_time,
            ..CatalogEntry::finished(&flight, CatalogStatus::Completed, now)
        };
        Ok((next.bumped(now), entry))
    }

    /// A failed export changes nothing but the failure count: the watermark
    /// stays and the same window is tried again with the next attempt.
    pub fn fail(
        &self,
        token: &str,
        code: &str,
        message: &str,
        now: Epoch,
    ) -> Result<(Head, CatalogEntry), LedgerError> {
        self.check_format()?;
        let flight = self.expect_in_flight(token)?.clone();
        let mut next = self.clone();
        next.in_flight = None;
        next.last_failure = Some(LastFailure {
            kind: flight.intent.kind,
            span: flight.intent.span,
            attempts: flight.intent.attempt,
            code: code.to_string(),
            message: message.to_string(),
        });
        let entry = CatalogEntry {
            failure_code: Some(code.to_string()),
            failure_message: Some(message.to_string()),
            ..CatalogEntry::finished(&flight, CatalogStatus::Failed, now)
        };
        Ok((next.bumped(now), entry))
    }

    /// The service refused to start the export (so none exists): forget the
    /// intent without counting an attempt.
    pub fn abandon(&self, token: &str, now: Epoch) -> Result<Head, LedgerError> {
        self.expect_in_flight(token)?;
        let mut next = self.clone();
        next.in_flight = None;
        Ok(next.bumped(now))
    }

    /// History was lost (PITR disabled and enabled again): no incremental
    /// export can continue this chain until a reset.
    pub fn mark_pitr_gap(
        &self,
        expected_version: u64,
        now: Epoch,
    ) -> Result<Option<Head>, LedgerError> {
        self.check_format()?;
        self.expect_version(expected_version)?;
        if self.state == WorkflowState::PitrGap {
            return Ok(None);
        }
        let mut next = self.clone();
        next.state = WorkflowState::PitrGap;
        Ok(Some(next.bumped(now)))
    }

    /// Asks for a new chain: the next export is a full one. The old chain's
    /// catalog stays for readers; the watermark moves when the full export
    /// completes.
    pub fn reset(&self) -> Head {
        let mut next = self.clone();
        next.mode = Mode::NeedsFullExport;
        next.state = WorkflowState::Normal;
        next.continued = None;
        if next
            .last_failure
            .as_ref()
            .is_some_and(|f| f.kind == ExportKind::Incremental)
        {
            next.last_failure = None;
        }
        next
    }

    /// The attempt number for the next export of `kind` over `span`.
    pub fn next_attempt(&self, kind: ExportKind, span: Option<Span>) -> u32 {
        match &self.last_failure {
            Some(f) if f.kind == kind && (kind == ExportKind::Full || Some(f.span) == span) => {
                f.attempts + 1
            }
            _ => 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flight(kind: ExportKind, from: Option<Epoch>, to: Epoch, token: &str) -> Intent {
        Intent {
            kind,
            span: Span { from, to },
            attempt: 1,
            client_token: token.into(),
            started_at: to,
            chain: 1,
            reset_version: None,
            reset_modified: None,
            from_ms: None,
            note: None,
        }
    }

    fn chain_at(watermark: Epoch) -> Head {
        let h = Head::default();
        let h = h
            .begin(0, flight(ExportKind::Full, None, watermark, "f"), 1)
            .unwrap()
            .unwrap();
        h.complete("f", &ExportResult::default(), 2).unwrap().0
    }

    #[test]
    fn full_then_incremental_moves_the_watermark() {
        let h = chain_at(1000);
        assert_eq!(h.mode, Mode::Incremental);
        assert_eq!(h.watermark, Some(1000));
        assert_eq!(h.full_export_time, Some(1000));
        let v = h.version;
        let h = h
            .begin(v, flight(ExportKind::Incremental, Some(1000), 1900, "i"), 3)
            .unwrap()
            .unwrap();
        let (h, entry) = h.complete("i", &ExportResult::default(), 4).unwrap();
        assert_eq!(h.watermark, Some(1900));
        assert_eq!(entry.status, CatalogStatus::Completed);
        assert!(h.in_flight.is_none());
    }

    #[test]
    fn stale_version_and_busy_are_refused() {
        let h = chain_at(1000);
        let stale = h.version - 1;
        let f = flight(ExportKind::Incremental, Some(1000), 1900, "i");
        assert!(matches!(
            h.begin(stale, f.clone(), 3),
            Err(LedgerError::VersionMismatch { .. })
        ));
        let h = h.begin(h.version, f.clone(), 3).unwrap().unwrap();
        // The same export again: nothing to write.
        assert_eq!(h.begin(h.version, f, 3), Ok(None));
        let other = flight(ExportKind::Incremental, Some(1000), 2800, "j");
        assert!(matches!(
            h.begin(h.version, other, 3),
            Err(LedgerError::Busy(_))
        ));
    }

    #[test]
    fn a_gap_in_the_chain_is_refused() {
        let h = chain_at(1000);
        let f = flight(ExportKind::Incremental, Some(1900), 2800, "i");
        assert!(matches!(
            h.begin(h.version, f, 3),
            Err(LedgerError::Discontinuous { .. })
        ));
    }

    #[test]
    fn failure_keeps_the_watermark_and_counts_attempts() {
        let h = chain_at(1000);
        let span = Span {
            from: Some(1000),
            to: 1900,
        };
        let h = h
            .begin(
                h.version,
                flight(ExportKind::Incremental, Some(1000), 1900, "i"),
                3,
            )
            .unwrap()
            .unwrap();
        let (h, entry) = h.fail("i", "S3NoSuchBucket", "gone", 4).unwrap();
        assert_eq!(h.watermark, Some(1000));
        assert_eq!(entry.status, CatalogStatus::Failed);
        assert_eq!(h.next_attempt(ExportKind::Incremental, Some(span)), 2);
        // Completing or failing something not in flight is refused.
        assert!(h.fail("i", "x", "y", 5).is_err());
        assert!(h.complete("i", &ExportResult::default(), 5).is_err());
    }

    #[test]
    fn reset_starts_a_new_chain_through_a_full_export() {
        let h = chain_at(1000);
        let h = h.mark_pitr_gap(h.version, 5).unwrap().unwrap();
        assert_eq!(h.state, WorkflowState::PitrGap);
        let mut f = flight(ExportKind::Full, None, 5000, "g");
        f.chain = 2;
        let h = h.begin(h.version, f, 6).unwrap().unwrap();
        assert_eq!(h.mode, Mode::NeedsFullExport);
        assert_eq!(h.state, WorkflowState::Normal);
        let (h, _) = h.complete("g", &ExportResult::default(), 7).unwrap();
        assert_eq!((h.chain, h.watermark), (2, Some(5000)));
    }

    #[test]
    fn refuses_items_from_a_newer_release() {
        let h = Head {
            format: LEDGER_FORMAT + 1,
            ..Head::default()
        };
        let err = h
            .begin(0, flight(ExportKind::Full, None, 1, "f"), 1)
            .unwrap_err();
        assert!(err.to_string().contains("newer than this release"));
    }

    #[test]
    fn one_watcher_at_a_time_and_a_dead_ones_lease_runs_out() {
        let h = chain_at(1000);
        let h = h
            .begin(
                h.version,
                flight(ExportKind::Incremental, Some(1000), 1900, "i"),
                3,
            )
            .unwrap()
            .unwrap();
        let h = h.record_arn("i", "arn", "exec-a", 600, 4).unwrap().unwrap();
        // The same again: nothing to write.
        assert_eq!(h.record_arn("i", "arn", "exec-a", 600, 4), Ok(None));
        let f = h.in_flight.clone().unwrap();
        assert_eq!(f.watched_by_other("exec-b", 100), Some(("exec-a", 600)));
        assert_eq!(f.watched_by_other("exec-a", 100), None);
        assert!(matches!(
            h.watch("i", "exec-b", 700, 100),
            Err(LedgerError::Watched { .. })
        ));
        // exec-a renews and counts its looks.
        let h = h.watch("i", "exec-a", 700, 100).unwrap();
        assert_eq!(h.in_flight.as_ref().unwrap().polls, 1);
        // Its lease runs out: exec-b takes over.
        let h = h.watch("i", "exec-b", 1500, 701).unwrap();
        assert_eq!(
            h.in_flight.as_ref().unwrap().watcher.as_deref(),
            Some("exec-b")
        );
        // Only the watcher releases.
        assert!(h.release("i", "exec-a", 702).is_none());
        let h = h.release("i", "exec-b", 702).unwrap();
        assert_eq!(h.in_flight.as_ref().unwrap().watch_until, None);
    }

    #[test]
    fn entries_are_recorded_unannounced_and_old_ones_read_as_announced() {
        let h = chain_at(1000);
        let h = h
            .begin(
                h.version,
                flight(ExportKind::Incremental, Some(1000), 1900, "i"),
                3,
            )
            .unwrap()
            .unwrap();
        let (_, entry) = h.complete("i", &ExportResult::default(), 4).unwrap();
        assert!(!entry.announced);
        let mut old = serde_json::to_value(&entry).unwrap();
        old.as_object_mut().unwrap().remove("announced");
        let old: CatalogEntry = serde_json::from_value(old).unwrap();
        assert!(old.announced);
        assert_eq!(entry.sort_key(), "EXPORT#000001#000000001900#0001");
    }
}
