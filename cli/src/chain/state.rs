//! The table state being rebuilt, within a memory budget.
//!
//! Every record (a full-export item, an incremental change, a scanned
//! item) carries a [`Version`]: its export's place in the chain, then its
//! `WriteTimestampMicros`. For each key the highest version wins, so the
//! records can be applied in any order, from many files at once. Keys are
//! spread over [`PARTITIONS`] shards by hash; when the state outgrows the
//! budget, the largest shards are written to local disk and each is later
//! rebuilt alone (see `spill`). The finished [`TableState`] is read back in
//! one fixed order (key hash, then key), the same for every state, so two
//! states compare by a merge, partition by partition.

use std::cmp::Ordering;
use std::fs::File;
use std::hash::BuildHasher;
use std::io::{self, BufReader, BufWriter, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering as Atomic};
use std::sync::{Arc, Mutex, MutexGuard};

use hashbrown::hash_table::{Entry as Slot, HashTable};

use super::error::ValueError;
use super::item;
use super::spill;

/// Shards of the state, and partitions of what is spilled.
pub const PARTITIONS: usize = 256;

/// Bytes a state entry costs beyond its key and image: the table slot and
/// the allocation's own overhead.
const ENTRY_OVERHEAD: usize = std::mem::size_of::<Entry>() + 24;

/// The hash every state uses for a key (fixed, so partitions line up).
pub fn key_hash(key: &[u8]) -> u64 {
    foldhash::quality::FixedState::with_seed(0x1ac5_ca1e).hash_one(key)
}

fn partition_of(hash: u64) -> usize {
    (hash >> 56) as usize
}

/// One of `of` disjoint parts of a table's keys, by key hash: reading a
/// chain part by part bounds each reader's state to about a part of the
/// table (the scheduled audit compares a large table this way, one Lambda
/// invocation per part).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slice {
    /// This part, from 0.
    pub index: u32,
    /// How many parts there are (at least 1).
    pub of: u32,
}

impl Slice {
    /// Whether the key with `hash` is in this part. The low bits decide, as
    /// the high ones already pick the state's shards.
    pub fn holds(&self, hash: u64) -> bool {
        self.of <= 1 || hash % u64::from(self.of) == u64::from(self.index)
    }
}

/// Which record wins for a key: the later export, then the later write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Version {
    /// The export's place in the chain (0: the full export).
    pub export: u32,
    /// `WriteTimestampMicros` (0 in a full export).
    pub timestamp: u64,
}

/// One key's latest record: its key and image in one allocation.
#[derive(Debug)]
pub struct Entry {
    data: Box<[u8]>,
    pub hash: u64,
    pub version: Version,
    key_len: u32,
    /// Another record of the key had the very same version.
    pub tied: bool,
}

impl Entry {
    /// `data` is the key followed by the image (nothing for a delete).
    pub fn new(hash: u64, version: Version, key_len: usize, data: Box<[u8]>) -> Self {
        Self {
            data,
            hash,
            version,
            key_len: u32::try_from(key_len).unwrap_or(u32::MAX),
            tied: false,
        }
    }

    pub fn key(&self) -> &[u8] {
        &self.data[..self.key_len as usize]
    }

    /// The item, `None` when the record is a delete.
    pub fn image(&self) -> Option<&[u8]> {
        Some(&self.data[self.key_len as usize..]).filter(|i| !i.is_empty())
    }

    fn cost(&self) -> usize {
        self.data.len() + ENTRY_OVERHEAD
    }
}

/// Keys whose winning record had the very same version as another record
/// of the key: a full export listing a key twice, or two writes of one
/// export at the same time. Either record may be right.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ties {
    /// How many keys.
    pub count: u64,
    /// The first few: export place and key.
    pub first: Vec<(u32, Vec<u8>)>,
}

