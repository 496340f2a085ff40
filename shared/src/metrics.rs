//! The operator's figures: what the functions report to CloudWatch (the AWS
//! crate writes them in embedded metric format, one line per invocation).
//! Derived only from the ledger's head and the functions' outputs, so the
//! template's alarms and dashboard can be checked against [`CATALOG`].

use crate::contract::{AdvanceOutput, CheckOutput, NotifyOutput};
use crate::domain::ledger::Head;
use crate::domain::window::align_down;
use crate::domain::Epoch;

/// The CloudWatch namespace; metrics carry the dimension `Alias`.
pub const NAMESPACE: &str = "IncrementalExport";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Seconds,
    Count,
    Bytes,
}

impl Unit {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Seconds => "Seconds",
            Self::Count => "Count",
            Self::Bytes => "Bytes",
        }
    }
}

/// Every metric the functions emit: name, unit, the function that emits
/// it, and what it says.
pub const CATALOG: [(&str, Unit, &str, &str); 11] = [
    (
        "ChainLagSeconds",
        Unit::Seconds,
        "decide-mode",
        "now minus the chain's watermark, at every run",
    ),
    (
        "BlocksBehind",
        Unit::Count,
        "decide-mode",
        "whole windows ended and not exported yet, at every run",
    ),
    (
        "ExportInFlightSeconds",
        Unit::Seconds,
        "decide-mode",
        "age of the export in flight (0 when none), at every run",
    ),
    (
        "ExportDurationSeconds",
        Unit::Seconds,
        "check-status",
        "the service's start to end of a finished export",
    ),
    (
        "PollsPerExport",
        Unit::Count,
        "check-status",
        "status checks a finished export took",
    ),
    (
        "ExportItems",
        Unit::Count,
        "check-status",
        "items a completed export wrote",
    ),
    (
        "ExportBilledBytes",
        Unit::Bytes,
        "check-status",
        "bytes billed for a completed export",
    ),
    (
        "ExportsCompleted",
        Unit::Count,
        "advance-state",
        "exports recorded as completed",
    ),
    (
        "ExportsFailed",
        Unit::Count,
        "advance-state",
        "exports recorded as failed",
    ),
    (
        "NotificationsPublished",
        Unit::Count,
        "notify",
        "notifications published",
    ),
    (
        "NotificationPublishFailures",
        Unit::Count,
        "notify",
        "notify invocations that could not publish",
    ),
];

#[derive(Debug, Clone, PartialEq)]
pub struct Metric {
    pub name: &'static str,
    pub unit: Unit,
    pub value: f64,
}

fn metric(name: &'static str, value: f64) -> Metric {
    let unit = CATALOG
        .iter()
        .find(|(n, ..)| *n == name)
        .map_or(Unit::Count, |(_, u, ..)| *u);
    Metric { name, unit, value }
}

/// The chain's state at `now`: lag, windows behind, the in-flight export's
/// age. Nothing before the first full export (there is no chain to lag).
pub fn gauges(head: &Head, now: Epoch, window_seconds: Epoch) -> Vec<Metric> {
    let Some(watermark) = head.watermark else {
        return Vec::new();
    };
    let behind = if window_seconds > 0 {
        ((align_down(now, window_seconds) - watermark) / window_seconds).max(0)
    } else {
        0
    };
    let in_flight = head
        .in_flight
        .as_ref()
        .map_or(0, |f| (now - f.intent.started_at).max(0));
    vec![
        metric("ChainLagSeconds", (now - watermark).max(0) as f64),
        metric("BlocksBehind", behind as f64),
        metric("ExportInFlightSeconds", in_flight as f64),
    ]
}

/// Figures of a finished export, as check-status sees it (`None`: the
/// invocation failed, or the export still runs).
pub fn of_check(out: Option<&CheckOutput>) -> Vec<Metric> {
    match out {
        None => Vec::new(),
        Some(CheckOutput::Completed(c)) => {
            let mut m = vec![
                metric("PollsPerExport", f64::from(c.polls)),
                metric("ExportItems", c.result.item_count as f64),
                metric("ExportBilledBytes", c.result.billed_size_bytes as f64),
            ];
            if let (Some(s), Some(e)) = (c.result.start_time, c.result.end_time) {
                m.push(metric("ExportDurationSeconds", (e - s).max(0) as f64));
            }
            m
        }
        Some(CheckOutput::Failed(f)) => vec![metric("PollsPerExport", f64::from(f.polls))],
        Some(CheckOutput::HandedOver(_)) => Vec::new(),
    }
}

pub fn of_advance(out: Option<&AdvanceOutput>) -> Vec<Metric> {
    match out {
        Some(AdvanceOutput::Advanced(_)) => vec![metric("ExportsCompleted", 1.0)],
        Some(AdvanceOutput::RecordedFailure(_)) => vec![metric("ExportsFailed", 1.0)],
        _ => Vec::new(),
    }
}

/// notify's figures; `None` when it failed (SNS refused or unreachable).
pub fn of_notify(out: Option<&NotifyOutput>) -> Vec<Metric> {
    match out {
        Some(NotifyOutput::Published(p)) => {
            vec![metric("NotificationsPublished", p.message_ids.len() as f64)]
        }
        Some(NotifyOutput::Nothing(_)) => Vec::new(),
        None => vec![metric("NotificationPublishFailures", 1.0)],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::export::{ExportKind, Span};
    use crate::domain::ledger::{InFlight, Intent};

    fn value(m: &[Metric], name: &str) -> Option<f64> {
        m.iter().find(|x| x.name == name).map(|x| x.value)
    }

    #[test]
    fn lag_counts_from_the_watermark_and_windows_from_boundaries() {
        let head = Head {
            watermark: Some(9_000),
            ..Head::default()
        };
        let m = gauges(&head, 9_000 + 2 * 900 + 400, 900);
        assert_eq!(value(&m, "ChainLagSeconds"), Some(2200.0));
        assert_eq!(value(&m, "BlocksBehind"), Some(2.0));
        assert_eq!(value(&m, "ExportInFlightSeconds"), Some(0.0));
        assert!(gauges(&Head::default(), 10_000, 900).is_empty());
    }

    #[test]
    fn an_export_in_flight_has_an_age() {
        let intent = Intent {
            kind: ExportKind::Incremental,
            span: Span {
                from: Some(9_000),
                to: 9_900,
            },
            attempt: 1,
            client_token: "t".into(),
            started_at: 10_260,
            chain: 1,
            reset_version: None,
            reset_modified: None,
            from_ms: None,
            note: None,
        };
        let head = Head {
            watermark: Some(9_000),
            in_flight: Some(InFlight {
                intent,
                export_arn: None,
                watcher: None,
                watch_until: None,
                polls: 0,
            }),
            ..Head::default()
        };
        assert_eq!(
            value(&gauges(&head, 10_560, 900), "ExportInFlightSeconds"),
            Some(300.0)
        );
    }

    #[test]
    fn every_metric_has_its_catalog_unit() {
        for (name, unit, ..) in CATALOG {
            assert_eq!(metric(name, 1.0).unit, unit);
        }
        assert_eq!(of_notify(None)[0].name, "NotificationPublishFailures");
    }
}
