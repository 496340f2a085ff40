//! Reading and applying chains in the real export layout: inserts, updates
//! and deletes of both output views, exact numbers, sets, maps and binary.

use super::common::*;
use incx_cli::chain::{
    compare_states, compare_with_table, key_of, read_chain, ChainSource, ExportType, ReadOptions,
    Slice,
};
use serde_json::{json, Value};

fn discover() -> ChainSource {
    ChainSource::Discover {
        prefix: Some("exports/t".into()),
    }
}

fn key(pk: &str, sk: &str) -> String {
    key_of(&keys(pk, sk), &["pk".into(), "sk".into()]).unwrap()
}

/// A full export and two incrementals (NEW_AND_OLD_IMAGES, then NEW_IMAGE).
fn three_export_chain() -> Exports {
    let mut ex = Exports::new(Some("exports/t"));
    ex.full(
        T,
        &[
            vec![
                item_line("a", "1", json!({"v": n("1")})),
                item_line("b", "1", json!({"v": n("2")})),
            ],
            vec![],
            vec![item_line("c", "1", json!({"v": n("3")}))],
        ],
    );
    ex.incremental(
        T,
        T + 900,
        "NEW_AND_OLD_IMAGES",
        &[vec![
            update("a", "1", json!({"v": n("1")}), json!({"v": n("10")})),
            insert("d", "1", json!({"v": n("4")})),
            delete_with_old("b", "1", json!({"v": n("2")})),
        ]],
    );
    ex.incremental(
        T + 900,
        T + 1800,
        "NEW_IMAGE",
        &[
            vec![
                delete_keys_only("c", "1"),
                insert("d", "1", json!({"v": n("40")})),
            ],
            vec![insert("e", "2", json!({"v": n("5"), "s": s("new")}))],
        ],
    );
    ex
}

#[tokio::test]
async fn full_and_two_incrementals_are_applied() {
    let ex = three_export_chain();
    let result = read_chain(&ex.store, &discover(), ReadOptions::default())
        .await
        .unwrap();
    let report = &result.report;
    assert!(report.is_clean(), "{report:#?}");
    assert!(report.checksum_warnings.is_empty(), "{report:#?}");
    assert_eq!(report.key_attributes, ["pk", "sk"]);
    let types: Vec<_> = report.exports.iter().map(|e| e.export_type).collect();
    assert_eq!(
        types,
        [
            ExportType::Full,
            ExportType::Incremental,
            ExportType::Incremental
        ]
    );
    let ms = |s: i64| s * 1000;
    assert_eq!(
        report.windows(),
        [
            (ms(T), ms(T)),
            (ms(T), ms(T + 900)),
            (ms(T + 900), ms(T + 1800))
        ]
    );
    assert_eq!(report.exports[0].items, 3);
    assert_eq!(report.exports[0].files, 3);
    assert_eq!(report.exports[2].items, 3);
    assert_eq!(report.files, 6);
    assert!(report.bytes > 0);
    assert_eq!(report.items, 3);

    let state = &result.state;
    assert_eq!(state.len(), 3);
    let get = |pk, sk| state.get(&key(pk, sk)).unwrap();
    assert_eq!(get("a", "1"), Some(item("a", "1", json!({"v": n("10")}))));
    assert_eq!(get("b", "1"), None, "NEW_AND_OLD_IMAGES delete applied");
    assert_eq!(get("c", "1"), None, "NEW_IMAGE delete (Keys only) applied");
    assert_eq!(get("d", "1"), Some(item("d", "1", json!({"v": n("40")}))));
    assert_eq!(
        get("e", "2"),
        Some(item("e", "2", json!({"v": n("5"), "s": s("new")})))
    );
}

#[tokio::test]
async fn explicit_manifest_list_reads_the_same_chain_and_ignores_stray_data() {
    let mut ex = three_export_chain();
    let summaries: Vec<String> = ex
        .store
        .keys()
        .filter(|k| k.ends_with("manifest-summary.json"))
        .map(str::to_string)
        .collect();
    // A file in the shared data folder that no manifest names must not be read.
    let stray = gzip_lines(&[insert("zz", "9", json!({}))]);
    ex.store
        .put(format!("{}data/stray.json.gz", ex.root), stray);
    let by_list = read_chain(&ex.store, &discover(), ReadOptions::default())
        .await
        .unwrap();
    let by_keys = read_chain(
        &ex.store,
        &ChainSource::Manifests(summaries),
        ReadOptions::default(),
    )
    .await
    .unwrap();
    let mut by_keys_report = by_keys.report.clone();
    by_keys_report.source.clone_from(&by_list.report.source);
    assert_eq!(by_list.report, by_keys_report);
    assert_eq!(by_keys.state.len(), 3);
    assert!(by_keys.state.get(&key("zz", "9")).unwrap().is_none());
}