impl Ties {
    /// Counts `e` if its winning record was tied.
    pub fn note(&mut self, e: &Entry) {
        if e.tied {
            self.count += 1;
            if self.first.len() < 5 {
                self.first.push((e.version.export, e.key().to_vec()));
            }
        }
    }
}

/// Keeps the winner of `existing` and `incoming` in `existing`.
pub fn merge(existing: &mut Entry, incoming: Entry) {
    match incoming.version.cmp(&existing.version) {
        Ordering::Greater => *existing = incoming,
        Ordering::Less => {}
        Ordering::Equal => {
            // Either may win; the larger bytes do, so the result does not
            // depend on the order the files were read in.
            if incoming.data > existing.data {
                *existing = incoming;
            }
            existing.tied = true;
        }
    }
}

#[derive(Default)]
struct Shard {
    table: HashTable<Entry>,
    bytes: usize,
    spill: Option<BufWriter<File>>,
}

impl Shard {
    fn cost(&self) -> usize {
        self.bytes + self.table.capacity() * (std::mem::size_of::<Entry>() + 1)
    }
}

/// A state being built, shared by the threads that read files.
pub struct StateBuilder {
    shards: Vec<Mutex<Shard>>,
    /// Bytes each shard holds, readable without its lock.
    sizes: Vec<AtomicUsize>,
    total: AtomicUsize,
    budget: usize,
    dir: Option<PathBuf>,
    spill_dir: Mutex<Option<Arc<tempfile::TempDir>>>,
    spilling: Mutex<()>,
    spilled: AtomicBool,
    slice: Option<Slice>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic elsewhere cannot leave a shard half-written: every update
    // is a single replace. Keep going with what is there.
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl StateBuilder {
    /// An empty state that keeps at most about `budget` bytes in memory,
    /// spilling to a temporary folder under `dir` (default: the system's).
    pub fn new(budget: usize, dir: Option<PathBuf>) -> Self {
        Self {
            shards: (0..PARTITIONS).map(|_| Mutex::default()).collect(),
            sizes: (0..PARTITIONS).map(|_| AtomicUsize::new(0)).collect(),
            total: AtomicUsize::new(0),
            budget,
            dir,
            spill_dir: Mutex::new(None),
            spilling: Mutex::new(()),
            spilled: AtomicBool::new(false),
            slice: None,
        }
    }

    /// Keeps only the keys of `slice`; every other record is dropped.
    pub fn with_slice(mut self, slice: Option<Slice>) -> Self {
        self.slice = slice;
        self
    }

    /// Applies one record: the item `image` (or a delete, `None`) of `key`.
    pub fn insert(&self, key: &[u8], version: Version, image: Option<&[u8]>) -> io::Result<()> {
        let hash = key_hash(key);
        if self.slice.is_some_and(|s| !s.holds(hash)) {
            return Ok(());
        }
        let image = image.unwrap_or_default();
        let mut data = Vec::with_capacity(key.len() + image.len());
        data.extend_from_slice(key);
        data.extend_from_slice(image);
        let entry = Entry::new(hash, version, key.len(), data.into_boxed_slice());
        let p = partition_of(hash);
        let (before, after) = {
            let mut shard = lock(&self.shards[p]);
            let before = shard.cost();
            let shard = &mut *shard;
            match shard
                .table
                .entry(hash, |e| e.key() == entry.key(), |e| e.hash)
            {
                Slot::Occupied(mut slot) => {
                    let old = slot.get().cost();
                    merge(slot.get_mut(), entry);
                    shard.bytes = shard.bytes + slot.get().cost() - old;
                }
                Slot::Vacant(slot) => {
                    shard.bytes += entry.cost();
                    slot.insert(entry);
                }
            }
            (before, shard.cost())
        };
        self.sizes[p].store(after, Atomic::Relaxed);
        let total = if after >= before {
            self.total.fetch_add(after - before, Atomic::Relaxed) + (after - before)
        } else {
            self.total.fetch_sub(before - after, Atomic::Relaxed) - (before - after)
        };
        if total > self.budget {
            self.spill_largest()?;
        }
        Ok(())
    }

    /// Writes the largest shards to disk until the state is well under
    /// its budget. One thread spills at a time; the others go on.
    fn spill_largest(&self) -> io::Result<()> {
        let Ok(_one) = self.spilling.try_lock() else {
            return Ok(());
        };
        let target = self.budget / 2;
        while self.total.load(Atomic::Relaxed) > target {
            let largest = (0..PARTITIONS)
                .max_by_key(|&p| self.sizes[p].load(Atomic::Relaxed))
                .unwrap_or(0);
            if self.sizes[largest].load(Atomic::Relaxed) == 0 {
                break;
            }
            self.spill_shard(largest)?;
        }
        Ok(())
    }

    fn spill_shard(&self, p: usize) -> io::Result<()> {
        let path = self.spill_path(p)?;
        let mut shard = lock(&self.shards[p]);
        let freed = shard.cost();
        let table = std::mem::take(&mut shard.table);
        if shard.spill.is_none() {
            let file = File::options().create(true).append(true).open(&path)?;
            shard.spill = Some(BufWriter::with_capacity(1 << 16, file));
        }
        if let Some(w) = shard.spill.as_mut() {
            for e in &table {
                spill::write_spill(w, e)?;
            }
        }
        shard.bytes = 0;
        drop(shard);
        drop(table);
        self.sizes[p].store(0, Atomic::Relaxed);
        self.total.fetch_sub(freed, Atomic::Relaxed);
        self.spilled.store(true, Atomic::Relaxed);
        Ok(())
    }

    fn spill_path(&self, p: usize) -> io::Result<PathBuf> {
        let mut dir = lock(&self.spill_dir);
        if dir.is_none() {
            let mut builder = tempfile::Builder::new();
            builder.prefix("incx-state-");
            let made = match &self.dir {
                Some(parent) => builder.tempdir_in(parent)?,
                None => builder.tempdir()?,
            };
            *dir = Some(Arc::new(made));
        }
        let base = dir
            .as_ref()
            .map(|d| d.path().to_path_buf())
            .unwrap_or_default();
        Ok(base.join(format!("p{p:03}.spill")))
    }

    /// Whether any shard went to disk.
    pub fn spilled(&self) -> bool {
        self.spilled.load(Atomic::Relaxed)
    }

    /// Ends the build: the state in its read order. Spilled partitions are
    /// rebuilt one at a time from disk.
    pub fn finish(self) -> io::Result<(TableState, Ties)> {
        let spilled = self.spilled();
        if spilled {
            for p in 0..PARTITIONS {
                if self.sizes[p].load(Atomic::Relaxed) > 0 || lock(&self.shards[p]).spill.is_some()
                {
                    self.spill_shard(p)?;
                }
            }
        }
        let dir = lock(&self.spill_dir).take();
        let mut ties = Ties::default();
        let mut parts = Vec::with_capacity(PARTITIONS);
        let mut items = 0u64;
        for (p, shard) in self.shards.into_iter().enumerate() {
            let mut shard = shard
                .into_inner()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if let Some(mut w) = shard.spill.take() {
                w.flush()?;
                drop(w);
                let path = dir
                    .as_ref()
                    .map(|d| d.path().join(format!("p{p:03}.spill")))
                    .unwrap_or_default();
                let mut files = Vec::new();
                let limit = (self.budget / 2) as u64;
                spill::finalize(&path, limit, 0, &mut ties, &mut files)?;
                items += files.iter().map(|(_, n)| n).sum::<u64>();
                parts.push(Part::Disk(files.into_iter().map(|(f, _)| f).collect()));
            } else {
                let mut rows: Vec<Entry> = std::mem::take(&mut shard.table)
                    .into_iter()
                    .inspect(|e| ties.note(e))
                    .filter(|e| e.image().is_some())
                    .collect();
                rows.sort_unstable_by(|a, b| (a.hash, a.key()).cmp(&(b.hash, b.key())));
                items += rows.len() as u64;
                parts.push(Part::Memory(rows));
            }
        }
        let state = TableState {
            parts,
            items,
            spilled,
            key_attributes: None,
            _dir: dir,
        };
        Ok((state, ties))
    }
}

enum Part {
    Memory(Vec<Entry>),
    Disk(Vec<PathBuf>),
}

/// A rebuilt table: its items, read in key-hash order with a
/// [`StateCursor`]. Spilled partitions stay on disk until it is dropped.
pub struct TableState {
    parts: Vec<Part>,
    items: u64,
    spilled: bool,
    key_attributes: Option<Vec<String>>,
    _dir: Option<Arc<tempfile::TempDir>>,
}

impl std::fmt::Debug for TableState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TableState")
            .field("items", &self.items)
            .field("spilled", &self.spilled)
            .field("key_attributes", &self.key_attributes)
            .finish()
    }
}

