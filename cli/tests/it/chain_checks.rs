//! What the chain reader reports: checksum errors and warnings (both
//! checksum file namings), gaps, overlaps, older chains, missing exports.

use super::common::*;
use incx_cli::chain::{read_chain, ChainError, ChainSource, ChecksumKind, ReadOptions};
use serde_json::json;

fn root() -> ChainSource {
    ChainSource::Discover { prefix: None }
}

fn small_chain(ex: &mut Exports) -> (String, String) {
    let full = ex.full(T, &[vec![item_line("a", "1", json!({}))]]);
    let inc = ex.incremental(
        T,
        T + 900,
        "NEW_IMAGE",
        &[vec![insert("b", "1", json!({}))]],
    );
    (full, inc)
}

#[tokio::test]
async fn wrong_data_file_md5_is_reported() {
    let mut ex = Exports::new(None);
    let (_, inc) = small_chain(&mut ex);
    let data_key = ex.data_keys(&inc).remove(0);
    // Same content, recompressed differently: gunzips fine, MD5 differs.
    let mut other = gzip_lines(&[insert("b", "1", json!({}))]);
    other[9] ^= 0xff; // the OS byte of the gzip header
    ex.store.put(data_key.clone(), other);
    let result = read_chain(&ex.store, &root(), ReadOptions::default())
        .await
        .unwrap();
    let report = &result.report;
    assert!(!report.is_clean());
    assert_eq!(report.checksum_errors.len(), 1, "{report:#?}");
    assert_eq!(report.checksum_errors[0].key, data_key);
    assert_eq!(report.checksum_errors[0].kind, ChecksumKind::Mismatch);
    assert!(report.gaps.is_empty() && report.overlaps.is_empty());
}

#[tokio::test]
async fn checksum_file_naming_is_accepted_and_problems_are_classified() {
    let mut ex = Exports::new(Some("p"));
    ex.checksum_suffix = ".checksum";
    let (full, _) = small_chain(&mut ex);
    assert!(ex
        .store
        .keys()
        .any(|k| k.ends_with("manifest-summary.checksum")));
    let source = ChainSource::Discover {
        prefix: Some("p".into()),
    };
    let result = read_chain(&ex.store, &source, ReadOptions::default())
        .await
        .unwrap();
    assert!(result.report.is_clean(), "{:#?}", result.report);
    assert!(
        result.report.checksum_warnings.is_empty(),
        "{:#?}",
        result.report
    );
    assert_eq!(result.state.len(), 2);

    // A missing checksum is an error, a warning only when allowed; a
    // wrong one is always an error.
    let summary_sum = full.replace(".json", ".checksum");
    ex.store.remove(&summary_sum);
    let files_sum = full.replace("manifest-summary.json", "manifest-files.checksum");
    ex.store
        .put(files_sum.clone(), "5d41402abc4b2a76b9719d911017c592");
    let result = read_chain(&ex.store, &source, ReadOptions::default())
        .await
        .unwrap();
    let report = &result.report;
    assert!(report.checksum_warnings.is_empty(), "{report:#?}");
    assert_eq!(report.checksum_errors.len(), 2, "{report:#?}");
    let missing = report
        .checksum_errors
        .iter()
        .find(|c| c.key == full)
        .unwrap();
    assert_eq!(missing.kind, ChecksumKind::Missing);
    assert!(report.checksum_errors.iter().any(|c| c.key == files_sum));
    assert!(!report.is_clean());

    let allowed = ReadOptions {
        allow_missing_checksums: true,
        ..ReadOptions::default()
    };
    let result = read_chain(&ex.store, &source, allowed).await.unwrap();
    let report = &result.report;
    assert_eq!(report.checksum_warnings.len(), 1, "{report:#?}");
    assert_eq!(report.checksum_warnings[0].key, full);
    assert_eq!(report.checksum_warnings[0].kind, ChecksumKind::Missing);
    assert_eq!(report.checksum_errors.len(), 1, "{report:#?}");
    assert_eq!(report.checksum_errors[0].key, files_sum);
    assert!(!report.is_clean());
}

#[tokio::test]
async fn hex_manifest_checksums_are_accepted() {
    let mut ex = Exports::new(None);
    let (full, _) = small_chain(&mut ex);
    use md5::{Digest, Md5};
    let body = ex.store.body(&full).unwrap_or_default().to_vec();
    let hex: String = Md5::digest(&body)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    ex.store
        .put(full.replace(".json", ".md5"), format!("{hex}\n"));
    let result = read_chain(&ex.store, &root(), ReadOptions::default())
        .await
        .unwrap();
    assert!(result.report.is_clean(), "{:#?}", result.report);
    assert!(result.report.checksum_warnings.is_empty());
}