#[tokio::test]
async fn given_key_attributes_are_used_and_progress_is_reported() {
    let ex = three_export_chain();
    let lines = std::sync::Mutex::new(Vec::new());
    let progress = |line: &str| lines.lock().unwrap().push(line.to_string());
    let attrs = vec!["pk".to_string(), "sk".to_string()];
    let options = ReadOptions {
        key_attributes: Some(&attrs),
        progress: Some(&progress),
        ..ReadOptions::default()
    };
    let result = read_chain(&ex.store, &discover(), options).await.unwrap();
    assert_eq!(result.report.key_attributes, attrs);
    let lines = lines.into_inner().unwrap();
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("reading 3 exports: 6 data files")),
        "{lines:?}"
    );
}

#[tokio::test]
async fn numbers_survive_exactly_and_normalised() {
    let big = "12345678901234567890123456789012345678";
    let mut ex = Exports::new(None);
    ex.full(
        T,
        &[vec![item_line(
            "n",
            "1",
            json!({"big": n(big), "sci": n("1.5E2"), "neg0": n("-0.0"), "frac": n("-0.000012300")}),
        )]],
    );
    ex.incremental(
        T,
        T + 900,
        "NEW_IMAGE",
        &[vec![insert("m", "1", json!({"x": n("1E+1")}))]],
    );
    let result = read_chain(
        &ex.store,
        &ChainSource::Discover { prefix: None },
        ReadOptions::default(),
    )
    .await
    .unwrap();
    assert!(result.report.is_clean(), "{:#?}", result.report);
    let got = result.state.get(&key("n", "1")).unwrap().unwrap();
    assert_eq!(got["big"], n(big));
    assert_eq!(got["sci"], n("150"));
    assert_eq!(got["neg0"], n("0"));
    assert_eq!(got["frac"], n("-0.0000123"));
    assert_eq!(
        result.state.get(&key("m", "1")).unwrap().unwrap()["x"],
        n("10")
    );

    // The live table may spell the same numbers differently.
    let table = [
        item(
            "n",
            "1",
            json!({"big": n(big), "sci": n("150.00"), "neg0": n("0"), "frac": n("-1.23E-5")}),
        ),
        item("m", "1", json!({"x": n("10")})),
    ];
    let attrs = ["pk".to_string(), "sk".to_string()];
    let cmp = compare_with_table(&result.state, &table, &attrs).unwrap();
    assert_eq!(cmp.differences(), 0, "{cmp:?}");

    // One digit off in the 38th place is a difference.
    let off = format!("{}9", &big[..37]);
    let table = [
        item(
            "n",
            "1",
            json!({"big": n(&off), "sci": n("150"), "neg0": n("0"), "frac": n("-0.0000123")}),
        ),
        item("m", "1", json!({"x": n("10")})),
    ];
    let cmp = compare_with_table(&result.state, &table, &attrs).unwrap();
    assert_eq!(cmp.different, [key("n", "1")]);
    assert_eq!(cmp.different_count, 1);
}

