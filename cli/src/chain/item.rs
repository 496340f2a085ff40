//! The compact canonical form of items and keys: a few bytes per attribute
//! instead of a JSON tree, and canonical, so that two items are equal
//! exactly when their bytes are (attributes sorted by name, numbers
//! normalised, sets sorted and de-duplicated, binary as raw bytes).
//!
//! An item is `varint(count)` then, per attribute in name order,
//! `varint(len) name value`; a value is a tag byte and its payload. A key
//! is the item restricted to the key attributes, in the same form.

use std::borrow::Cow;
use std::fmt::Write as _;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::Value;

use super::error::ValueError;
use super::number::normalize_number;

/// The type tags of encoded values.
pub mod tag {
    pub const S: u8 = 1;
    pub const N: u8 = 2;
    pub const B: u8 = 3;
    pub const FALSE: u8 = 4;
    pub const TRUE: u8 = 5;
    pub const NULL: u8 = 6;
    pub const M: u8 = 7;
    pub const L: u8 = 8;
    pub const SS: u8 = 9;
    pub const NS: u8 = 10;
    pub const BS: u8 = 11;
}

/// DynamoDB allows 32 levels of nesting; anything deeper is malformed.
pub const MAX_DEPTH: usize = 64;

fn truncated() -> ValueError {
    ValueError::Invalid("truncated item encoding".into())
}

/// Appends `v` as a LEB128 varint.
pub fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Reads a varint at `*pos`, moving past it.
pub fn get_varint(buf: &[u8], pos: &mut usize) -> Result<u64, ValueError> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let b = *buf.get(*pos).ok_or_else(truncated)?;
        *pos += 1;
        v |= u64::from(b & 0x7f) << shift;
        if b < 0x80 {
            return Ok(v);
        }
    }
    Err(truncated())
}

/// Reads a length-prefixed byte string at `*pos`.
pub fn get_bytes<'a>(buf: &'a [u8], pos: &mut usize) -> Result<&'a [u8], ValueError> {
    let len = usize::try_from(get_varint(buf, pos)?).map_err(|_| truncated())?;
    let end = pos.checked_add(len).ok_or_else(truncated)?;
    let bytes = buf.get(*pos..end).ok_or_else(truncated)?;
    *pos = end;
    Ok(bytes)
}

/// Appends a length-prefixed byte string.
pub fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    put_varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

/// Appends a number value, normalising its text.
pub fn put_number(out: &mut Vec<u8>, text: &[u8]) -> Result<(), ValueError> {
    out.push(tag::N);
    put_bytes(out, &number_text(text)?);
    Ok(())
}

/// The normalised text of a number. Text that is already canonical (the
/// service writes numbers so) is borrowed as it is.
pub fn number_text(text: &[u8]) -> Result<Cow<'_, [u8]>, ValueError> {
    if is_canonical_number(text) {
        return Ok(Cow::Borrowed(text));
    }
    let text = std::str::from_utf8(text)
        .map_err(|_| ValueError::InvalidNumber(String::from_utf8_lossy(text).into_owned()))?;
    Ok(Cow::Owned(normalize_number(text)?.into_bytes()))
}

/// Whether `text` is what [`normalize_number`] would return for it: plain
/// digits, no sign but a minus, no leading or trailing zero, no `-0`.
fn is_canonical_number(text: &[u8]) -> bool {
    // Long texts take the slow path, which also bounds their exponent.
    if text.is_empty() || text.len() > 64 {
        return false;
    }
    let digits = text.strip_prefix(b"-").unwrap_or(text);
    let (int, frac) = match digits.iter().position(|&b| b == b'.') {
        Some(i) => (&digits[..i], Some(&digits[i + 1..])),
        None => (digits, None),
    };
    let all_digits = |p: &[u8]| !p.is_empty() && p.iter().all(u8::is_ascii_digit);
    if !all_digits(int) || (int.len() > 1 && int[0] == b'0') {
        return false;
    }
    match frac {
        Some(f) => all_digits(f) && f.last() != Some(&b'0'),
        // `-0` normalises to `0`.
        None => !(int == b"0" && digits.len() != text.len()),
    }
}

/// Sorts and de-duplicates set members, then appends the set.
pub fn put_set(out: &mut Vec<u8>, set_tag: u8, members: &mut Vec<&[u8]>) {
    members.sort_unstable();
    members.dedup();
    out.push(set_tag);
    put_varint(out, members.len() as u64);
    for m in members.iter() {
        put_bytes(out, m);
    }
}

