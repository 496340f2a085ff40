//! In-memory implementations of the ports, for the simulation and tests.
//! They keep the real services' rules (PITR window, window lengths, client
//! tokens remembered 8 hours, eventually consistent listings, SSM's
//! versions) and their faults (throttling, outages, a response lost after
//! the effect), and each keeps its own record of what it actually did: the
//! exports the service made, the messages SNS took, every write to the
//! control. The invariants compare the product's ledger with those records,
//! never with itself.

use incx_core::domain::control::{Control, WorkflowAction};
use incx_core::domain::export::{
    ExportError, ExportKind, ExportRequest, ExportResult, ExportStatus, Pitr, Span,
};
use incx_core::domain::ledger::{CatalogEntry, Head};
use incx_core::domain::notification::Notification;
use incx_core::domain::origin::Published as PublishedExport;
use incx_core::domain::window::{MAX_WINDOW, MIN_WINDOW};
use incx_core::domain::Epoch;
use incx_core::error::CoreError;
use incx_core::ports::{
    Clock, ControlStore, ExportService, Ledger, Notifier, PublishedExports, Runs,
};
use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

/// Locks, ignoring poisoning: a panicked holder leaves plain data behind.
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Which port methods each function calls: the simulation notes every
/// call under the function being invoked, so a function's permissions come
/// from what it did, not from a list kept by hand.
#[derive(Debug, Default)]
pub struct Recorder {
    current: Mutex<Option<&'static str>>,
    pub calls: Mutex<BTreeMap<&'static str, std::collections::BTreeSet<&'static str>>>,
}

impl Recorder {
    /// The function the next calls are made by (`None`: the test itself).
    pub fn calling(&self, function: Option<&'static str>) {
        *lock(&self.current) = function;
    }

    fn note(&self, method: &'static str) {
        if let Some(f) = *lock(&self.current) {
            lock(&self.calls).entry(f).or_default().insert(method);
        }
    }
}

/// Pops the next injected fault, if any.
fn pop<T>(faults: &Mutex<VecDeque<T>>) -> Result<(), T> {
    lock(faults).pop_front().map_or(Ok(()), Err)
}

/// Who wrote the control.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Writer {
    Operator,
    Product,
}

/// One write to the control, as SSM recorded it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ControlWrite {
    pub by: Writer,
    pub value: String,
    pub version: i64,
    pub at: Epoch,
    /// The value it replaced (`None`: the parameter did not exist).
    pub replaced: Option<String>,
}

/// SSM in memory: the control, the mirrors, and every write to the control.
pub struct MemoryControl {
    pub control: Mutex<Control>,
    pub mirrors: Mutex<BTreeMap<String, String>>,
    pub faults: Mutex<VecDeque<CoreError>>,
    pub writes: Mutex<Vec<ControlWrite>>,
    /// Every mirror write fails (SSM refuses puts) while set.
    pub mirror_outage: Mutex<bool>,
    /// An operator writes this value right after the next read of the
    /// control (a race with whoever read it).
    pub write_after_read: Mutex<Option<String>>,
    pub recorder: Arc<Recorder>,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for MemoryControl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryControl")
            .field("control", &self.control)
            .field("mirrors", &self.mirrors)
            .finish_non_exhaustive()
    }
}

impl MemoryControl {
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        Self {
            control: Mutex::default(),
            mirrors: Mutex::default(),
            faults: Mutex::default(),
            writes: Mutex::default(),
            mirror_outage: Mutex::default(),
            write_after_read: Mutex::default(),
            recorder: Arc::default(),
            clock,
        }
    }

    fn put(&self, by: Writer, value: &str) -> Control {
        let mut c = lock(&self.control);
        let replaced = c.value.clone();
        c.value = Some(value.to_string());
        c.version = Some(c.version.unwrap_or(0) + 1);
        // SSM keeps milliseconds; a put within the same second still differs.
        let at = self.clock.now();
        c.modified = Some(at * 1000 + c.version.unwrap_or(0) % 1000);
        lock(&self.writes).push(ControlWrite {
            by,
            value: value.to_string(),
            version: c.version.unwrap_or(0),
            at,
            replaced,
        });
        c.clone()
    }

    /// Puts a value, as an operator would: SSM bumps the version.
    pub fn set(&self, value: &str) {
        self.put(Writer::Operator, value);
    }

    /// The parameter deleted and created again (a redeploy): versions start
    /// again at 1, the ledger is kept.
    pub fn recreate(&self, value: &str) {
        *lock(&self.control) = Control::default();
        self.put(Writer::Operator, value);
    }

    /// The parameter deleted.
    pub fn delete(&self) {
        *lock(&self.control) = Control::default();
    }

    pub fn value(&self) -> Option<String> {
        lock(&self.control).value.clone()
    }
}

