//! The table's state as one Parquet file, readable by DuckDB, pyarrow and
//! Athena without options: the whole item as DynamoDB JSON in the column
//! `item`, and every top-level attribute that has the same scalar type in
//! every item (the key attributes always do) as a typed column of its own.
//!
//! Two passes over the state: the first finds those attributes and, for
//! numbers, the narrowest exact type (BIGINT when every value is an
//! integer that fits, else DECIMAL(38, s) when every value fits 38 digits,
//! else the exact text); the second writes. Row groups are flushed past
//! [`ROW_GROUP_BYTES`], so memory stays bounded whatever the table's size.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::BufWriter;
use std::path::Path;
use std::sync::Arc;

use arrow_array::builder::{
    ArrayBuilder, BinaryBuilder, BooleanBuilder, Decimal128Builder, Int64Builder, StringBuilder,
};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema};
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;

use crate::chain::item::{self, get_bytes, render_item, tag};
use crate::chain::{TableState, ValueError};
use crate::materialize::{MaterializeError, Written};

/// Encoded bytes of a row group before it is written out.
pub const ROW_GROUP_BYTES: usize = 64 << 20;
/// Rows per Arrow batch handed to the writer.
const BATCH_ROWS: usize = 8192;
/// Digits of the widest Parquet decimal.
const MAX_DIGITS: usize = 38;

/// What a typed column holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnType {
    /// S
    Utf8,
    /// N, every value an integer within 64 bits.
    Int64,
    /// N, every value exact in DECIMAL(38, scale).
    Decimal(i8),
    /// N, some value wider than 38 digits: the exact text.
    NumberText,
    /// B
    Binary,
    /// BOOL
    Bool,
}

/// What the first pass learns about one attribute.
#[derive(Debug, Clone)]
struct Seen {
    items: u64,
    tag: u8,
    mixed: bool,
    all_i64: bool,
    int_digits: usize,
    scale: usize,
}

/// The typed columns of `state`: attribute name and type, in name order.
pub fn typed_columns(state: &TableState) -> Result<Vec<(String, ColumnType)>, MaterializeError> {
    let mut seen: BTreeMap<Vec<u8>, Seen> = BTreeMap::new();
    let mut cursor = state.cursor();
    let mut items = 0u64;
    while cursor.advance().map_err(disk)? {
        items += 1;
        for (name, value) in item::entries(cursor.image())? {
            let t = match value.first() {
                Some(&tag::TRUE) => tag::FALSE,
                Some(&t) => t,
                None => continue,
            };
            let s = seen.entry(name.to_vec()).or_insert(Seen {
                items: 0,
                tag: t,
                mixed: false,
                all_i64: true,
                int_digits: 0,
                scale: 0,
            });
            s.items += 1;
            s.mixed |= s.tag != t;
            if t == tag::N && !s.mixed {
                let text = number(value)?;
                let digits = text.trim_start_matches('-');
                let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
                s.all_i64 &= frac.is_empty() && text.parse::<i64>().is_ok();
                s.int_digits = s.int_digits.max(int.trim_start_matches('0').len());
                s.scale = s.scale.max(frac.len());
            }
        }
    }
    let mut columns = Vec::new();
    for (name, s) in seen {
        if s.items != items || s.mixed || name == b"item" {
            continue;
        }
        let column = match s.tag {
            tag::S => ColumnType::Utf8,
            tag::B => ColumnType::Binary,
            tag::FALSE => ColumnType::Bool,
            tag::N if s.all_i64 => ColumnType::Int64,
            tag::N if s.int_digits + s.scale <= MAX_DIGITS => {
                ColumnType::Decimal(i8::try_from(s.scale).unwrap_or(0))
            }
            tag::N => ColumnType::NumberText,
            _ => continue,
        };
        match String::from_utf8(name) {
            Ok(name) => columns.push((name, column)),
            Err(_) => continue, // a name Parquet cannot carry: it stays in `item`
        }
    }
    Ok(columns)
}

fn disk(e: std::io::Error) -> MaterializeError {
    MaterializeError::Io("reading the state from local disk".into(), e)
}

