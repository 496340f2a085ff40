//! Reading data files into a state, several at once: each file is
//! streamed from the store, its compressed bytes MD5-summed on the way,
//! gunzipped and parsed line by line on a thread of its own, and every
//! record goes straight into the shared [`StateBuilder`]. As many files
//! are read at once as there are cores, and one more so that fetching the
//! next file overlaps reading the others.

use std::io::{BufRead, BufReader, Read};
use std::sync::Arc;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use flate2::bufread::MultiGzDecoder;
use md5::{Digest, Md5};

use super::error::{ChainError, StoreError, ValueError};
use super::ion;
use super::item::project_key;
use super::parse::LineParser;
use super::state::{StateBuilder, Version};
use super::store::{Body, ObjectStore};
use super::summary::ExportType;

/// How an export's lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// DynamoDB JSON lines.
    Json,
    /// Amazon Ion text lines.
    Ion,
}

/// How keys are made from items: the key attributes (sorted by name), or,
/// when they are unknown, the whole item.
#[derive(Debug, Clone, Default)]
pub struct KeySpec(pub Option<Vec<Vec<u8>>>);

impl KeySpec {
    /// From attribute names in any order.
    pub fn new(names: Option<&[String]>) -> Self {
        Self(names.map(|n| {
            let mut names: Vec<Vec<u8>> = n.iter().map(|s| s.as_bytes().to_vec()).collect();
            names.sort();
            names
        }))
    }

    /// The key of an encoded item, into `out`.
    pub fn key_of(&self, item: &[u8], out: &mut Vec<u8>) -> Result<(), ValueError> {
        out.clear();
        match &self.0 {
            Some(names) => project_key(item, names, out),
            None => {
                out.extend_from_slice(item);
                Ok(())
            }
        }
    }
}

/// One data file to read.
#[derive(Debug, Clone)]
pub struct FileJob {
    /// Its key from the bucket root.
    pub key: String,
    /// Its export's place in the chain (the records' version).
    pub export: u32,
    pub export_type: ExportType,
    pub format: Format,
}

/// What reading one data file found.
#[derive(Debug, Clone, Default)]
pub struct FileRead {
    /// Non-blank lines read.
    pub lines: u64,
    /// Compressed bytes read.
    pub bytes: u64,
    /// Base64 MD5 of the compressed bytes.
    pub md5: String,
    /// Lines that could not be applied.
    pub bad_lines: u64,
    /// The first of them, with its line number.
    pub first_bad: Option<String>,
    /// Why the file could not be read to its end (not gzip, not UTF-8,
    /// the connection broke).
    pub unreadable: Option<String>,
}

/// A file's outcome: read (perhaps with bad lines), or missing.
pub type FileOutcome = Result<FileRead, StoreError>;

/// Reads every file of `jobs` into `state`; outcomes in the jobs' order.
/// Only a store failure other than a missing file, or a failure to spill
/// to local disk, is fatal.
pub async fn read_files<S: ObjectStore>(
    store: &S,
    jobs: &[FileJob],
    keys: &Arc<KeySpec>,
    state: &Arc<StateBuilder>,
    parallel: usize,
    progress: &(dyn Fn(&str) + Sync),
) -> Result<Vec<FileOutcome>, ChainError> {
    let permits = Arc::new(tokio::sync::Semaphore::new(parallel.max(1)));
    let mut running = Vec::with_capacity(jobs.len());
    for (n, job) in jobs.iter().enumerate() {
        let permit = Arc::clone(&permits)
            .acquire_owned()
            .await
            .map_err(|e| ChainError::Io(e.to_string()))?;
        if n > 0 && n % 50 == 0 {
            progress(&format!("reading data file {}/{} ...", n + 1, jobs.len()));
        }
        let body = match store.open(&job.key).await {
            Ok(body) => body,
            Err(StoreError::NotFound(key)) => {
                running.push(Running::Done(Err(StoreError::NotFound(key))));
                continue;
            }
            Err(other) => return Err(other.into()),
        };
        let (job, keys, state) = (job.clone(), Arc::clone(keys), Arc::clone(state));
        running.push(Running::Reading(tokio::task::spawn_blocking(move || {
            let read = read_file(body, &job, &keys, &state);
            drop(permit);
            read
        })));
    }
    let mut outcomes = Vec::with_capacity(running.len());
    for r in running {
        outcomes.push(match r {
            Running::Done(outcome) => outcome,
            Running::Reading(handle) => Ok(handle
                .await
                .map_err(|e| ChainError::Io(format!("a reader thread failed: {e}")))??),
        });
    }
    Ok(outcomes)
}

enum Running {
    Done(FileOutcome),
    Reading(tokio::task::JoinHandle<Result<FileRead, ChainError>>),
}

/// Counts and MD5-sums the bytes read through it.
struct Summing<R> {
    inner: R,
    md5: Md5,
    bytes: u64,
}

impl<R: Read> Read for Summing<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.md5.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }
}

/// Decompressed bytes read at once; a longer line grows the buffer.
const CHUNK: usize = 1 << 20;

