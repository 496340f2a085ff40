//! Parsing DynamoDB-JSON export lines straight into the compact form of
//! [`super::item`], without a JSON tree: `{"Item":{...}}` of a full export,
//! `{"Metadata":...,"Keys":...,"OldImage":...,"NewImage":...}` of an
//! incremental one (`OldImage` is skipped, not built). A few scratch
//! buffers per nesting level are reused from line to line, so a line costs
//! no allocation once the parser is warm.

use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use base64::Engine;

use super::error::ValueError;
use super::item::{self, tag, MAX_DEPTH};

/// What an incremental line holds, once parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChangeLine {
    /// `Metadata.WriteTimestampMicros`, 0 when absent.
    pub timestamp: u64,
    /// Whether the line has a `NewImage` (else it is a delete).
    pub has_image: bool,
}

/// Scratch of one nesting level: names and encoded values of a map, or
/// the members of a list or a set, with their spans.
#[derive(Default)]
struct Level {
    names: Vec<u8>,
    values: Vec<u8>,
    spans: Vec<(usize, usize, usize, usize)>,
}

impl Level {
    fn clear(&mut self) {
        self.names.clear();
        self.values.clear();
        self.spans.clear();
    }
}

/// A reusable parser of export lines.
#[derive(Default)]
pub struct LineParser {
    levels: Vec<Level>,
    text: Vec<u8>,
}

/// A position in one line.
struct Cursor<'a> {
    s: &'a [u8],
    i: usize,
}

/// Where a parsed string's bytes are: in the line, or decoded into scratch.
enum Text {
    Line(usize, usize),
    Decoded,
}

fn invalid(what: impl Into<String>) -> ValueError {
    ValueError::Invalid(what.into())
}

impl<'a> Cursor<'a> {
    fn ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.s.get(self.i) {
            self.i += 1;
        }
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn eat(&mut self, want: u8) -> Result<(), ValueError> {
        self.ws();
        if self.peek() == Some(want) {
            self.i += 1;
            Ok(())
        } else {
            Err(self.unexpected(&format!("'{}'", want as char)))
        }
    }

    fn unexpected(&self, wanted: &str) -> ValueError {
        match self.peek() {
            Some(b) => invalid(format!(
                "not JSON: expected {wanted} at byte {}, found '{}'",
                self.i,
                (b as char).escape_default()
            )),
            None => invalid(format!(
                "not JSON: expected {wanted}, found the end of the line"
            )),
        }
    }

    /// After a member: `true` at `,`, `false` at the closing `close`.
    fn more(&mut self, close: u8) -> Result<bool, ValueError> {
        self.ws();
        match self.peek() {
            Some(b',') => {
                self.i += 1;
                Ok(true)
            }
            Some(b) if b == close => {
                self.i += 1;
                Ok(false)
            }
            _ => Err(self.unexpected(&format!("',' or '{}'", close as char))),
        }
    }

    /// Opens an object or array; `true` when it is empty (and closed).
    fn open(&mut self, open: u8, close: u8) -> Result<bool, ValueError> {
        self.eat(open)?;
        self.ws();
        if self.peek() == Some(close) {
            self.i += 1;
            return Ok(true);
        }
        Ok(false)
    }

    /// A JSON string: its span in the line when it has no escape, else its
    /// decoded bytes in `scratch`.
    fn string(&mut self, scratch: &mut Vec<u8>) -> Result<Text, ValueError> {
        self.eat(b'"')?;
        let start = self.i;
        let rest = &self.s[start..];
        let end =
            memchr::memchr2(b'"', b'\\', rest).ok_or_else(|| invalid("unterminated string"))?;
        if rest[..end].iter().any(|&b| b < 0x20) {
            return Err(invalid("control character in a string"));
        }
        if rest[end] == b'"' {
            self.i = start + end + 1;
            return Ok(Text::Line(start, start + end));
        }
        scratch.clear();
        scratch.extend_from_slice(&rest[..end]);
        self.i = start + end;
        self.unescape(scratch)?;
        Ok(Text::Decoded)
    }

