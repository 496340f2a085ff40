//! Export lines in Amazon Ion (`outputFormat: ION`), read with the
//! maintained `ion-rs` crate into the same compact form as DynamoDB JSON.
//! Each line is an Ion stream of one struct (`$ion_1_0 {Item:{...}}`, or
//! `Metadata`/`Keys`/`OldImage`/`NewImage`); the types map as the service
//! documents: string S, decimal (or int) N, blob B, bool BOOL, null NULL,
//! list L, struct M, and lists annotated `$dynamodb_SS`, `$dynamodb_NS`,
//! `$dynamodb_BS` the sets. This path builds a tree per line: Ion exports
//! are rare, and correctness matters more here than speed.

use ion_rs::{Element, Struct, Value};

use super::error::ValueError;
use super::item::{self, tag, MAX_DEPTH};
use super::parse::ChangeLine;

fn invalid(what: impl Into<String>) -> ValueError {
    ValueError::Invalid(what.into())
}

fn read_struct(line: &[u8]) -> Result<Element, ValueError> {
    let element = Element::read_one(line).map_err(|e| invalid(format!("not Ion: {e}")))?;
    if element.as_struct().is_none() {
        return Err(invalid("an Ion line that is not a struct"));
    }
    Ok(element)
}

/// Parses a full-export line, appending the encoded item to `out`.
pub fn full_line(line: &[u8], out: &mut Vec<u8>) -> Result<(), ValueError> {
    let element = read_struct(line)?;
    let item = element
        .as_struct()
        .and_then(|s| s.get("Item"))
        .and_then(Element::as_struct)
        .ok_or_else(|| invalid("line without Item"))?;
    put_struct(item, out, 0)
}

/// Parses an incremental-export line, appending its encoded `Keys` and
/// `NewImage` (if any).
pub fn change_line(
    line: &[u8],
    keys: &mut Vec<u8>,
    image: &mut Vec<u8>,
) -> Result<ChangeLine, ValueError> {
    let element = read_struct(line)?;
    let fields = element
        .as_struct()
        .ok_or_else(|| invalid("an Ion line that is not a struct"))?;
    let key_struct = fields
        .get("Keys")
        .and_then(Element::as_struct)
        .ok_or_else(|| invalid("line without Keys"))?;
    if key_struct.is_empty() {
        return Err(invalid("empty Keys"));
    }
    put_struct(key_struct, keys, 0)?;
    let mut out = ChangeLine {
        timestamp: 0,
        has_image: false,
    };
    if let Some(new) = fields.get("NewImage").and_then(Element::as_struct) {
        put_struct(new, image, 0)?;
        out.has_image = true;
    }
    if let Some(stamp) = fields
        .get("Metadata")
        .and_then(Element::as_struct)
        .and_then(|m| m.get("WriteTimestampMicros"))
    {
        out.timestamp = match stamp.value() {
            Value::Int(i) => i.to_string().parse().ok(),
            Value::Decimal(d) => number_text(&d.to_string())
                .ok()
                .and_then(|t| t.parse().ok()),
            _ => None,
        }
        .ok_or_else(|| invalid("WriteTimestampMicros is not a whole number"))?;
    }
    Ok(out)
}

/// A struct's fields as an encoded map (sorted by name).
fn put_struct(s: &Struct, out: &mut Vec<u8>, depth: usize) -> Result<(), ValueError> {
    let mut fields: Vec<(String, Vec<u8>)> = Vec::with_capacity(s.len());
    for (name, value) in s.fields() {
        let name = name
            .text()
            .ok_or_else(|| invalid("a field name without text"))?
            .to_string();
        let mut encoded = Vec::new();
        put_value(value, &mut encoded, depth + 1)
            .map_err(|e| invalid(format!("attribute {name:?}: {e}")))?;
        fields.push((name, encoded));
    }
    let mut entries: Vec<(&[u8], &[u8])> = fields
        .iter()
        .map(|(n, v)| (n.as_bytes(), v.as_slice()))
        .collect();
    item::put_entries(out, &mut entries)
}

fn number_text(ion_text: &str) -> Result<String, ValueError> {
    // Ion writes exponents with `d` (`6d2`); DynamoDB numbers use `E`.
    let text = ion_text.replace(['d', 'D'], "E");
    let normal = item::number_text(text.as_bytes())?;
    Ok(String::from_utf8_lossy(&normal).into_owned())
}