/// Appends a map (or an item) from `(name, encoded value)` entries, sorting
/// them by name; a name given twice is an error.
pub fn put_entries(out: &mut Vec<u8>, entries: &mut [Attribute<'_>]) -> Result<(), ValueError> {
    entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
    if let Some(w) = entries.windows(2).find(|w| w[0].0 == w[1].0) {
        return Err(ValueError::Invalid(format!(
            "attribute {:?} given twice",
            String::from_utf8_lossy(w[0].0)
        )));
    }
    put_varint(out, entries.len() as u64);
    for (name, value) in entries.iter() {
        put_bytes(out, name);
        out.extend_from_slice(value);
    }
    Ok(())
}

/// An attribute: its name and its encoded value.
pub type Attribute<'a> = (&'a [u8], &'a [u8]);

/// The top-level attributes of an encoded item.
pub fn entries(item: &[u8]) -> Result<Vec<Attribute<'_>>, ValueError> {
    let mut pos = 0;
    let count = get_varint(item, &mut pos)?;
    let mut out = Vec::with_capacity(usize::try_from(count).unwrap_or(0).min(1024));
    for _ in 0..count {
        let name = get_bytes(item, &mut pos)?;
        let start = pos;
        skip_value(item, &mut pos, 0)?;
        out.push((name, &item[start..pos]));
    }
    if pos != item.len() {
        return Err(ValueError::Invalid("trailing bytes after an item".into()));
    }
    Ok(out)
}

/// Moves `*pos` past one encoded value.
fn skip_value(buf: &[u8], pos: &mut usize, depth: usize) -> Result<(), ValueError> {
    if depth > MAX_DEPTH {
        return Err(ValueError::Invalid("nested too deep".into()));
    }
    let t = *buf.get(*pos).ok_or_else(truncated)?;
    *pos += 1;
    match t {
        tag::S | tag::N | tag::B => {
            get_bytes(buf, pos)?;
        }
        tag::FALSE | tag::TRUE | tag::NULL => {}
        tag::M => {
            for _ in 0..get_varint(buf, pos)? {
                get_bytes(buf, pos)?;
                skip_value(buf, pos, depth + 1)?;
            }
        }
        tag::L => {
            for _ in 0..get_varint(buf, pos)? {
                skip_value(buf, pos, depth + 1)?;
            }
        }
        tag::SS | tag::NS | tag::BS => {
            for _ in 0..get_varint(buf, pos)? {
                get_bytes(buf, pos)?;
            }
        }
        other => return Err(ValueError::Invalid(format!("unknown value tag {other}"))),
    }
    Ok(())
}

/// The key of an encoded item: its attributes named in `key_attributes`
/// (sorted by name), in item form.
pub fn project_key(
    item: &[u8],
    key_attributes: &[Vec<u8>],
    out: &mut Vec<u8>,
) -> Result<(), ValueError> {
    let mut pos = 0;
    let count = get_varint(item, &mut pos)?;
    put_varint(out, key_attributes.len() as u64);
    let mut wanted = key_attributes.iter().peekable();
    for _ in 0..count {
        let Some(next) = wanted.peek() else { break };
        let name_start = pos;
        let name = get_bytes(item, &mut pos)?;
        let value_start = pos;
        skip_value(item, &mut pos, 0)?;
        if name == next.as_slice() {
            out.extend_from_slice(&item[name_start..value_start]);
            out.extend_from_slice(&item[value_start..pos]);
            wanted.next();
        }
    }
    match wanted.next() {
        Some(missing) => Err(ValueError::MissingKey(
            String::from_utf8_lossy(missing).into_owned(),
        )),
        None => Ok(()),
    }
}

/// The DynamoDB JSON of an encoded item, e.g. `{"pk":{"S":"a"}}`.
pub fn render_item(item: &[u8], out: &mut String) -> Result<(), ValueError> {
    let mut pos = 0;
    render_map(item, &mut pos, out, 0)?;
    if pos != item.len() {
        return Err(ValueError::Invalid("trailing bytes after an item".into()));
    }
    Ok(())
}

/// The DynamoDB JSON text of an encoded item or key.
pub fn item_json(item: &[u8]) -> Result<String, ValueError> {
    let mut out = String::with_capacity(item.len() * 2);
    render_item(item, &mut out)?;
    Ok(out)
}

/// An encoded item as a JSON value (for reports and tests).
pub fn item_value(item: &[u8]) -> Result<Value, ValueError> {
    serde_json::from_str(&item_json(item)?).map_err(|e| ValueError::Invalid(e.to_string()))
}

fn render_map(
    buf: &[u8],
    pos: &mut usize,
    out: &mut String,
    depth: usize,
) -> Result<(), ValueError> {
    out.push('{');
    for n in 0..get_varint(buf, pos)? {
        if n > 0 {
            out.push(',');
        }
        render_string(get_bytes(buf, pos)?, out)?;
        out.push(':');
        render_value(buf, pos, out, depth + 1)?;
    }
    out.push('}');
    Ok(())
}