    /// Decodes the rest of a string holding escapes, up to its closing quote.
    fn unescape(&mut self, out: &mut Vec<u8>) -> Result<(), ValueError> {
        loop {
            let b = *self
                .s
                .get(self.i)
                .ok_or_else(|| invalid("unterminated string"))?;
            self.i += 1;
            match b {
                b'"' => return Ok(()),
                b'\\' => {
                    let e = *self
                        .s
                        .get(self.i)
                        .ok_or_else(|| invalid("unterminated string"))?;
                    self.i += 1;
                    let c = match e {
                        b'"' => b'"',
                        b'\\' => b'\\',
                        b'/' => b'/',
                        b'b' => 0x08,
                        b'f' => 0x0c,
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        b'u' => {
                            let ch = self.unicode_escape()?;
                            let mut utf8 = [0u8; 4];
                            out.extend_from_slice(ch.encode_utf8(&mut utf8).as_bytes());
                            continue;
                        }
                        _ => return Err(invalid("invalid escape in a string")),
                    };
                    out.push(c);
                }
                0..=0x1f => return Err(invalid("control character in a string")),
                _ => out.push(b),
            }
        }
    }

    /// `XXXX` after `\u`, with a following low surrogate when it is a high one.
    fn unicode_escape(&mut self) -> Result<char, ValueError> {
        let first = self.hex4()?;
        let code = if (0xD800..0xDC00).contains(&first) {
            if self.s.get(self.i..self.i + 2) != Some(b"\\u") {
                return Err(invalid("lone surrogate in a string"));
            }
            self.i += 2;
            let second = self.hex4()?;
            if !(0xDC00..0xE000).contains(&second) {
                return Err(invalid("lone surrogate in a string"));
            }
            0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00)
        } else {
            first
        };
        char::from_u32(code).ok_or_else(|| invalid("lone surrogate in a string"))
    }

    fn hex4(&mut self) -> Result<u32, ValueError> {
        let digits = self
            .s
            .get(self.i..self.i + 4)
            .and_then(|d| std::str::from_utf8(d).ok())
            .and_then(|d| u32::from_str_radix(d, 16).ok())
            .ok_or_else(|| invalid("invalid \\u escape"))?;
        self.i += 4;
        Ok(digits)
    }

    /// `true`, `false` or `null`.
    fn literal(&mut self) -> Result<Option<bool>, ValueError> {
        self.ws();
        for (text, value) in [
            (&b"true"[..], Some(true)),
            (b"false", Some(false)),
            (b"null", None),
        ] {
            if self.s[self.i..].starts_with(text) {
                self.i += text.len();
                return Ok(value);
            }
        }
        Err(self.unexpected("true, false or null"))
    }

    /// Moves past any JSON value, checking its structure loosely.
    fn skip(&mut self, scratch: &mut Vec<u8>, depth: usize) -> Result<(), ValueError> {
        if depth > MAX_DEPTH {
            return Err(invalid("nested too deep"));
        }
        self.ws();
        match self.peek() {
            Some(b'"') => {
                self.string(scratch)?;
            }
            Some(b'{') => {
                if !self.open(b'{', b'}')? {
                    loop {
                        self.string(scratch)?;
                        self.eat(b':')?;
                        self.skip(scratch, depth + 1)?;
                        if !self.more(b'}')? {
                            break;
                        }
                    }
                }
            }
            Some(b'[') => {
                if !self.open(b'[', b']')? {
                    loop {
                        self.skip(scratch, depth + 1)?;
                        if !self.more(b']')? {
                            break;
                        }
                    }
                }
            }
            Some(b't' | b'f' | b'n') => {
                self.literal()?;
            }
            Some(b'-' | b'0'..=b'9') => {
                while let Some(b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9') = self.peek() {
                    self.i += 1;
                }
            }
            _ => return Err(self.unexpected("a value")),
        }
        Ok(())
    }

    fn end(&mut self) -> Result<(), ValueError> {
        self.ws();
        if self.i == self.s.len() {
            Ok(())
        } else {
            Err(self.unexpected("the end of the line"))
        }
    }
}

/// The bytes of a parsed string.
fn text<'b>(line: &'b [u8], scratch: &'b [u8], t: &Text) -> &'b [u8] {
    match *t {
        Text::Line(a, b) => &line[a..b],
        Text::Decoded => scratch,
    }
}

impl LineParser {
    /// A parser with empty scratch.
    pub fn new() -> Self {
        Self::default()
    }

    /// Parses a full-export line `{"Item":{...}}`, appending the encoded
    /// item to `item`.
    pub fn full_line(&mut self, line: &[u8], item: &mut Vec<u8>) -> Result<(), ValueError> {
        let mut c = Cursor { s: line, i: 0 };
        let mut found = false;
        if !c.open(b'{', b'}')? {
            loop {
                let name = c.string(&mut self.text)?;
                c.eat(b':')?;
                if text(line, &self.text, &name) == b"Item" && !found {
                    self.map(&mut c, 0, item)?;
                    found = true;
                } else {
                    c.skip(&mut self.text, 0)?;
                }
                if !c.more(b'}')? {
                    break;
                }
            }
        }
        c.end()?;
        if found {
            Ok(())
        } else {
            Err(invalid("line without Item"))
        }
    }