#[tokio::test]
async fn sets_maps_and_binary_compare_correctly() {
    let attrs = json!({
        "ss": {"SS": ["b", "a", "c"]},
        "ns": {"NS": ["3", "1.0", "2E0"]},
        "bs": {"BS": ["AwM=", "AQI="]},
        "b": {"B": "AQID"},
        "m": {"M": {"x": n("1"), "y": {"L": [s("p"), {"BOOL": true}, {"NULL": true}]}}},
    });
    let mut ex = Exports::new(None);
    ex.full(T, &[vec![item_line("k", "1", attrs)]]);
    let root = ChainSource::Discover { prefix: None };
    // Without change lines nor given keys, items are keyed by content.
    let unkeyed = read_chain(&ex.store, &root, ReadOptions::default())
        .await
        .unwrap();
    assert_eq!(unkeyed.report.key_attributes, Vec::<String>::new());
    assert!(unkeyed.report.warnings[0].contains("key attributes unknown"));
    assert_eq!(unkeyed.state.len(), 1);

    let attrs_keys = ["pk".to_string(), "sk".to_string()];
    let keyed = ReadOptions {
        key_attributes: Some(&attrs_keys),
        ..ReadOptions::default()
    };
    let result = read_chain(&ex.store, &root, keyed).await.unwrap();
    assert_eq!(result.report.key_attributes, attrs_keys);

    let same = json!({
        "m": {"M": {"y": {"L": [s("p"), {"BOOL": true}, {"NULL": true}]}, "x": n("1.0")}},
        "b": {"B": "AQID"},
        "bs": {"BS": ["AQI=", "AwM="]},
        "ns": {"NS": ["2", "3", "1"]},
        "ss": {"SS": ["c", "a", "b"]},
    });
    let cmp =
        compare_with_table(&result.state, &[item("k", "1", same.clone())], &attrs_keys).unwrap();
    assert_eq!(cmp.differences(), 0, "{cmp:?}");
    assert_eq!(cmp.compared, 1);

    let variants = [
        ("ss", json!({"SS": ["a", "b"]})),
        ("ns", json!({"NS": ["1", "2", "4"]})),
        ("bs", json!({"BS": ["AQI="]})),
        ("b", json!({"B": "AQIE"})),
        (
            "m",
            json!({"M": {"x": n("1"), "y": {"L": [{"BOOL": true}, s("p"), {"NULL": true}]}}}),
        ),
        (
            "m",
            json!({"M": {"x": n("2"), "y": {"L": [s("p"), {"BOOL": true}, {"NULL": true}]}}}),
        ),
    ];
    for (name, changed) in variants {
        let mut other = same.clone();
        other[name] = changed.clone();
        let cmp = compare_with_table(&result.state, &[item("k", "1", other)], &attrs_keys).unwrap();
        assert_eq!(
            cmp.different,
            [key("k", "1")],
            "{name} = {changed} not detected"
        );
    }

    let cmp = compare_with_table(&result.state, &[item("x", "1", same)], &attrs_keys).unwrap();
    assert_eq!(
        (cmp.missing_count, cmp.extra_count, cmp.compared),
        (1, 1, 2)
    );
}

#[tokio::test]
async fn key_hash_slices_split_the_table_into_disjoint_parts_that_add_up() {
    let mut ex = Exports::new(Some("exports/t"));
    let items: Vec<Value> = (0..40)
        .map(|i| item_line(&format!("k{i}"), "1", json!({"v": n(&i.to_string())})))
        .collect();
    ex.full(T, &[items[..20].to_vec(), items[20..].to_vec()]);
    ex.incremental(
        T,
        T + 900,
        "NEW_AND_OLD_IMAGES",
        &[vec![
            update("k1", "1", json!({"v": n("1")}), json!({"v": n("100")})),
            delete_with_old("k2", "1", json!({"v": n("2")})),
            insert("k40", "1", json!({"v": n("40")})),
        ]],
    );
    let whole = read_chain(&ex.store, &discover(), ReadOptions::default())
        .await
        .unwrap();
    assert_eq!(whole.state.len(), 40);
    let mut parts = Vec::new();
    for index in 0..3 {
        let options = ReadOptions {
            slice: Some(Slice { index, of: 3 }),
            ..ReadOptions::default()
        };
        let part = read_chain(&ex.store, &discover(), options).await.unwrap();
        // Every file is still read and checked in full.
        assert_eq!(part.report.files, whole.report.files);
        assert!(part.report.is_clean(), "{:#?}", part.report);
        parts.push(part.state);
    }
    assert_eq!(parts.iter().map(|p| p.len()).sum::<usize>(), 40);
    assert!(parts.iter().all(|p| !p.is_empty()), "40 keys over 3 parts");
    for i in (0..41).filter(|&i| i != 2) {
        let k = key(&format!("k{i}"), "1");
        let want = whole.state.get(&k).unwrap();
        assert!(want.is_some(), "k{i}");
        let holders: Vec<_> = parts.iter().filter_map(|p| p.get(&k).unwrap()).collect();
        assert_eq!(
            holders,
            vec![want.unwrap()],
            "k{i} is in exactly one part, unchanged"
        );
    }
    // A part compared with the same part of itself has no difference, and
    // with another part every key differs in presence.
    assert_eq!(
        compare_states(&parts[0], &parts[0]).unwrap().differences(),
        0
    );
    let across = compare_states(&parts[0], &parts[1]).unwrap();
    assert_eq!(
        across.differences() as usize,
        parts[0].len() + parts[1].len()
    );
}