fn parquet_error(e: impl std::fmt::Display) -> MaterializeError {
    MaterializeError::Io(
        "writing Parquet".into(),
        std::io::Error::other(e.to_string()),
    )
}

/// The text of an encoded N value.
fn number(value: &[u8]) -> Result<&str, ValueError> {
    let mut pos = 1;
    let text = get_bytes(value, &mut pos)?;
    std::str::from_utf8(text).map_err(|_| ValueError::Invalid("number is not text".into()))
}

/// The payload of an encoded S or B value.
fn payload(value: &[u8]) -> Result<&[u8], ValueError> {
    let mut pos = 1;
    get_bytes(value, &mut pos)
}

/// `text` (a normalised decimal) as an unscaled DECIMAL(38, scale) value.
fn decimal(text: &str, scale: usize) -> Result<i128, ValueError> {
    let (negative, digits) = match text.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, text),
    };
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    let mut all = String::with_capacity(int.len() + scale);
    all.push_str(int);
    all.push_str(frac);
    all.extend(std::iter::repeat_n('0', scale.saturating_sub(frac.len())));
    let v: i128 = all
        .parse()
        .map_err(|_| ValueError::InvalidNumber(text.to_string()))?;
    Ok(if negative { -v } else { v })
}

enum Builder {
    Utf8(StringBuilder),
    Int64(Int64Builder),
    Decimal(Decimal128Builder, usize),
    Binary(BinaryBuilder),
    Bool(BooleanBuilder),
}

impl Builder {
    fn new(t: ColumnType) -> Result<Self, MaterializeError> {
        Ok(match t {
            ColumnType::Utf8 | ColumnType::NumberText => Self::Utf8(StringBuilder::new()),
            ColumnType::Int64 => Self::Int64(Int64Builder::new()),
            ColumnType::Decimal(scale) => Self::Decimal(
                Decimal128Builder::new()
                    .with_precision_and_scale(MAX_DIGITS as u8, scale)
                    .map_err(parquet_error)?,
                usize::try_from(scale).unwrap_or(0),
            ),
            ColumnType::Binary => Self::Binary(BinaryBuilder::new()),
            ColumnType::Bool => Self::Bool(BooleanBuilder::new()),
        })
    }

    fn push(&mut self, value: Option<&[u8]>) -> Result<(), ValueError> {
        // Every item has the attribute, with this type (the first pass made
        // sure); a missing one would be a bug, written as a null.
        match (self, value) {
            (Self::Utf8(b), Some(v)) => b.append_value(
                std::str::from_utf8(payload(v)?)
                    .map_err(|_| ValueError::Invalid("string is not UTF-8".into()))?,
            ),
            (Self::Int64(b), Some(v)) => b.append_value(
                number(v)?
                    .parse()
                    .map_err(|_| ValueError::InvalidNumber(String::from_utf8_lossy(v).into()))?,
            ),
            (Self::Decimal(b, scale), Some(v)) => b.append_value(decimal(number(v)?, *scale)?),
            (Self::Binary(b), Some(v)) => b.append_value(payload(v)?),
            (Self::Bool(b), Some(v)) => b.append_value(v.first() == Some(&tag::TRUE)),
            (Self::Utf8(b), None) => b.append_null(),
            (Self::Int64(b), None) => b.append_null(),
            (Self::Decimal(b, _), None) => b.append_null(),
            (Self::Binary(b), None) => b.append_null(),
            (Self::Bool(b), None) => b.append_null(),
        }
        Ok(())
    }

    fn finish(&mut self) -> ArrayRef {
        match self {
            Self::Utf8(b) => Arc::new(b.finish()),
            Self::Int64(b) => Arc::new(b.finish()),
            Self::Decimal(b, _) => Arc::new(b.finish()),
            Self::Binary(b) => Arc::new(b.finish()),
            Self::Bool(b) => Arc::new(b.finish()),
        }
    }

    fn len(&self) -> usize {
        match self {
            Self::Utf8(b) => b.len(),
            Self::Int64(b) => b.len(),
            Self::Decimal(b, _) => b.len(),
            Self::Binary(b) => b.len(),
            Self::Bool(b) => b.len(),
        }
    }
}