    /// Parses an incremental-export line, appending its encoded `Keys` to
    /// `keys` and its encoded `NewImage`, if any, to `image`.
    pub fn change_line(
        &mut self,
        line: &[u8],
        keys: &mut Vec<u8>,
        image: &mut Vec<u8>,
    ) -> Result<ChangeLine, ValueError> {
        let mut c = Cursor { s: line, i: 0 };
        let mut out = ChangeLine {
            timestamp: 0,
            has_image: false,
        };
        let mut has_keys = false;
        if !c.open(b'{', b'}')? {
            loop {
                let name = c.string(&mut self.text)?;
                c.eat(b':')?;
                match text(line, &self.text, &name) {
                    b"Keys" if !has_keys => {
                        self.map(&mut c, 0, keys)?;
                        has_keys = true;
                    }
                    b"NewImage" if !out.has_image => {
                        c.ws();
                        if c.peek() == Some(b'n') {
                            c.literal()?;
                        } else {
                            self.map(&mut c, 0, image)?;
                            out.has_image = true;
                        }
                    }
                    b"Metadata" => out.timestamp = self.metadata(&mut c)?,
                    _ => c.skip(&mut self.text, 0)?,
                }
                if !c.more(b'}')? {
                    break;
                }
            }
        }
        c.end()?;
        match keys.first() {
            Some(0) => Err(invalid("empty Keys")),
            Some(_) if has_keys => Ok(out),
            _ => Err(invalid("line without Keys")),
        }
    }

    /// `{"WriteTimestampMicros":{"N":"..."}}`: the timestamp, 0 if absent.
    fn metadata(&mut self, c: &mut Cursor<'_>) -> Result<u64, ValueError> {
        let mut timestamp = 0;
        if c.open(b'{', b'}')? {
            return Ok(0);
        }
        loop {
            let name = c.string(&mut self.text)?;
            c.eat(b':')?;
            if text(c.s, &self.text, &name) == b"WriteTimestampMicros" {
                let mut n = Vec::new();
                self.value(c, 0, &mut n)?;
                let mut pos = 1;
                let digits = match n.first() {
                    Some(&tag::N) => item::get_bytes(&n, &mut pos)?,
                    _ => return Err(invalid("WriteTimestampMicros is not a number")),
                };
                timestamp = std::str::from_utf8(digits)
                    .ok()
                    .and_then(|d| d.parse().ok())
                    .ok_or_else(|| invalid("WriteTimestampMicros is not a whole number"))?;
            } else {
                c.skip(&mut self.text, 0)?;
            }
            if !c.more(b'}')? {
                return Ok(timestamp);
            }
        }
    }

    /// Scratch of nesting level `depth`, taken out (put it back after).
    fn take_level(&mut self, depth: usize) -> Result<Level, ValueError> {
        if depth > MAX_DEPTH {
            return Err(invalid("nested too deep"));
        }
        if self.levels.len() <= depth {
            self.levels.resize_with(depth + 1, Level::default);
        }
        let mut level = std::mem::take(&mut self.levels[depth]);
        level.clear();
        Ok(level)
    }

    /// An object of attribute values (an item or a map), encoded sorted.
    fn map(
        &mut self,
        c: &mut Cursor<'_>,
        depth: usize,
        out: &mut Vec<u8>,
    ) -> Result<(), ValueError> {
        let mut level = self.take_level(depth)?;
        let result = self.map_into(c, depth, &mut level, out);
        self.levels[depth] = level;
        result
    }

    fn map_into(
        &mut self,
        c: &mut Cursor<'_>,
        depth: usize,
        level: &mut Level,
        out: &mut Vec<u8>,
    ) -> Result<(), ValueError> {
        if !c.open(b'{', b'}')? {
            loop {
                let name = c.string(&mut self.text)?;
                let n0 = level.names.len();
                level.names.extend_from_slice(text(c.s, &self.text, &name));
                c.eat(b':')?;
                let v0 = level.values.len();
                self.value(c, depth + 1, &mut level.values)
                    .map_err(|e| in_attribute(&level.names[n0..], e))?;
                level
                    .spans
                    .push((n0, level.names.len(), v0, level.values.len()));
                if !c.more(b'}')? {
                    break;
                }
            }
        }
        let mut entries: Vec<(&[u8], &[u8])> = level
            .spans
            .iter()
            .map(|&(n0, n1, v0, v1)| (&level.names[n0..n1], &level.values[v0..v1]))
            .collect();
        item::put_entries(out, &mut entries)
    }

