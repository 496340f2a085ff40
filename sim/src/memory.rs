//! In-memory implementations of the ports, for unit tests, property tests
//! and the simulation. The export service here keeps the real service's
//! rules (PITR window, window lengths, client tokens) so tests of the use
//! cases meet the same refusals production would.

use incx_core::domain::control::{Control, WorkflowAction};
use incx_core::domain::export::{
    ExportError, ExportKind, ExportRequest, ExportResult, ExportStatus, Pitr, Span,
};
use incx_core::domain::ledger::{CatalogEntry, Head};
use incx_core::domain::mirrors::Mirrors;
use incx_core::domain::notification::Notification;
use incx_core::domain::window::{MAX_WINDOW, MIN_WINDOW};
use incx_core::domain::Epoch;
use incx_core::error::CoreError;
use incx_core::ports::{Clock, ControlStore, ExportService, Ledger, Notifier};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};

/// Locks, ignoring poisoning: a panicked holder leaves plain data behind.
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// SSM in memory: the control and the mirrors.
#[derive(Debug, Default)]
pub struct MemoryControl {
    pub control: Mutex<Control>,
    pub mirrors: Mutex<Mirrors>,
    pub faults: Mutex<VecDeque<CoreError>>,
}

impl MemoryControl {
    pub fn with_action(value: &str) -> Self {
        let c = Self::default();
        c.set(value);
        c
    }

    /// Puts a value, as an operator would: SSM bumps the version.
    pub fn set(&self, value: &str) {
        let mut c = lock(&self.control);
        c.value = Some(value.to_string());
        c.version = Some(c.version.unwrap_or(0) + 1);
    }

    pub fn value(&self) -> Option<String> {
        lock(&self.control).value.clone()
    }

    fn fault(&self) -> Result<(), CoreError> {
        lock(&self.faults).pop_front().map_or(Ok(()), Err)
    }
}

impl ControlStore for MemoryControl {
    async fn read_action(&self) -> Result<Control, CoreError> {
        self.fault()?;
        Ok(lock(&self.control).clone())
    }

    async fn set_action(&self, action: WorkflowAction) -> Result<(), CoreError> {
        self.fault()?;
        drop(lock(&self.control));
        self.set(action.as_str());
        Ok(())
    }

    async fn write_mirrors(
        &self,
        mirrors: &Mirrors,
        _before: Option<&Mirrors>,
    ) -> Result<(), CoreError> {
        self.fault()?;
        *lock(&self.mirrors) = mirrors.clone();
        Ok(())
    }
}

/// The ledger table in memory, with the same conditional semantics.
#[derive(Debug, Default)]
pub struct MemoryLedger {
    pub head: Mutex<Option<Head>>,
    pub entries: Mutex<Vec<CatalogEntry>>,
    pub faults: Mutex<VecDeque<CoreError>>,
    /// After the next successful write, this many calls fail: a crash of the
    /// function right after its side effect.
    pub crash_after_write: Mutex<u32>,
}

impl MemoryLedger {
    /// The head as stored now (the default before the first write).
    pub fn head_now(&self) -> Head {
        lock(&self.head).clone().unwrap_or_default()
    }

    fn fault(&self) -> Result<(), CoreError> {
        lock(&self.faults).pop_front().map_or(Ok(()), Err)
    }

    fn wrote(&self) {
        let n = std::mem::take(&mut *lock(&self.crash_after_write));
        let mut faults = lock(&self.faults);
        for _ in 0..n {
            faults.push_back(CoreError::service("dynamodb", "crashed after the write"));
        }
    }

    fn condition_holds(&self, expected: Option<u64>) -> bool {
        let stored = lock(&self.head).as_ref().map(|h| h.version);
        stored == expected
    }
}

impl Ledger for MemoryLedger {
    async fn head(&self) -> Result<Option<Head>, CoreError> {
        self.fault()?;
        Ok(lock(&self.head).clone())
    }

    async fn put_head(&self, head: &Head, expected: Option<u64>) -> Result<bool, CoreError> {
        self.fault()?;
        if !self.condition_holds(expected) {
            return Ok(false);
        }
        *lock(&self.head) = Some(head.clone());
        self.wrote();
        Ok(true)
    }