fn arrow_type(t: ColumnType) -> DataType {
    match t {
        ColumnType::Utf8 | ColumnType::NumberText => DataType::Utf8,
        ColumnType::Int64 => DataType::Int64,
        ColumnType::Decimal(scale) => DataType::Decimal128(MAX_DIGITS as u8, scale),
        ColumnType::Binary => DataType::Binary,
        ColumnType::Bool => DataType::Boolean,
    }
}

/// Writes `state` to the Parquet file `path`.
pub fn write_parquet(state: &TableState, path: &Path) -> Result<Written, MaterializeError> {
    let columns = typed_columns(state)?;
    let mut fields: Vec<Field> = columns
        .iter()
        .map(|(name, t)| Field::new(name, arrow_type(*t), false))
        .collect();
    fields.push(Field::new("item", DataType::Utf8, false));
    let schema = Arc::new(Schema::new(fields));

    let name = path.display().to_string();
    let file = File::create(path).map_err(|e| MaterializeError::Io(name.clone(), e))?;
    let properties = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .build();
    let mut writer = ArrowWriter::try_new(
        BufWriter::with_capacity(1 << 20, file),
        schema.clone(),
        Some(properties),
    )
    .map_err(parquet_error)?;

    let mut builders = columns
        .iter()
        .map(|(_, t)| Builder::new(*t))
        .collect::<Result<Vec<_>, _>>()?;
    let mut json = StringBuilder::new();
    let mut line = String::with_capacity(1024);
    let mut items = 0u64;
    let mut cursor = state.cursor();
    let flush = |builders: &mut Vec<Builder>,
                 json: &mut StringBuilder,
                 writer: &mut ArrowWriter<BufWriter<File>>|
     -> Result<(), MaterializeError> {
        let mut arrays: Vec<ArrayRef> = builders.iter_mut().map(Builder::finish).collect();
        arrays.push(Arc::new(json.finish()));
        let batch = RecordBatch::try_new(schema.clone(), arrays).map_err(parquet_error)?;
        writer.write(&batch).map_err(parquet_error)?;
        if writer.in_progress_size() > ROW_GROUP_BYTES {
            writer.flush().map_err(parquet_error)?;
        }
        Ok(())
    };
    while cursor.advance().map_err(disk)? {
        let attributes = item::entries(cursor.image())?;
        let mut at = 0;
        for ((name, _), builder) in columns.iter().zip(builders.iter_mut()) {
            // Both are in name order: one walk finds every typed attribute.
            while at < attributes.len() && attributes[at].0 < name.as_bytes() {
                at += 1;
            }
            let value = attributes
                .get(at)
                .filter(|(n, _)| *n == name.as_bytes())
                .map(|(_, v)| *v);
            builder.push(value)?;
        }
        line.clear();
        render_item(cursor.image(), &mut line)?;
        json.append_value(&line);
        items += 1;
        if json.len() >= BATCH_ROWS {
            flush(&mut builders, &mut json, &mut writer)?;
        }
    }
    if json.len() > 0 || items == 0 {
        flush(&mut builders, &mut json, &mut writer)?;
    }
    debug_assert!(builders.iter().all(|b| b.len() == 0));
    let file = writer
        .into_inner()
        .map_err(parquet_error)?
        .into_inner()
        .map_err(|e| MaterializeError::Io(name.clone(), e.into_error()))?;
    file.sync_all()
        .map_err(|e| MaterializeError::Io(name.clone(), e))?;
    let bytes = file
        .metadata()
        .map_err(|e| MaterializeError::Io(name, e))?
        .len();
    Ok(Written { items, bytes })
}

#[cfg(test)]
mod tests {
    use super::decimal;

    #[test]
    fn decimals_are_scaled_exactly() {
        assert_eq!(decimal("1.5", 3), Ok(1500));
        assert_eq!(decimal("-0.001", 3), Ok(-1));
        assert_eq!(decimal("42", 0), Ok(42));
        let big = "12345678901234567890123456789012345678";
        assert_eq!(decimal(big, 0), Ok(big.parse().unwrap_or_default()));
    }
}