impl ControlStore for MemoryControl {
    async fn read_action(&self) -> Result<Control, CoreError> {
        self.recorder.note("ControlStore.read_action");
        pop(&self.faults)?;
        let read = lock(&self.control).clone();
        if let Some(value) = lock(&self.write_after_read).take() {
            self.set(&value);
        }
        Ok(read)
    }

    async fn create_action(&self, action: WorkflowAction) -> Result<Control, CoreError> {
        self.recorder.note("ControlStore.create_action");
        pop(&self.faults)?;
        let current = lock(&self.control).clone();
        if current.value.is_some() {
            return Ok(current);
        }
        Ok(self.put(Writer::Product, action.as_str()))
    }

    async fn set_action_if(
        &self,
        action: WorkflowAction,
        expected: &Control,
    ) -> Result<bool, CoreError> {
        self.recorder.note("ControlStore.set_action_if");
        pop(&self.faults)?;
        if lock(&self.control).version != expected.version {
            return Ok(false);
        }
        self.put(Writer::Product, action.as_str());
        Ok(true)
    }

    async fn read_mirrors(&self) -> Result<BTreeMap<String, String>, CoreError> {
        self.recorder.note("ControlStore.read_mirrors");
        pop(&self.faults)?;
        Ok(lock(&self.mirrors).clone())
    }

    async fn write_mirror(&self, name: &str, value: Option<&str>) -> Result<(), CoreError> {
        self.recorder.note("ControlStore.write_mirror");
        pop(&self.faults)?;
        if *lock(&self.mirror_outage) {
            return Err(CoreError::service(
                "ssm",
                "PutParameter: InternalServerError",
            ));
        }
        let mut m = lock(&self.mirrors);
        match value {
            Some(v) => m.insert(name.to_string(), v.to_string()),
            None => m.remove(name),
        };
        Ok(())
    }
}

/// The ledger table in memory, with the same conditional semantics.
#[derive(Debug, Default)]
pub struct MemoryLedger {
    pub head: Mutex<Option<Head>>,
    pub entries: Mutex<Vec<CatalogEntry>>,
    pub faults: Mutex<VecDeque<CoreError>>,
    /// After the next successful write, this many calls fail: the response
    /// lost after the write, or the function crashed right after it.
    pub crash_after_write: Mutex<u32>,
    pub recorder: Arc<Recorder>,
}

impl MemoryLedger {
    /// The head as stored now (the default before the first write).
    pub fn head_now(&self) -> Head {
        lock(&self.head).clone().unwrap_or_default()
    }

    fn wrote(&self) -> Result<(), CoreError> {
        let n = std::mem::take(&mut *lock(&self.crash_after_write));
        if n == 0 {
            return Ok(());
        }
        let mut faults = lock(&self.faults);
        for _ in 1..n {
            faults.push_back(CoreError::service("dynamodb", "crashed after the write"));
        }
        Err(CoreError::service(
            "dynamodb",
            "the response was lost after the write",
        ))
    }

    fn condition_holds(&self, expected: Option<u64>) -> bool {
        let stored = lock(&self.head).as_ref().map(|h| h.version);
        stored == expected
    }
}

impl Ledger for MemoryLedger {
    async fn head(&self) -> Result<Option<Head>, CoreError> {
        self.recorder.note("Ledger.head");
        pop(&self.faults)?;
        Ok(lock(&self.head).clone())
    }

    async fn put_head(&self, head: &Head, expected: Option<u64>) -> Result<bool, CoreError> {
        self.recorder.note("Ledger.put_head");
        pop(&self.faults)?;
        if !self.condition_holds(expected) {
            return Ok(false);
        }
        *lock(&self.head) = Some(head.clone());
        self.wrote()?;
        Ok(true)
    }

    async fn put_head_with_entry(
        &self,
        head: &Head,
        expected: Option<u64>,
        entry: &CatalogEntry,
    ) -> Result<bool, CoreError> {
        self.recorder.note("Ledger.put_head_with_entry");
        pop(&self.faults)?;
        if !self.condition_holds(expected) {
            return Ok(false);
        }
        *lock(&self.head) = Some(head.clone());
        // Kept in sort-key order (chain, window end, attempt), as the table's
        // range key orders them; a put with the same key replaces.
        let mut entries = lock(&self.entries);
        let key = |e: &CatalogEntry| e.sort_key();
        match entries.binary_search_by_key(&key(entry), key) {
            Ok(i) => entries[i] = entry.clone(),
            Err(i) => entries.insert(i, entry.clone()),
        }
        drop(entries);
        self.wrote()?;
        Ok(true)
    }

    async fn recent(&self, limit: usize) -> Result<Vec<CatalogEntry>, CoreError> {
        self.recorder.note("Ledger.recent");
        pop(&self.faults)?;
        Ok(lock(&self.entries)
            .iter()
            .rev()
            .take(limit)
            .cloned()
            .collect())
    }