    /// One attribute value `{"TAG": ...}`, encoded.
    fn value(
        &mut self,
        c: &mut Cursor<'_>,
        depth: usize,
        out: &mut Vec<u8>,
    ) -> Result<(), ValueError> {
        c.eat(b'{')?;
        let type_name = c.string(&mut self.text)?;
        let kind = match text(c.s, &self.text, &type_name) {
            b"S" => tag::S,
            b"N" => tag::N,
            b"B" => tag::B,
            b"BOOL" => tag::TRUE,
            b"NULL" => tag::NULL,
            b"M" => tag::M,
            b"L" => tag::L,
            b"SS" => tag::SS,
            b"NS" => tag::NS,
            b"BS" => tag::BS,
            _ => return Err(invalid("not an attribute value (unknown type)")),
        };
        c.eat(b':')?;
        c.ws();
        match kind {
            tag::S => {
                let t = c.string(&mut self.text)?;
                out.push(tag::S);
                item::put_bytes(out, text(c.s, &self.text, &t));
            }
            tag::N => {
                let t = c.string(&mut self.text)?;
                item::put_number(out, text(c.s, &self.text, &t))?;
            }
            tag::B => {
                let t = c.string(&mut self.text)?;
                let decoded = decode_binary(text(c.s, &self.text, &t))?;
                out.push(tag::B);
                item::put_bytes(out, &decoded);
            }
            tag::TRUE => match c.literal()? {
                Some(true) => out.push(tag::TRUE),
                Some(false) => out.push(tag::FALSE),
                None => return Err(invalid("BOOL is null")),
            },
            tag::NULL => match c.literal()? {
                Some(true) => out.push(tag::NULL),
                _ => return Err(invalid("NULL must be true")),
            },
            tag::M => {
                out.push(tag::M);
                self.map(c, depth, out)?;
            }
            tag::L => self.list(c, depth, out)?,
            set_tag => self.set(c, depth, set_tag, out)?,
        }
        c.ws();
        match c.peek() {
            Some(b'}') => {
                c.i += 1;
                Ok(())
            }
            _ => Err(invalid("not an attribute value (more than one type)")),
        }
    }

    fn list(
        &mut self,
        c: &mut Cursor<'_>,
        depth: usize,
        out: &mut Vec<u8>,
    ) -> Result<(), ValueError> {
        let mut level = self.take_level(depth)?;
        let mut count = 0u64;
        let mut result = Ok(());
        if !c.open(b'[', b']')? {
            loop {
                if let Err(e) = self.value(c, depth + 1, &mut level.values) {
                    result = Err(e);
                    break;
                }
                count += 1;
                match c.more(b']') {
                    Ok(true) => continue,
                    Ok(false) => break,
                    Err(e) => {
                        result = Err(e);
                        break;
                    }
                }
            }
        }
        if result.is_ok() {
            out.push(tag::L);
            item::put_varint(out, count);
            out.extend_from_slice(&level.values);
        }
        self.levels[depth] = level;
        result
    }

    fn set(
        &mut self,
        c: &mut Cursor<'_>,
        depth: usize,
        kind: u8,
        out: &mut Vec<u8>,
    ) -> Result<(), ValueError> {
        let mut level = self.take_level(depth)?;
        let result = self.set_members(c, kind, &mut level);
        if result.is_ok() {
            let mut members: Vec<&[u8]> = level
                .spans
                .iter()
                .map(|&(a, b, _, _)| &level.values[a..b])
                .collect();
            item::put_set(out, kind, &mut members);
        }
        self.levels[depth] = level;
        result
    }

    fn set_members(
        &mut self,
        c: &mut Cursor<'_>,
        kind: u8,
        level: &mut Level,
    ) -> Result<(), ValueError> {
        if c.open(b'[', b']')? {
            return Ok(());
        }
        loop {
            let t = c.string(&mut self.text)?;
            let member = text(c.s, &self.text, &t);
            let start = level.values.len();
            match kind {
                tag::SS => level.values.extend_from_slice(member),
                tag::NS => level.values.extend_from_slice(&item::number_text(member)?),
                _ => level.values.extend_from_slice(&decode_binary(member)?),
            }
            level.spans.push((start, level.values.len(), 0, 0));
            if !c.more(b']')? {
                return Ok(());
            }
        }
    }
}