impl TableState {
    /// Number of items.
    pub fn len(&self) -> usize {
        usize::try_from(self.items).unwrap_or(usize::MAX)
    }

    /// Whether there is no item.
    pub fn is_empty(&self) -> bool {
        self.items == 0
    }

    /// Whether part of it had to go to disk.
    pub fn spilled(&self) -> bool {
        self.spilled
    }

    /// The key attributes the items are keyed by, if known.
    pub fn key_attributes(&self) -> Option<&[String]> {
        self.key_attributes.as_deref()
    }

    pub(crate) fn set_key_attributes(&mut self, attributes: Option<Vec<String>>) {
        self.key_attributes = attributes;
    }

    /// A cursor over every item, from the start.
    pub fn cursor(&self) -> StateCursor<'_> {
        StateCursor::new(self, 0)
    }

    /// The item whose key is the DynamoDB JSON `key` (e.g. from
    /// [`super::key_of`]), as DynamoDB JSON.
    pub fn get(&self, key: &str) -> Result<Option<serde_json::Value>, ValueError> {
        let mut wanted = Vec::new();
        super::parse::LineParser::new()
            .full_line(format!("{{\"Item\":{key}}}").as_bytes(), &mut wanted)?;
        let hash = key_hash(&wanted);
        let mut cursor = StateCursor::new(self, partition_of(hash));
        while cursor
            .advance()
            .map_err(|e| ValueError::Invalid(e.to_string()))?
        {
            if partition_of(cursor.hash()) != partition_of(hash) {
                break;
            }
            if cursor.key() == wanted {
                return item::item_value(cursor.image()).map(Some);
            }
        }
        Ok(None)
    }
}

