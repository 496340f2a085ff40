//! CloudWatch embedded metric format: one JSON line on stdout per
//! invocation, which CloudWatch Logs turns into metrics with no API call
//! (and no permission, no latency). Hand-written with serde_json: the format
//! is one object, and the maintained EMF crates bring a metrics facade and a
//! tracing layer for what is here a dozen lines.

use incx_core::metrics::{Metric, NAMESPACE};
use serde_json::{json, Map, Value};

/// The EMF object for `metrics`, or `None` when there is nothing to report.
pub fn render(alias: &str, function: &str, timestamp_ms: i64, metrics: &[Metric]) -> Option<Value> {
    if metrics.is_empty() {
        return None;
    }
    let mut root = Map::new();
    root.insert(
        "_aws".into(),
        json!({
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": [["Alias"]],
                "Metrics": metrics
                    .iter()
                    .map(|m| json!({"Name": m.name, "Unit": m.unit.as_str()}))
                    .collect::<Vec<_>>(),
            }],
        }),
    );
    root.insert("Alias".into(), json!(alias));
    root.insert("Function".into(), json!(function));
    for m in metrics {
        root.insert(m.name.into(), json!(m.value));
    }
    Some(Value::Object(root))
}

/// Writes the metrics to stdout, where Lambda hands them to CloudWatch Logs.
pub fn emit(alias: &str, function: &str, metrics: &[Metric]) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64);
    if let Some(line) = render(alias, function, now, metrics) {
        println!("{line}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use incx_core::metrics::{Unit, CATALOG};

    #[test]
    fn every_metric_is_declared_and_valued() {
        let metrics = [
            Metric {
                name: "ChainLagSeconds",
                unit: Unit::Seconds,
                value: 1200.0,
            },
            Metric {
                name: "BlocksBehind",
                unit: Unit::Count,
                value: 1.0,
            },
        ];
        let v = render("prod", "decide-mode", 1_700_000_000_000, &metrics).unwrap();
        let spec = &v["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(spec["Namespace"], NAMESPACE);
        assert_eq!(spec["Dimensions"], json!([["Alias"]]));
        assert_eq!(v["Alias"], "prod");
        assert_eq!(v["_aws"]["Timestamp"], 1_700_000_000_000_i64);
        for (i, m) in metrics.iter().enumerate() {
            assert_eq!(spec["Metrics"][i]["Name"], m.name);
            assert_eq!(spec["Metrics"][i]["Unit"], m.unit.as_str());
            assert_eq!(v[m.name], m.value);
            assert!(CATALOG.iter().any(|(n, ..)| *n == m.name));
        }
        assert!(render("prod", "notify", 0, &[]).is_none());
    }
}