/// Renders one value as `{"TAG":...}`.
pub fn render_value(
    buf: &[u8],
    pos: &mut usize,
    out: &mut String,
    depth: usize,
) -> Result<(), ValueError> {
    if depth > MAX_DEPTH {
        return Err(ValueError::Invalid("nested too deep".into()));
    }
    let t = *buf.get(*pos).ok_or_else(truncated)?;
    *pos += 1;
    let name = tag_name(t)?;
    out.push_str("{\"");
    out.push_str(name);
    out.push_str("\":");
    match t {
        tag::S | tag::N => render_string(get_bytes(buf, pos)?, out)?,
        tag::B => {
            out.push('"');
            out.push_str(&STANDARD.encode(get_bytes(buf, pos)?));
            out.push('"');
        }
        tag::FALSE => out.push_str("false"),
        tag::TRUE | tag::NULL => out.push_str("true"),
        tag::M => render_map(buf, pos, out, depth)?,
        tag::L => {
            out.push('[');
            for n in 0..get_varint(buf, pos)? {
                if n > 0 {
                    out.push(',');
                }
                render_value(buf, pos, out, depth + 1)?;
            }
            out.push(']');
        }
        _ => {
            out.push('[');
            for n in 0..get_varint(buf, pos)? {
                if n > 0 {
                    out.push(',');
                }
                let member = get_bytes(buf, pos)?;
                if t == tag::BS {
                    out.push('"');
                    out.push_str(&STANDARD.encode(member));
                    out.push('"');
                } else {
                    render_string(member, out)?;
                }
            }
            out.push(']');
        }
    }
    out.push('}');
    Ok(())
}

/// The DynamoDB name of a type tag.
pub fn tag_name(t: u8) -> Result<&'static str, ValueError> {
    Ok(match t {
        tag::S => "S",
        tag::N => "N",
        tag::B => "B",
        tag::FALSE | tag::TRUE => "BOOL",
        tag::NULL => "NULL",
        tag::M => "M",
        tag::L => "L",
        tag::SS => "SS",
        tag::NS => "NS",
        tag::BS => "BS",
        other => return Err(ValueError::Invalid(format!("unknown value tag {other}"))),
    })
}

/// A JSON string, escaped as serde_json escapes it.
fn render_string(bytes: &[u8], out: &mut String) -> Result<(), ValueError> {
    let text = std::str::from_utf8(bytes)
        .map_err(|_| ValueError::Invalid("string is not UTF-8".into()))?;
    out.push('"');
    let mut start = 0;
    for (i, b) in text.bytes().enumerate() {
        let escape = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x08 => "\\b",
            0x0c => "\\f",
            0..=0x1f => "",
            _ => continue,
        };
        out.push_str(&text[start..i]);
        if escape.is_empty() {
            let _ = write!(out, "\\u{b:04x}");
        } else {
            out.push_str(escape);
        }
        start = i + 1;
    }
    out.push_str(&text[start..]);
    out.push('"');
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_round_trip() {
        for v in [0u64, 1, 127, 128, 300, u64::from(u32::MAX), u64::MAX] {
            let mut out = Vec::new();
            put_varint(&mut out, v);
            let mut pos = 0;
            assert_eq!(get_varint(&out, &mut pos).unwrap(), v);
            assert_eq!(pos, out.len());
        }
        assert!(get_varint(&[0x80], &mut 0).is_err());
    }

    #[test]
    fn canonical_numbers_are_recognised() {
        for good in ["0", "1", "-1", "150", "0.5", "-0.0001", "12.34"] {
            assert!(is_canonical_number(good.as_bytes()), "{good}");
        }
        for bad in [
            "", "-0", "01", "1.", "1.50", ".5", "1E2", "+1", "-", "0.0", "1 ",
        ] {
            assert!(!is_canonical_number(bad.as_bytes()), "{bad}");
        }
    }

    #[test]
    fn keys_are_projected_and_items_rendered() {
        let mut s = Vec::new();
        s.push(tag::S);
        put_bytes(&mut s, b"a\"\x01");
        let mut n = Vec::new();
        put_number(&mut n, b"1.5E2").unwrap();
        let mut item = Vec::new();
        put_entries(&mut item, &mut [(b"v".as_slice(), &n), (b"pk", &s)]).unwrap();
        assert_eq!(
            item_json(&item).unwrap(),
            r#"{"pk":{"S":"a\"\u0001"},"v":{"N":"150"}}"#
        );
        let mut key = Vec::new();
        project_key(&item, &[b"pk".to_vec()], &mut key).unwrap();
        assert_eq!(item_json(&key).unwrap(), r#"{"pk":{"S":"a\"\u0001"}}"#);
        let mut other = Vec::new();
        assert_eq!(
            project_key(&item, &[b"sk".to_vec()], &mut other),
            Err(ValueError::MissingKey("sk".into()))
        );
        assert!(put_entries(&mut Vec::new(), &mut [(b"a".as_slice(), &n), (b"a", &s)]).is_err());
        assert_eq!(entries(&item).unwrap().len(), 2);
    }
}