    async fn put_head_with_entry(
        &self,
        head: &Head,
        expected: Option<u64>,
        entry: &CatalogEntry,
    ) -> Result<bool, CoreError> {
        self.fault()?;
        if !self.condition_holds(expected) {
            return Ok(false);
        }
        *lock(&self.head) = Some(head.clone());
        // Kept in sort-key order (chain, window end, attempt), as the table's
        // range key orders them; a put with the same key replaces.
        let mut entries = lock(&self.entries);
        let key = |e: &CatalogEntry| (e.chain, e.span.to, e.attempt);
        match entries.binary_search_by_key(&key(entry), key) {
            Ok(i) => entries[i] = entry.clone(),
            Err(i) => entries.insert(i, entry.clone()),
        }
        drop(entries);
        self.wrote();
        Ok(true)
    }

    async fn recent(&self, limit: usize) -> Result<Vec<CatalogEntry>, CoreError> {
        self.fault()?;
        Ok(lock(&self.entries)
            .iter()
            .rev()
            .take(limit)
            .cloned()
            .collect())
    }

    async fn catalog(&self) -> Result<Vec<CatalogEntry>, CoreError> {
        self.fault()?;
        Ok(lock(&self.entries).clone())
    }
}

/// One export the in-memory service made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemoryExport {
    pub arn: String,
    pub request: ExportRequest,
    pub started: Epoch,
    pub finishes: Epoch,
    pub failure: Option<String>,
    /// Until then `describe` does not know it yet (eventual consistency).
    pub visible_at: Epoch,
}

/// How long the service remembers a client token after its export finished:
/// a request with the same token after that starts a new export.
pub const CLIENT_TOKEN_TTL: Epoch = 8 * 3600;

/// The service's state, open to the test that drives it.
#[derive(Debug)]
pub struct ExportsWorld {
    pub table_exists: bool,
    pub pitr_enabled: bool,
    pub earliest: Epoch,
    /// How far the latest restorable time trails now.
    pub lag: Epoch,
    pub duration: Epoch,
    /// The next export to start ends FAILED with this code.
    pub fail_next: Option<String>,
    /// New exports are unknown to `describe` for this long after they start.
    pub hidden_for: Epoch,
    /// Errors returned by the next calls, in order.
    pub faults: VecDeque<ExportError>,
    pub exports: Vec<MemoryExport>,
}

pub struct MemoryExports {
    pub world: Mutex<ExportsWorld>,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for MemoryExports {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryExports")
            .field("world", &self.world)
            .finish_non_exhaustive()
    }
}

impl MemoryExports {
    pub fn new(clock: Arc<dyn Clock>, earliest: Epoch) -> Self {
        Self {
            world: Mutex::new(ExportsWorld {
                table_exists: true,
                pitr_enabled: true,
                earliest,
                lag: 300,
                duration: 300,
                fail_next: None,
                hidden_for: 0,
                faults: VecDeque::new(),
                exports: Vec::new(),
            }),
            clock,
        }
    }

    pub fn world(&self) -> MutexGuard<'_, ExportsWorld> {
        lock(&self.world)
    }

    /// Disables PITR; enabling it again moves the earliest restorable time.
    pub fn set_pitr(&self, enabled: bool) {
        let now = self.clock.now();
        let mut w = self.world();
        if enabled && !w.pitr_enabled {
            w.earliest = now;
        }
        w.pitr_enabled = enabled;
    }

    fn check_times(w: &ExportsWorld, now: Epoch, span: Span) -> Result<(), ExportError> {
        let latest = now - w.lag;
        let bad = |why: &str| Err(ExportError::InvalidExportTime(why.to_string()));
        if span.to > latest || span.to > now {
            return bad("export time is after the latest restorable time");
        }
        match span.from {
            None if span.to < w.earliest => {
                bad("export time is before the earliest restorable time")
            }
            Some(from) if from < w.earliest => {
                bad("export from time is before the earliest restorable time")
            }
            Some(from) if span.to - from < MIN_WINDOW || span.to - from > MAX_WINDOW => {
                bad("incremental export window must be 15 minutes to 24 hours")
            }
            _ => Ok(()),
        }
    }
}

