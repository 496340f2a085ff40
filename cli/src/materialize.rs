//! The table's state written out for downstream readers: one
//! `{"Item":...}` line of DynamoDB JSON per item, the layout of a full
//! export's data files, so that whatever reads a full export (DuckDB,
//! Athena, Glue, `jq`) reads this too. Gzip when the name ends in `.gz`.
//!
//! The state is read in its fixed order (key hash, then key) with a cursor,
//! so writing holds one item at a time whatever the table's size.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use flate2::write::GzEncoder;
use flate2::Compression;
use thiserror::Error;

use crate::chain::item::render_item;
use crate::chain::{TableState, ValueError};

/// Why the state could not be written.
#[derive(Debug, Error)]
pub enum MaterializeError {
    /// Local disk failed.
    #[error("{0}: {1}")]
    Io(String, io::Error),
    /// An item of the state could not be rendered.
    #[error(transparent)]
    Value(#[from] ValueError),
    /// An `s3://` URL without a bucket or a key.
    #[error("{0:?} is not an s3://BUCKET/KEY URL")]
    BadUrl(String),
    /// The upload to S3 failed.
    #[error("uploading to s3://{bucket}/{key}: {message}")]
    Upload {
        bucket: String,
        key: String,
        message: String,
    },
}

/// Where the output goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    /// A local file.
    Local(PathBuf),
    /// An S3 object (written to a local file first, then uploaded).
    S3 { bucket: String, key: String },
    /// Standard output (`-`).
    Stdout,
}

impl Destination {
    /// `-`, `s3://bucket/key`, or a local path.
    pub fn parse(text: &str) -> Result<Self, MaterializeError> {
        if text == "-" {
            return Ok(Self::Stdout);
        }
        match text.strip_prefix("s3://") {
            None => Ok(Self::Local(PathBuf::from(text))),
            Some(rest) => match rest.split_once('/') {
                Some((bucket, key)) if !bucket.is_empty() && !key.is_empty() => Ok(Self::S3 {
                    bucket: bucket.to_string(),
                    key: key.to_string(),
                }),
                _ => Err(MaterializeError::BadUrl(text.to_string())),
            },
        }
    }

    /// The file or object name, which says whether to gzip.
    pub fn name(&self) -> &str {
        match self {
            Self::Local(path) => path.to_str().unwrap_or_default(),
            Self::S3 { key, .. } => key,
            Self::Stdout => "-",
        }
    }

    /// Whether the output is gzip (a name ending in `.gz`).
    pub fn gzip(&self) -> bool {
        self.name().ends_with(".gz")
    }
}

/// What was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Written {
    /// Items (lines).
    pub items: u64,
    /// Bytes written (compressed, when gzip).
    pub bytes: u64,
}

/// Counts the bytes that pass, to report the output's size.
struct Counting<W> {
    inner: W,
    bytes: u64,
}

impl<W: Write> Write for Counting<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.bytes += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Writes every item of `state` as a `{"Item":...}` line to `out`.
pub fn write_json_lines<W: Write>(
    state: &TableState,
    out: &mut W,
) -> Result<u64, MaterializeError> {
    let io = |e| MaterializeError::Io("writing the items".into(), e);
    let mut cursor = state.cursor();
    let mut line = String::with_capacity(1024);
    let mut items = 0;
    while cursor
        .advance()
        .map_err(|e| MaterializeError::Io("reading the state from local disk".into(), e))?
    {
        line.clear();
        line.push_str("{\"Item\":");
        render_item(cursor.image(), &mut line)?;
        line.push_str("}\n");
        out.write_all(line.as_bytes()).map_err(io)?;
        items += 1;
    }
    Ok(items)
}

/// Writes `state` as JSON lines into the local file `path`, gzip if asked.
pub fn write_file(
    state: &TableState,
    path: &Path,
    gzip: bool,
) -> Result<Written, MaterializeError> {
    let name = path.display().to_string();
    let file = File::create(path).map_err(|e| MaterializeError::Io(name.clone(), e))?;
    let mut counted = Counting {
        inner: BufWriter::with_capacity(1 << 20, file),
        bytes: 0,
    };
    let items = if gzip {
        let mut gz = GzEncoder::new(&mut counted, Compression::fast());
        let items = write_json_lines(state, &mut gz)?;
        gz.finish()
            .map_err(|e| MaterializeError::Io(name.clone(), e))?;
        items
    } else {
        write_json_lines(state, &mut counted)?
    };
    counted
        .flush()
        .and_then(|()| counted.inner.get_ref().sync_all())
        .map_err(|e| MaterializeError::Io(name, e))?;
    Ok(Written {
        items,
        bytes: counted.bytes,
    })
}