fn in_attribute(name: &[u8], e: ValueError) -> ValueError {
    match e {
        ValueError::Invalid(why) => invalid(format!(
            "attribute {:?}: {why}",
            String::from_utf8_lossy(name)
        )),
        other => other,
    }
}

/// Base64 (padded or not) to bytes.
fn decode_binary(text: &[u8]) -> Result<Vec<u8>, ValueError> {
    STANDARD
        .decode(text)
        .or_else(|_| STANDARD_NO_PAD.decode(text))
        .map_err(|_| {
            invalid(format!(
                "binary value is not base64: {:?}",
                String::from_utf8_lossy(text)
            ))
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chain::item::item_json;

    fn full(line: &str) -> Result<String, ValueError> {
        let mut out = Vec::new();
        LineParser::new().full_line(line.as_bytes(), &mut out)?;
        item_json(&out)
    }

    #[test]
    fn full_lines_become_canonical_items() {
        assert_eq!(
            full(r#" { "Item" : { "z" : {"N":"1.5E2"}, "a": {"SS":["b","a","b"]}, "m":{"M":{"y":{"NULL":true},"x":{"BOOL":false}}}, "l":{"L":[{"B":"AQI"},{"NS":["2","1.0"]}]}, "e":{"S":"\u00e9\n\"\ud83d\ude00"} } } "#).unwrap(),
            r#"{"a":{"SS":["a","b"]},"e":{"S":"é\n\"😀"},"l":{"L":[{"B":"AQI="},{"NS":["1","2"]}]},"m":{"M":{"x":{"BOOL":false},"y":{"NULL":true}}},"z":{"N":"150"}}"#
        );
        assert_eq!(full(r#"{"Item":{}}"#).unwrap(), "{}");
    }

    #[test]
    fn malformed_lines_are_refused() {
        for bad in [
            "",
            "[1]",
            r#"{"Item":{"a":{"N":1}}}"#,
            r#"{"Item":{"a":{"S":"x","N":"1"}}}"#,
            r#"{"Item":{"a":{"X":"a"}}}"#,
            r#"{"Item":{"a":{"NULL":false}}}"#,
            r#"{"Item":{"a":{"NS":[1]}}}"#,
            r#"{"Item":{"a":{"S":"x"},"a":{"S":"y"}}}"#,
            r#"{"Item":{"a":{"SSS":["x"]}}}"#,
            r#"{"Item":{"a":{"B":"!!"}}}"#,
            r#"{"Item":{"a":{"S":"x"}}} trailing"#,
            r#"{"Item":{"a":{"S":"\ud800"}}}"#,
            "{\"Item\":{\"a\":{\"S\":\"\x01\"}}}",
            r#"{"Other":{}}"#,
        ] {
            assert!(full(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn change_lines_give_keys_image_and_timestamp() {
        let mut p = LineParser::new();
        let (mut keys, mut image) = (Vec::new(), Vec::new());
        let line = br#"{"Metadata":{"WriteTimestampMicros":{"N":"1700000000123456"}},"Keys":{"pk":{"S":"a"}},"OldImage":{"pk":{"S":"a"},"v":{"L":[{"S":"x\"y"}]}},"NewImage":{"pk":{"S":"a"},"v":{"N":"2"}}}"#;
        let change = p.change_line(line, &mut keys, &mut image).unwrap();
        assert_eq!(
            change,
            ChangeLine {
                timestamp: 1_700_000_000_123_456,
                has_image: true
            }
        );
        assert_eq!(item_json(&keys).unwrap(), r#"{"pk":{"S":"a"}}"#);
        assert_eq!(
            item_json(&image).unwrap(),
            r#"{"pk":{"S":"a"},"v":{"N":"2"}}"#
        );

        let (mut keys, mut image) = (Vec::new(), Vec::new());
        let delete = p
            .change_line(
                br#"{"Keys":{"pk":{"S":"a"}},"NewImage":null}"#,
                &mut keys,
                &mut image,
            )
            .unwrap();
        assert_eq!(
            delete,
            ChangeLine {
                timestamp: 0,
                has_image: false
            }
        );
        assert!(image.is_empty());
        for bad in [
            &br#"{"NewImage":{}}"#[..],
            br#"{"Keys":{}}"#,
            br#"{"Keys":{"pk":{"S":"a"}},"Metadata":{"WriteTimestampMicros":{"S":"1"}}}"#,
        ] {
            assert!(p
                .change_line(bad, &mut Vec::new(), &mut Vec::new())
                .is_err());
        }
    }
}
