//! `incx materialize` as Parquet, read back with the parquet crate's Arrow
//! reader: typed columns for the key and for every attribute of one scalar
//! type in all items, the narrowest exact number type, the item as JSON.

use std::process::Command;

use arrow_array::{
    Array, BinaryArray, BooleanArray, Decimal128Array, Int64Array, RecordBatch, StringArray,
};
use arrow_schema::DataType;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use serde_json::{json, Value};

use super::common::*;

fn chain() -> Exports {
    // 38 digits before the point here and one after it elsewhere: no
    // DECIMAL(38, s) holds both, so the column is the exact text.
    let big = "12345678901234567890123456789012345678";
    let mut ex = Exports::new(Some("exp"));
    ex.full(
        T,
        &[vec![
            item_line(
                "a",
                "1",
                json!({"v": n("1"), "price": n("2.5"), "flag": {"BOOL": true}, "blob": {"B": "AQI="},
                       "big": n(big), "mixed": s("x"), "maybe": s("m"), "tags": {"SS": ["t"]}}),
            ),
            item_line(
                "b",
                "1",
                json!({"v": n("-7"), "price": n("10.125"), "flag": {"BOOL": false}, "blob": {"B": "Aw=="},
                       "big": n("0.5"), "mixed": n("1"), "tags": {"SS": ["u"]}}),
            ),
        ]],
    );
    ex.incremental(
        T,
        T + 900,
        "NEW_IMAGE",
        &[vec![insert(
            "c",
            "1",
            json!({"v": n("9007199254740993"), "price": n("0"), "flag": {"BOOL": true}, "blob": {"B": ""},
                   "big": n("-5"), "mixed": s("y"), "tags": {"SS": ["v"]}}),
        )]],
    );
    ex
}

fn read(path: &std::path::Path) -> RecordBatch {
    let file = std::fs::File::open(path).unwrap();
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)
        .unwrap()
        .build()
        .unwrap();
    let mut batches: Vec<RecordBatch> = reader.map(Result::unwrap).collect();
    assert_eq!(batches.len(), 1, "three rows are one batch");
    batches.remove(0)
}

#[test]
fn parquet_has_typed_columns_and_the_item_as_json() {
    let endpoint = fake_s3::serve("bucket", chain().store);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.parquet");
    let out = Command::new(env!("CARGO_BIN_EXE_incx"))
        .args(["materialize", "--output", path.to_str().unwrap()])
        .args(["--bucket", "bucket", "--prefix", "exp", "--discover"])
        .args(["--endpoint-url", &endpoint])
        .env_clear()
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "stderr: {stderr}");
    assert!(stderr.contains("wrote 3 items"), "{stderr}");

    let batch = read(&path);
    let types: Vec<(String, DataType)> = batch
        .schema()
        .fields()
        .iter()
        .map(|f| (f.name().clone(), f.data_type().clone()))
        .collect();
    let want = |name: &str, t: DataType| (name.to_string(), t);
    assert_eq!(
        types,
        [
            want("big", DataType::Utf8),
            want("blob", DataType::Binary),
            want("flag", DataType::Boolean),
            want("pk", DataType::Utf8),
            want("price", DataType::Decimal128(38, 3)),
            want("sk", DataType::Utf8),
            want("v", DataType::Int64),
            want("item", DataType::Utf8),
        ],
        "maybe (not in every item), mixed (two types) and tags (a set) are only in item"
    );
    let col = |name: &str| batch.column_by_name(name).unwrap().clone();
    let pks = col("pk");
    let pks = pks.as_any().downcast_ref::<StringArray>().unwrap();
    let row = |pk: &str| (0..pks.len()).find(|&i| pks.value(i) == pk).unwrap();
    let (a, c) = (row("a"), row("c"));
    let v = col("v");
    let v = v.as_any().downcast_ref::<Int64Array>().unwrap();
    assert_eq!(v.value(c), 9_007_199_254_740_993, "exact past 2^53");
    let price = col("price");
    let price = price.as_any().downcast_ref::<Decimal128Array>().unwrap();
    assert_eq!(price.value(a), 2500);
    assert_eq!(price.value(row("b")), 10125);
    let flag = col("flag");
    assert!(flag
        .as_any()
        .downcast_ref::<BooleanArray>()
        .unwrap()
        .value(a));
    let blob = col("blob");
    assert_eq!(
        blob.as_any()
            .downcast_ref::<BinaryArray>()
            .unwrap()
            .value(a),
        [1, 2]
    );
    let big = col("big");
    assert_eq!(
        big.as_any().downcast_ref::<StringArray>().unwrap().value(a),
        "12345678901234567890123456789012345678"
    );
    let items = col("item");
    let items = items.as_any().downcast_ref::<StringArray>().unwrap();
    let item: Value = serde_json::from_str(items.value(a)).unwrap();
    assert_eq!(item["maybe"], s("m"));
    assert_eq!(item["tags"], json!({"SS": ["t"]}));
    assert_eq!(item["pk"], s("a"));
}