impl ExportService for MemoryExports {
    async fn backups(&self) -> Result<Pitr, ExportError> {
        let now = self.clock.now();
        let mut w = self.world();
        if let Some(f) = w.faults.pop_front() {
            return Err(f);
        }
        if !w.table_exists {
            return Err(ExportError::TableNotFound("no such table".into()));
        }
        Ok(if w.pitr_enabled {
            Pitr::Enabled {
                earliest: w.earliest,
                latest: (now - w.lag).max(w.earliest),
            }
        } else {
            Pitr::Disabled
        })
    }

    async fn start(&self, request: &ExportRequest) -> Result<String, ExportError> {
        let now = self.clock.now();
        let mut w = self.world();
        if let Some(f) = w.faults.pop_front() {
            return Err(f);
        }
        if !w.table_exists {
            return Err(ExportError::TableNotFound("no such table".into()));
        }
        // The newest export with this token, while the service still
        // remembers the token (8 hours after that export finished).
        if let Some(same) = w
            .exports
            .iter()
            .rev()
            .find(|e| e.request.client_token == request.client_token)
            .filter(|e| now < e.finishes + CLIENT_TOKEN_TTL)
        {
            if same.request == *request {
                return Ok(same.arn.clone());
            }
            return Err(ExportError::Conflict(
                "client token reused with other parameters".into(),
            ));
        }
        if !w.pitr_enabled {
            return Err(ExportError::PitrUnavailable("PITR is disabled".into()));
        }
        Self::check_times(&w, now, request.span)?;
        let arn = format!(
            "arn:aws:dynamodb:us-east-1:000000000000:table/t/export/{:013}-{:08x}",
            now * 1000,
            w.exports.len()
        );
        let failure = w.fail_next.take();
        let finishes = now + w.duration;
        let visible_at = now + w.hidden_for;
        w.exports.push(MemoryExport {
            arn: arn.clone(),
            request: request.clone(),
            started: now,
            finishes,
            failure,
            visible_at,
        });
        Ok(arn)
    }

    async fn describe(&self, arn: &str) -> Result<ExportStatus, ExportError> {
        let now = self.clock.now();
        let mut w = self.world();
        if let Some(f) = w.faults.pop_front() {
            return Err(f);
        }
        let Some(e) = w
            .exports
            .iter()
            .rev()
            .find(|e| e.arn == arn)
            .filter(|e| now >= e.visible_at)
        else {
            return Err(ExportError::ExportNotFound(arn.to_string()));
        };
        if now < e.finishes {
            return Ok(ExportStatus::InProgress);
        }
        Ok(match &e.failure {
            Some(code) => ExportStatus::Failed {
                code: code.clone(),
                message: "injected failure".into(),
            },
            None => ExportStatus::Completed(ExportResult {
                item_count: 1,
                billed_size_bytes: if e.request.kind == ExportKind::Incremental {
                    10_000_000
                } else {
                    1_000
                },
                start_time: Some(e.started),
                end_time: Some(e.finishes),
                manifest: Some(format!("AWSDynamoDB/{}/manifest-summary.json", e.started)),
            }),
        })
    }
}

/// SNS in memory: what was published.
#[derive(Debug, Default)]
pub struct MemoryNotifier {
    pub published: Mutex<Vec<Notification>>,
    pub faults: Mutex<VecDeque<CoreError>>,
}

impl MemoryNotifier {
    pub fn all(&self) -> Vec<Notification> {
        lock(&self.published).clone()
    }
}

impl Notifier for MemoryNotifier {
    async fn publish(&self, notification: &Notification) -> Result<String, CoreError> {
        if let Some(f) = lock(&self.faults).pop_front() {
            return Err(f);
        }
        let mut p = lock(&self.published);
        p.push(notification.clone());
        Ok(format!("msg-{}", p.len()))
    }
}