fn put_value(e: &Element, out: &mut Vec<u8>, depth: usize) -> Result<(), ValueError> {
    if depth > MAX_DEPTH {
        return Err(invalid("nested too deep"));
    }
    let annotations = e.annotations();
    let set = ["SS", "NS", "BS"]
        .into_iter()
        .find(|kind| annotations.contains(format!("$dynamodb_{kind}")));
    match (set, e.value()) {
        (Some(kind), Value::List(members)) => {
            let mut texts: Vec<Vec<u8>> = Vec::new();
            for m in members.iter() {
                texts.push(match (kind, m.value()) {
                    ("SS", Value::String(s)) => s.text().as_bytes().to_vec(),
                    ("NS", Value::Decimal(d)) => number_text(&d.to_string())?.into_bytes(),
                    ("NS", Value::Int(i)) => number_text(&i.to_string())?.into_bytes(),
                    ("BS", Value::Blob(b)) => b.as_ref().to_vec(),
                    _ => return Err(invalid(format!("a member of a {kind} set of another type"))),
                });
            }
            let mut members: Vec<&[u8]> = texts.iter().map(Vec::as_slice).collect();
            let set_tag = match kind {
                "SS" => tag::SS,
                "NS" => tag::NS,
                _ => tag::BS,
            };
            item::put_set(out, set_tag, &mut members);
        }
        (Some(kind), _) => return Err(invalid(format!("a {kind} set that is not a list"))),
        (None, Value::Null(_)) => out.push(tag::NULL),
        (None, Value::Bool(b)) => out.push(if *b { tag::TRUE } else { tag::FALSE }),
        (None, Value::Int(i)) => item::put_number(out, i.to_string().as_bytes())?,
        (None, Value::Decimal(d)) => {
            item::put_number(out, number_text(&d.to_string())?.as_bytes())?
        }
        (None, Value::String(s)) => {
            out.push(tag::S);
            item::put_bytes(out, s.text().as_bytes());
        }
        (None, Value::Blob(b)) => {
            out.push(tag::B);
            item::put_bytes(out, b.as_ref());
        }
        (None, Value::List(list)) => {
            out.push(tag::L);
            item::put_varint(out, list.len() as u64);
            for m in list.iter() {
                put_value(m, out, depth + 1)?;
            }
        }
        (None, Value::Struct(s)) => {
            out.push(tag::M);
            put_struct(s, out, depth)?;
        }
        (None, other) => {
            return Err(invalid(format!(
                "Ion type {:?} has no DynamoDB type",
                other.ion_type()
            )))
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chain::item::item_json;
    use crate::chain::parse::LineParser;

    #[test]
    fn ion_lines_read_as_their_json_twins() {
        let ion = br#"$ion_1_0 {Item:{Authors:$dynamodb_SS::["b","a"],Id:103.,PageCount:6d2,Price:2.50,Neg:-1.5d-3,Flag:false,Nothing:null,Blob:{{AQI=}},Nums:$dynamodb_NS::[2,1.0],Bins:$dynamodb_BS::[{{AQI=}}],L:["x",1],M:{z:"y"}}}"#;
        let json = br#"{"Item":{"Authors":{"SS":["a","b"]},"Id":{"N":"103"},"PageCount":{"N":"600"},"Price":{"N":"2.5"},"Neg":{"N":"-0.0015"},"Flag":{"BOOL":false},"Nothing":{"NULL":true},"Blob":{"B":"AQI="},"Nums":{"NS":["1","2"]},"Bins":{"BS":["AQI="]},"L":{"L":[{"S":"x"},{"N":"1"}]},"M":{"M":{"z":{"S":"y"}}}}}"#;
        let (mut a, mut b) = (Vec::new(), Vec::new());
        full_line(ion, &mut a).unwrap();
        LineParser::new().full_line(json, &mut b).unwrap();
        assert_eq!(item_json(&a).unwrap(), item_json(&b).unwrap());

        let change = br#"$ion_1_0 {Metadata:{WriteTimestampMicros:1700000000123456},Keys:{pk:"a"},OldImage:{pk:"a"},NewImage:{pk:"a",v:1}}"#;
        let (mut keys, mut image) = (Vec::new(), Vec::new());
        let c = change_line(change, &mut keys, &mut image).unwrap();
        assert_eq!(
            c,
            ChangeLine {
                timestamp: 1_700_000_000_123_456,
                has_image: true
            }
        );
        assert_eq!(item_json(&keys).unwrap(), r#"{"pk":{"S":"a"}}"#);
        let c = change_line(
            br#"$ion_1_0 {Keys:{pk:"a"}}"#,
            &mut Vec::new(),
            &mut Vec::new(),
        )
        .unwrap();
        assert!(!c.has_image);
        assert!(full_line(b"$ion_1_0 {Item:{t:2023-01-01T}}", &mut Vec::new()).is_err());
        assert!(full_line(b"not ion {", &mut Vec::new()).is_err());
    }
}
