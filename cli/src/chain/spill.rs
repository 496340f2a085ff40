//! The state's records on local disk, for tables larger than the memory
//! budget: spill files (every record a partition received, any order, a
//! key possibly many times) and final files (one row per live item,
//! sorted by key hash then key). A partition's spill file is reduced to
//! its final file in memory when it fits in the budget; otherwise it is
//! split by further bits of the key hash and each part is reduced in turn.
//! Because rows are ordered by hash, the parts concatenate in order.

use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use hashbrown::hash_table::{Entry as Slot, HashTable};

use super::item::put_varint;
use super::state::{merge, Entry, Ties, Version};

/// Ways a partition is split when it does not fit, and how deep.
const FANOUT: u64 = 16;
const MAX_DEPTH: u32 = 13;
/// The top bit of a spill record's export place: its record was tied.
const TIED: u32 = 1 << 31;

/// Appends a spill record: the entry with its version.
pub fn write_spill(out: &mut impl Write, e: &Entry) -> io::Result<()> {
    let mut head = Vec::with_capacity(32);
    head.extend_from_slice(&e.hash.to_le_bytes());
    // The export's place never needs the top bit: it carries the tie.
    let export = e.version.export | if e.tied { TIED } else { 0 };
    head.extend_from_slice(&export.to_le_bytes());
    head.extend_from_slice(&e.version.timestamp.to_le_bytes());
    put_varint(&mut head, e.key().len() as u64);
    out.write_all(&head)?;
    out.write_all(e.key())?;
    let image = e.image().unwrap_or_default();
    let mut len = Vec::with_capacity(10);
    put_varint(&mut len, image.len() as u64);
    out.write_all(&len)?;
    out.write_all(image)
}

/// Reads the next spill record, `None` at the end of the file.
pub fn read_spill(input: &mut impl Read) -> io::Result<Option<Entry>> {
    let mut head = [0u8; 20];
    match input.read_exact(&mut head[..8]) {
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
        other => other?,
    }
    input.read_exact(&mut head[8..])?;
    let hash = u64::from_le_bytes(le(&head[..8]));
    let export = u32::from_le_bytes(le(&head[8..12]));
    let tied = export & TIED != 0;
    let export = export & !TIED;
    let timestamp = u64::from_le_bytes(le(&head[12..20]));
    let key_len = read_varint(input)?;
    let mut data = vec![0u8; key_len];
    input.read_exact(&mut data)?;
    let image_len = read_varint(input)?;
    data.resize(key_len + image_len, 0);
    input.read_exact(&mut data[key_len..])?;
    let mut e = Entry::new(
        hash,
        Version { export, timestamp },
        key_len,
        data.into_boxed_slice(),
    );
    e.tied = tied;
    Ok(Some(e))
}

/// Appends a final row: hash, key and image.
pub fn write_row(out: &mut impl Write, hash: u64, key: &[u8], image: &[u8]) -> io::Result<()> {
    let mut head = Vec::with_capacity(20);
    head.extend_from_slice(&hash.to_le_bytes());
    put_varint(&mut head, key.len() as u64);
    out.write_all(&head)?;
    out.write_all(key)?;
    let mut len = Vec::with_capacity(10);
    put_varint(&mut len, image.len() as u64);
    out.write_all(&len)?;
    out.write_all(image)
}

/// Reads the next final row into `key` and `image`; its hash, `None` at
/// the end of the file.
pub fn read_row(
    input: &mut impl Read,
    key: &mut Vec<u8>,
    image: &mut Vec<u8>,
) -> io::Result<Option<u64>> {
    let mut hash = [0u8; 8];
    match input.read_exact(&mut hash) {
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
        other => other?,
    }
    for buf in [key, image] {
        let len = read_varint(input)?;
        buf.resize(len, 0);
        input.read_exact(buf)?;
    }
    Ok(Some(u64::from_le_bytes(hash)))
}

fn le<const N: usize>(bytes: &[u8]) -> [u8; N] {
    let mut out = [0u8; N];
    out.copy_from_slice(bytes);
    out
}

fn read_varint(input: &mut impl Read) -> io::Result<usize> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let mut b = [0u8; 1];
        input.read_exact(&mut b)?;
        v |= u64::from(b[0] & 0x7f) << shift;
        if b[0] < 0x80 {
            return usize::try_from(v).map_err(|_| corrupt());
        }
    }
    Err(corrupt())
}

fn corrupt() -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, "corrupt spill file")
}

/// Reduces the spill file `path` of one partition into sorted final
/// files (one, or several when it had to be split), in order. `limit` is
/// the most bytes of spill records reduced in memory at once.
pub fn finalize(
    path: &Path,
    limit: u64,
    depth: u32,
    ties: &mut Ties,
    out: &mut Vec<(PathBuf, u64)>,
) -> io::Result<()> {
    let size = std::fs::metadata(path)?.len();
    if size <= limit || depth >= MAX_DEPTH {
        let mut table: HashTable<Entry> = HashTable::new();
        let mut input = BufReader::with_capacity(1 << 20, File::open(path)?);
        while let Some(e) = read_spill(&mut input)? {
            match table.entry(e.hash, |x| x.key() == e.key(), |x| x.hash) {
                Slot::Occupied(mut slot) => merge(slot.get_mut(), e),
                Slot::Vacant(slot) => {
                    slot.insert(e);
                }
            }
        }
        drop(input);
        std::fs::remove_file(path)?;
        let mut rows: Vec<Entry> = table
            .into_iter()
            .inspect(|e| ties.note(e))
            .filter(|e| e.image().is_some())
            .collect();
        rows.sort_unstable_by(|a, b| (a.hash, a.key()).cmp(&(b.hash, b.key())));
        let final_path = path.with_extension(format!("final{depth}"));
        let mut w = BufWriter::with_capacity(1 << 20, File::create(&final_path)?);
        for e in &rows {
            write_row(&mut w, e.hash, e.key(), e.image().unwrap_or_default())?;
        }
        w.flush()?;
        out.push((final_path, rows.len() as u64));
        return Ok(());
    }
    // Bits below the 8 that chose the partition, FANOUT ways per level.
    let shift = 56 - 4 * (depth + 1);
    let parts: Vec<PathBuf> = (0..FANOUT)
        .map(|n| path.with_extension(format!("d{depth}-{n}")))
        .collect();
    {
        let mut writers = parts
            .iter()
            .map(|p| File::create(p).map(|f| BufWriter::with_capacity(1 << 16, f)))
            .collect::<io::Result<Vec<_>>>()?;
        let mut input = BufReader::with_capacity(1 << 20, File::open(path)?);
        while let Some(e) = read_spill(&mut input)? {
            let n = usize::try_from((e.hash >> shift) % FANOUT).unwrap_or(0);
            if let Some(w) = writers.get_mut(n) {
                write_spill(w, &e)?;
            }
        }
        for w in &mut writers {
            w.flush()?;
        }
    }
    std::fs::remove_file(path)?;
    for part in &parts {
        finalize(part, limit, depth + 1, ties, out)?;
    }
    Ok(())
}