/// Reads a [`TableState`] row by row, in key-hash order.
pub struct StateCursor<'a> {
    state: &'a TableState,
    part: usize,
    row: usize,
    files: std::vec::IntoIter<PathBuf>,
    reader: Option<BufReader<File>>,
    hash: u64,
    key: Vec<u8>,
    image: Vec<u8>,
}

impl<'a> StateCursor<'a> {
    fn new(state: &'a TableState, part: usize) -> Self {
        Self {
            state,
            part,
            row: 0,
            files: Vec::new().into_iter(),
            reader: None,
            hash: 0,
            key: Vec::new(),
            image: Vec::new(),
        }
    }

    /// Moves to the next row; `false` after the last.
    pub fn advance(&mut self) -> io::Result<bool> {
        loop {
            if let Some(reader) = self.reader.as_mut() {
                if let Some(hash) = spill::read_row(reader, &mut self.key, &mut self.image)? {
                    self.hash = hash;
                    return Ok(true);
                }
                self.reader = None;
            }
            if let Some(next) = self.files.next() {
                self.reader = Some(BufReader::with_capacity(1 << 18, File::open(next)?));
                continue;
            }
            match self.state.parts.get(self.part) {
                None => return Ok(false),
                Some(Part::Memory(rows)) => {
                    if let Some(e) = rows.get(self.row) {
                        self.row += 1;
                        self.hash = e.hash;
                        self.key.clear();
                        self.key.extend_from_slice(e.key());
                        self.image.clear();
                        self.image.extend_from_slice(e.image().unwrap_or_default());
                        return Ok(true);
                    }
                }
                Some(Part::Disk(files)) if self.row == 0 => {
                    self.row = 1;
                    self.files = files.clone().into_iter();
                    continue;
                }
                Some(Part::Disk(_)) => {}
            }
            self.part += 1;
            self.row = 0;
        }
    }