    async fn catalog(&self) -> Result<Vec<CatalogEntry>, CoreError> {
        self.recorder.note("Ledger.catalog");
        pop(&self.faults)?;
        Ok(lock(&self.entries).clone())
    }

    async fn entry(&self, sort_key: &str) -> Result<Option<CatalogEntry>, CoreError> {
        self.recorder.note("Ledger.entry");
        pop(&self.faults)?;
        let entries = lock(&self.entries);
        Ok(find_entry(&entries, sort_key).map(|i| entries[i].clone()))
    }

    async fn mark_announced(&self, sort_key: &str) -> Result<(), CoreError> {
        self.recorder.note("Ledger.mark_announced");
        pop(&self.faults)?;
        let mut entries = lock(&self.entries);
        if let Some(i) = find_entry(&entries, sort_key) {
            entries[i].announced = true;
        }
        drop(entries);
        self.wrote()
    }
}

/// Where the entry with `sort_key` is: the entries are kept in sort-key
/// order (see `put_head_with_entry`), so a search, not a scan of them all.
fn find_entry(entries: &[CatalogEntry], sort_key: &str) -> Option<usize> {
    entries
        .binary_search_by(|e| e.sort_key().as_str().cmp(sort_key))
        .ok()
}

/// One export the in-memory service made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemoryExport {
    pub arn: String,
    pub request: ExportRequest,
    /// The service's own clock at start and at the end.
    pub started: Epoch,
    pub finishes: Epoch,
    pub failure: Option<String>,
    /// Until then the service does not show it (eventual consistency).
    pub visible_at: Epoch,
}

impl MemoryExport {
    pub fn completed(&self, service_now: Epoch) -> bool {
        service_now >= self.finishes && self.failure.is_none()
    }
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
    /// How far the latest restorable time trails the service's now.
    pub lag: Epoch,
    /// The service's clock minus the functions' (clock skew).
    pub skew: Epoch,
    /// Duration of exports started from now on, unless `next_durations`
    /// has one queued.
    pub duration: Epoch,
    pub next_durations: VecDeque<Epoch>,
    /// The next export to start ends FAILED with this code.
    pub fail_next: Option<String>,
    /// New exports are not shown for this long after they start.
    pub hidden_for: Epoch,
    /// The next incremental requests inside the PITR window are refused
    /// with InvalidExportTime anyway (a too-recent end as the service sees
    /// it).
    pub invalid_time_next: u32,
    /// The next starts make their export and then lose the response.
    pub lose_start_response: u32,
    /// Errors returned by the next calls, in order.
    pub faults: VecDeque<ExportError>,
    /// Every export the service made (the ground truth).
    pub exports: Vec<MemoryExport>,
}

pub struct MemoryExports {
    pub world: Mutex<ExportsWorld>,
    pub recorder: Arc<Recorder>,
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
                skew: 0,
                duration: 300,
                next_durations: VecDeque::new(),
                fail_next: None,
                hidden_for: 0,
                invalid_time_next: 0,
                lose_start_response: 0,
                faults: VecDeque::new(),
                exports: Vec::new(),
            }),
            recorder: Arc::default(),
            clock,
        }
    }

    pub fn world(&self) -> MutexGuard<'_, ExportsWorld> {
        lock(&self.world)
    }

    /// The service's own now.
    pub fn service_now(&self) -> Epoch {
        self.clock.now() + self.world().skew
    }

    /// Disables PITR; enabling it again moves the earliest restorable time.
    pub fn set_pitr(&self, enabled: bool) {
        let now = self.service_now();
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
        self.recorder.note("ExportService.backups");
        let now = self.service_now();
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
        self.recorder.note("ExportService.start");
        let now = self.service_now();
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
        if request.kind == ExportKind::Incremental && w.invalid_time_next > 0 {
            w.invalid_time_next -= 1;
            return Err(ExportError::InvalidExportTime(
                "export to time is after the latest restorable time (as the service sees it)"
                    .into(),
            ));
        }
        let arn = format!(
            "arn:aws:dynamodb:us-east-1:000000000000:table/t/export/{:013}-{:08x}",
            now * 1000,
            w.exports.len()
        );
        let failure = w.fail_next.take();
        let duration = w.next_durations.pop_front().unwrap_or(w.duration);
        let finishes = now + duration.max(1);
        let visible_at = now + w.hidden_for;
        w.exports.push(MemoryExport {
            arn: arn.clone(),
            request: request.clone(),
            started: now,
            finishes,
            failure,
            visible_at,
        });
        if w.lose_start_response > 0 {
            w.lose_start_response -= 1;
            return Err(ExportError::Fault(
                "InternalServerError: the response was lost after the export started".into(),
            ));
        }
        Ok(arn)
    }

    async fn describe(&self, arn: &str) -> Result<ExportStatus, ExportError> {
        self.recorder.note("ExportService.describe");
        let now = self.service_now();
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

    async fn find(
        &self,
        request: &ExportRequest,
        since: Epoch,
    ) -> Result<Option<String>, ExportError> {
        self.recorder.note("ExportService.find");
        let now = self.service_now();
        let mut w = self.world();
        if let Some(f) = w.faults.pop_front() {
            return Err(f);
        }
        let same = |e: &&MemoryExport| {
            e.request.client_token == request.client_token
                || (e.request.kind == request.kind
                    && e.request.span == request.span
                    && e.request.bucket == request.bucket
                    && e.request.prefix == request.prefix)
        };
        Ok(w.exports
            .iter()
            .filter(|e| e.started >= since && now >= e.visible_at)
            .rev()
            .find(same)
            .map(|e| e.arn.clone()))
    }
}