#[tokio::test]
async fn gap_and_overlap_are_reported_with_both_windows() {
    let mut ex = Exports::new(None);
    ex.full(T, &[vec![item_line("a", "1", json!({}))]]);
    ex.incremental(
        T,
        T + 900,
        "NEW_IMAGE",
        &[vec![insert("b", "1", json!({}))]],
    );
    ex.incremental(
        T + 1000,
        T + 1900,
        "NEW_IMAGE",
        &[vec![insert("c", "1", json!({}))]],
    );
    ex.incremental(
        T + 1800,
        T + 2700,
        "NEW_IMAGE",
        &[vec![insert("d", "1", json!({}))]],
    );
    let result = read_chain(&ex.store, &root(), ReadOptions::default())
        .await
        .unwrap();
    let report = &result.report;
    assert!(!report.is_clean());
    let ms = |s: i64| s * 1000;
    assert_eq!(report.gaps.len(), 1, "{report:#?}");
    let gap = &report.gaps[0];
    assert_eq!((gap.previous.from, gap.previous.to), (ms(T), ms(T + 900)));
    assert_eq!((gap.next.from, gap.next.to), (ms(T + 1000), ms(T + 1900)));
    assert_eq!(report.overlaps.len(), 1, "{report:#?}");
    let overlap = &report.overlaps[0];
    assert_eq!(
        (overlap.previous.from, overlap.previous.to),
        (ms(T + 1000), ms(T + 1900))
    );
    assert_eq!(
        (overlap.next.from, overlap.next.to),
        (ms(T + 1800), ms(T + 2700))
    );
    assert_eq!(report.exports.len(), 4);
    assert_eq!(result.state.len(), 4);
    let json = serde_json::to_value(report).unwrap();
    assert_eq!(json["gaps"][0]["next"]["from"], json!(T + 1000));
}

#[tokio::test]
async fn exports_of_an_older_chain_are_ignored() {
    let mut ex = Exports::new(None);
    let old_start = T - 7200;
    ex.full(old_start, &[vec![item_line("old", "1", json!({}))]]);
    ex.incremental(
        old_start,
        old_start + 3600,
        "NEW_IMAGE",
        &[vec![delete_keys_only("a", "1")]],
    );
    ex.incremental(
        old_start + 3600,
        T,
        "NEW_IMAGE",
        &[vec![insert("old2", "1", json!({}))]],
    );
    ex.full(
        T,
        &[vec![
            item_line("a", "1", json!({})),
            item_line("b", "1", json!({})),
        ]],
    );
    ex.incremental(
        T,
        T + 900,
        "NEW_IMAGE",
        &[vec![insert("c", "1", json!({}))]],
    );
    let result = read_chain(&ex.store, &root(), ReadOptions::default())
        .await
        .unwrap();
    let report = &result.report;
    assert!(report.is_clean(), "{report:#?}");
    assert_eq!(report.exports.len(), 2);
    assert_eq!(report.exports[0].to, T * 1000);
    assert_eq!(report.ignored.len(), 3, "{report:#?}");
    assert_eq!(result.state.len(), 3, "old chain's changes not applied");
}

#[tokio::test]
async fn missing_exports_are_fatal_and_missing_data_is_reported() {
    let empty = Exports::new(None);
    let err = read_chain(&empty.store, &root(), ReadOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(err, ChainError::NoExports(_)), "{err}");

    let mut only_inc = Exports::new(None);
    only_inc.incremental(
        T,
        T + 900,
        "NEW_IMAGE",
        &[vec![insert("a", "1", json!({}))]],
    );
    let err = read_chain(&only_inc.store, &root(), ReadOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(err, ChainError::NoFullExport(1)), "{err}");

    let mut ex = Exports::new(None);
    let (_, inc) = small_chain(&mut ex);
    let data_key = ex.data_keys(&inc).remove(0);
    ex.store.remove(&data_key);
    let result = read_chain(&ex.store, &root(), ReadOptions::default())
        .await
        .unwrap();
    assert!(!result.report.is_clean());
    assert!(
        result.report.data_errors[0].contains(&data_key),
        "{:#?}",
        result.report
    );
}