    /// The current row's key hash.
    pub fn hash(&self) -> u64 {
        self.hash
    }

    /// The current row's encoded key.
    pub fn key(&self) -> &[u8] {
        &self.key
    }

    /// The current row's encoded item.
    pub fn image(&self) -> &[u8] {
        &self.image
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(n: u32) -> Vec<u8> {
        let mut v = Vec::new();
        item::put_varint(&mut v, 1);
        item::put_bytes(&mut v, b"pk");
        v.push(item::tag::S);
        item::put_bytes(&mut v, n.to_string().as_bytes());
        v
    }

    type Rows = Vec<(Vec<u8>, Vec<u8>)>;

    fn build(budget: usize) -> (Rows, bool, Ties) {
        let b = StateBuilder::new(budget, None);
        // Later versions applied first: order must not matter.
        for n in 0..3000u32 {
            let k = key(n);
            let v = |e, t| Version {
                export: e,
                timestamp: t,
            };
            b.insert(&k, v(2, 5), (n % 3 != 0).then_some(&b"new"[..]))
                .unwrap();
            b.insert(&k, v(0, 0), Some(b"old")).unwrap();
            b.insert(&k, v(2, 4), Some(b"superseded")).unwrap();
        }
        // A tie among losers is no tie; among winners it is.
        b.insert(
            &key(7),
            Version {
                export: 1,
                timestamp: 9,
            },
            Some(b"a"),
        )
        .unwrap();
        b.insert(
            &key(7),
            Version {
                export: 1,
                timestamp: 9,
            },
            Some(b"b"),
        )
        .unwrap();
        b.insert(
            &key(3001),
            Version {
                export: 3,
                timestamp: 9,
            },
            Some(b"b"),
        )
        .unwrap();
        b.insert(
            &key(3001),
            Version {
                export: 3,
                timestamp: 9,
            },
            Some(b"a"),
        )
        .unwrap();
        let spilled = b.spilled();
        let (state, stats) = b.finish().unwrap();
        assert_eq!(state.spilled(), spilled);
        let mut rows = Vec::new();
        let mut c = state.cursor();
        let mut last = (0u64, Vec::new());
        while c.advance().unwrap() {
            assert!((c.hash(), c.key().to_vec()) > last, "read order");
            last = (c.hash(), c.key().to_vec());
            rows.push((c.key().to_vec(), c.image().to_vec()));
        }
        assert_eq!(rows.len(), state.len());
        (rows, spilled, stats)
    }

    #[test]
    fn latest_version_wins_in_memory_and_spilled_alike() {
        let (memory, spilled, ties) = build(1 << 30);
        assert!(!spilled);
        assert_eq!(memory.len(), 2001);
        assert_eq!(
            memory.iter().filter(|(_, image)| image == b"new").count(),
            2000
        );
        assert!(memory
            .iter()
            .any(|(k, image)| *k == key(3001) && image == b"b"));
        assert_eq!(
            ties,
            Ties {
                count: 1,
                first: vec![(3, key(3001))]
            }
        );

        let (disk, spilled, ties_disk) = build(64 * 1024);
        assert!(spilled);
        assert_eq!(disk, memory);
        assert_eq!(ties_disk, ties);
    }
}