/// Reads one file to its end (the MD5 needs every byte), applying its
/// lines. Runs on a blocking thread.
fn read_file(
    body: Body,
    job: &FileJob,
    keys: &KeySpec,
    state: &StateBuilder,
) -> Result<FileRead, ChainError> {
    let mut read = FileRead::default();
    let mut input = BufReader::with_capacity(
        1 << 16,
        Summing {
            inner: body,
            md5: Md5::new(),
            bytes: 0,
        },
    );
    // An empty object is an empty partition, not a broken gzip stream.
    let empty = match input.fill_buf() {
        Ok(buf) => buf.is_empty(),
        Err(e) => {
            read.unreadable = Some(e.to_string());
            true
        }
    };
    if !empty {
        let mut lines = Lines::new(job, keys, state);
        let mut gz = MultiGzDecoder::new(&mut input);
        if let Err(why) = lines.feed(&mut gz) {
            read.unreadable = Some(why);
        }
        lines.into_counts(&mut read)?;
    }
    // Whatever is left still counts for the MD5.
    if let Err(e) = std::io::copy(&mut input, &mut std::io::sink()) {
        read.unreadable.get_or_insert(e.to_string());
    }
    let summing = input.into_inner();
    read.bytes = summing.bytes;
    read.md5 = STANDARD.encode(summing.md5.finalize());
    Ok(read)
}

/// Splits decompressed text into lines and applies each.
struct Lines<'a> {
    job: &'a FileJob,
    keys: &'a KeySpec,
    state: &'a StateBuilder,
    parser: LineParser,
    item: Vec<u8>,
    image: Vec<u8>,
    key: Vec<u8>,
    lines: u64,
    bad: u64,
    first_bad: Option<String>,
    fatal: Option<std::io::Error>,
}

impl<'a> Lines<'a> {
    fn new(job: &'a FileJob, keys: &'a KeySpec, state: &'a StateBuilder) -> Self {
        Self {
            job,
            keys,
            state,
            parser: LineParser::new(),
            item: Vec::new(),
            image: Vec::new(),
            key: Vec::new(),
            lines: 0,
            bad: 0,
            first_bad: None,
            fatal: None,
        }
    }

    /// Reads `text` to its end; `Err` says why it stopped early.
    fn feed(&mut self, text: &mut impl Read) -> Result<(), String> {
        let mut buf = vec![0u8; CHUNK];
        let mut filled = 0;
        let mut number = 0u64;
        loop {
            if filled == buf.len() {
                buf.resize(buf.len() * 2, 0);
            }
            let n = match text.read(&mut buf[filled..]) {
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(format!("not gzip: {e}")),
            };
            let end = filled + n;
            // Whole lines only; the rest waits for more text.
            let complete = if n == 0 {
                end
            } else {
                match memchr::memrchr(b'\n', &buf[filled..end]) {
                    Some(i) => filled + i + 1,
                    None => {
                        filled = end;
                        continue;
                    }
                }
            };
            if std::str::from_utf8(&buf[..complete]).is_err() {
                return Err("not UTF-8".into());
            }
            for line in buf[..complete].split(|&b| b == b'\n') {
                if line.iter().all(u8::is_ascii_whitespace) {
                    continue;
                }
                number += 1;
                self.line(line, number);
                if self.fatal.is_some() {
                    return Ok(());
                }
            }
            if n == 0 {
                return Ok(());
            }
            buf.copy_within(complete..end, 0);
            filled = end - complete;
        }
    }

    fn line(&mut self, line: &[u8], number: u64) {
        self.lines += 1;
        if let Err(e) = self.apply(line) {
            self.bad += 1;
            if self.first_bad.is_none() {
                self.first_bad = Some(format!("line {number}: {e}"));
            }
        }
    }

    fn apply(&mut self, line: &[u8]) -> Result<(), ValueError> {
        let job = self.job;
        self.item.clear();
        self.image.clear();
        let (version, image) = match job.export_type {
            ExportType::Full => {
                match job.format {
                    Format::Json => self.parser.full_line(line, &mut self.item)?,
                    Format::Ion => ion::full_line(line, &mut self.item)?,
                }
                self.keys.key_of(&self.item, &mut self.key)?;
                let version = Version {
                    export: job.export,
                    timestamp: 0,
                };
                (version, Some(self.item.as_slice()))
            }
            ExportType::Incremental => {
                let change = match job.format {
                    Format::Json => {
                        self.parser
                            .change_line(line, &mut self.item, &mut self.image)?
                    }
                    Format::Ion => ion::change_line(line, &mut self.item, &mut self.image)?,
                };
                self.keys.key_of(&self.item, &mut self.key)?;
                let version = Version {
                    export: job.export,
                    timestamp: change.timestamp,
                };
                (version, change.has_image.then_some(self.image.as_slice()))
            }
        };
        if let Err(e) = self.state.insert(&self.key, version, image) {
            self.fatal = Some(e);
        }
        Ok(())
    }

    fn into_counts(self, read: &mut FileRead) -> Result<(), ChainError> {
        if let Some(e) = self.fatal {
            return Err(ChainError::Io(format!(
                "writing the state to local disk: {e}"
            )));
        }
        read.lines = self.lines;
        read.bad_lines = self.bad;
        read.first_bad = self.first_bad;
        Ok(())
    }
}

/// The key attribute names of the first change line of a data file, to
/// key a chain whose key attributes were not given.
pub fn first_key_names(body: Body, format: Format) -> Result<Option<Vec<String>>, String> {
    let mut input = BufReader::new(body);
    if input.fill_buf().map_err(|e| e.to_string())?.is_empty() {
        return Ok(None);
    }
    let text = BufReader::new(MultiGzDecoder::new(input));
    for line in text.split(b'\n') {
        let line = line.map_err(|e| format!("not gzip: {e}"))?;
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let (mut keys, mut image) = (Vec::new(), Vec::new());
        match format {
            Format::Json => LineParser::new().change_line(&line, &mut keys, &mut image),
            Format::Ion => ion::change_line(&line, &mut keys, &mut image),
        }
        .map_err(|e| e.to_string())?;
        let names = super::item::entries(&keys)
            .map_err(|e| e.to_string())?
            .into_iter()
            .map(|(name, _)| String::from_utf8_lossy(name).into_owned())
            .collect();
        return Ok(Some(names));
    }
    Ok(None)
}