/// One message SNS took (the ground truth of what was published).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Published {
    pub notification: Notification,
    pub at: Epoch,
}

/// SNS in memory: every message it took.
pub struct MemoryNotifier {
    pub published: Mutex<Vec<Published>>,
    pub faults: Mutex<VecDeque<CoreError>>,
    /// The next publishes go out and then lose their response.
    pub lose_response: Mutex<u32>,
    pub recorder: Arc<Recorder>,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for MemoryNotifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryNotifier")
            .field("published", &lock(&self.published).len())
            .finish_non_exhaustive()
    }
}

impl MemoryNotifier {
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        Self {
            published: Mutex::default(),
            faults: Mutex::default(),
            lose_response: Mutex::default(),
            recorder: Arc::default(),
            clock,
        }
    }

    pub fn all(&self) -> Vec<Notification> {
        self.since(0)
    }

    /// How many messages went out so far: a mark for [`Self::since`].
    pub fn count(&self) -> usize {
        lock(&self.published).len()
    }

    /// The messages after the first `mark`. The chaos run asks after every
    /// execution: copying only the new ones keeps a long run linear.
    pub fn since(&self, mark: usize) -> Vec<Notification> {
        let published = lock(&self.published);
        published[mark.min(published.len())..]
            .iter()
            .map(|p| p.notification.clone())
            .collect()
    }
}

impl Notifier for MemoryNotifier {
    async fn publish(&self, notification: &Notification) -> Result<String, CoreError> {
        self.recorder.note("Notifier.publish");
        pop(&self.faults)?;
        let mut p = lock(&self.published);
        p.push(Published {
            notification: notification.clone(),
            at: self.clock.now(),
        });
        let id = format!("msg-{}", p.len());
        drop(p);
        let mut lost = lock(&self.lose_response);
        if *lost > 0 {
            *lost -= 1;
            return Err(CoreError::service(
                "sns",
                "the response was lost after the publish",
            ));
        }
        Ok(id)
    }
}

/// Step Functions in memory: the runs notify asked for, by name (the same
/// name twice is one run, as StartExecution's names are).
#[derive(Debug, Default)]
pub struct MemoryRuns {
    pub requested: Mutex<Vec<String>>,
    pub faults: Mutex<VecDeque<CoreError>>,
    /// How many requested runs the driver has started.
    pub taken: Mutex<usize>,
    pub recorder: Arc<Recorder>,
}

impl MemoryRuns {
    /// Runs requested since the last call, for the driver to start.
    pub fn take_new(&self) -> Vec<String> {
        let requested = lock(&self.requested);
        let mut taken = lock(&self.taken);
        let new = requested[*taken..].to_vec();
        *taken = requested.len();
        new
    }
}

impl Runs for MemoryRuns {
    async fn start_run(&self, name: &str, _input: &serde_json::Value) -> Result<(), CoreError> {
        self.recorder.note("Runs.start_run");
        pop(&self.faults)?;
        let mut r = lock(&self.requested);
        if !r.iter().any(|n| n == name) {
            r.push(name.to_string());
        }
        Ok(())
    }
}

/// The bucket's export summaries in memory: what another workflow (the
/// original sample) published there, for continuing its chain.
#[derive(Debug, Default)]
pub struct MemoryBucket {
    pub published: Mutex<Vec<PublishedExport>>,
    pub faults: Mutex<VecDeque<CoreError>>,
    pub recorder: Arc<Recorder>,
}

impl PublishedExports for MemoryBucket {
    fn location(&self) -> String {
        "s3://memory-bucket".into()
    }

    async fn list(&self) -> Result<Vec<PublishedExport>, CoreError> {
        self.recorder.note("PublishedExports.list");
        pop(&self.faults)?;
        Ok(lock(&self.published).clone())
    }
}
