//! Migration: continuing the original sample's chain instead of paying for
//! a new full export.
//!
//! The original's SSM parameters say where its chain ends
//! (`last-incremental-export-time`, else `full-export-time`); they are its
//! belief. The exports' `manifest-summary.json` files in the bucket are the
//! record: the chain is continued only when the bucket holds a completed
//! full export at `full-export-time` and completed incremental exports
//! contiguous from it to at least the SSM end, and point-in-time recovery
//! still reaches back to that end. Anything else falls back to a full
//! export, with the reason in its notification.
//!
//! The original's export times carry milliseconds (its full export takes
//! the service's request time, and its windows add whole minutes to it).
//! The continuation keeps the exact end, so the first window starts where
//! the original's last one ended, to the millisecond.

use super::export::{ExportKind, Pitr};
use super::mirrors::{FULL_EXPORT_TIME, LAST_INCREMENTAL_EXPORT_TIME, WORKFLOW_STATE};
use super::timefmt::{parse_rfc3339_millis, rfc3339_millis};
use super::Epoch;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One export as its `manifest-summary.json` in the bucket describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Published {
    pub export_arn: String,
    pub kind: ExportKind,
    /// An incremental export's `exportFromTime`, epoch milliseconds.
    pub from_ms: Option<i64>,
    /// `exportToTime`, or a full export's `exportTime`, epoch milliseconds.
    pub to_ms: i64,
    pub completed: bool,
}

/// Where the continued chain stands: recorded in the ledger head.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Continued {
    /// The original's full export time, epoch milliseconds.
    pub full_export_ms: i64,
    /// The exact end of the original's chain, epoch milliseconds.
    pub end_ms: i64,
    /// How many of the original's exports the chain holds (full included).
    pub exports: u32,
}

impl Continued {
    /// The ledger's watermark: the end in whole seconds, rounded down; the
    /// first window asks for the exact end ([`Continued::exact_from`]).
    pub fn watermark(&self) -> Epoch {
        self.end_ms.div_euclid(1000)
    }

    /// The exact start, in milliseconds, of a window starting at `from`
    /// seconds: the original's end for the window that continues it.
    pub fn exact_from(&self, from: Epoch) -> Option<i64> {
        (from == self.watermark() && self.end_ms.rem_euclid(1000) != 0).then_some(self.end_ms)
    }

    /// Says so in the first notification of the continued chain.
    pub fn note(&self) -> String {
        format!(
            "continues the original sample's chain (its full export at {} and {} incremental exports, through {})",
            rfc3339_millis(self.full_export_ms),
            self.exports.saturating_sub(1),
            rfc3339_millis(self.end_ms)
        )
    }
}

/// What the first run does with the original's chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    Continue(Continued),
    /// A new full export, because of this.
    FullExport(String),
}

fn fallback(reason: impl Into<String>) -> Origin {
    Origin::FullExport(format!(
        "a new full export, not the original's chain: {}",
        reason.into()
    ))
}

/// Decides from the original's SSM parameters (`mirrors`, by name), its
/// exports in the bucket (`published`, anywhere under `location`, for the
/// messages) and the table's PITR window.
pub fn continue_original(
    mirrors: &BTreeMap<String, String>,
    published: &[Published],
    pitr: Pitr,
    location: &str,
) -> Origin {
    if mirrors.get(WORKFLOW_STATE).map(String::as_str) == Some("PITR_GAP") {
        return fallback("the original's workflow-state is PITR_GAP");
    }
    let time = |name: &str| -> Result<Option<i64>, String> {
        match mirrors.get(name) {
            None => Ok(None),
            Some(v) => parse_rfc3339_millis(v)
                .map(Some)
                .ok_or_else(|| format!("its {name} {v:?} is not a time")),
        }
    };
    let (full, last) = match (time(FULL_EXPORT_TIME), time(LAST_INCREMENTAL_EXPORT_TIME)) {
        (Ok(Some(full)), Ok(last)) => (full, last),
        (Ok(None), _) => return fallback(format!("the original left no {FULL_EXPORT_TIME}")),
        (Err(e), _) | (_, Err(e)) => return fallback(e),
    };
    let completed = |kind| {
        published
            .iter()
            .filter(move |p| p.completed && p.kind == kind)
    };
    let Some(base) = completed(ExportKind::Full).find(|p| p.to_ms == full) else {
        return fallback(format!(
            "no completed full export at {} under {location}",
            rfc3339_millis(full)
        ));
    };
    // Follow the links from the full export; past the SSM end too, should
    // the original have finished one more than it wrote down.
    let mut end = base.to_ms;
    let mut exports = 1u32;
    while let Some(next) = completed(ExportKind::Incremental)
        .filter(|p| p.from_ms == Some(end) && p.to_ms > end)
        .max_by_key(|p| p.to_ms)
    {
        end = next.to_ms;
        exports += 1;
    }
    let wanted = last.unwrap_or(full);
    if end < wanted {
        return fallback(format!(
            "its exports under {location} stop at {}, before its {LAST_INCREMENTAL_EXPORT_TIME} {}",
            rfc3339_millis(end),
            rfc3339_millis(wanted)
        ));
    }
    match pitr {
        Pitr::Disabled => fallback("point-in-time recovery is disabled"),
        Pitr::Enabled { earliest, .. } if earliest * 1000 > end => fallback(format!(
            "point-in-time recovery reaches back to {} only, after the chain's end {}",
            rfc3339_millis(earliest * 1000),
            rfc3339_millis(end)
        )),
        Pitr::Enabled { .. } => Origin::Continue(Continued {
            full_export_ms: full,
            end_ms: end,
            exports,
        }),
    }
}

/// Reads an export's `manifest-summary.json`: the full export's summary
/// has `exportTime`, an incremental one `exportFromTime`/`exportToTime`.
/// `None` when it says neither (not an export summary).
pub fn parse_summary(bytes: &[u8]) -> Result<Option<Published>, String> {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Summary {
        #[serde(default)]
        export_arn: String,
        export_type: Option<String>,
        export_time: Option<serde_json::Value>,
        export_from_time: Option<serde_json::Value>,
        export_to_time: Option<serde_json::Value>,
        status: Option<String>,
    }
    let s: Summary = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
    let ms = |v: &Option<serde_json::Value>| -> Option<i64> {
        match v.as_ref()? {
            serde_json::Value::String(t) => parse_rfc3339_millis(t),
            serde_json::Value::Number(n) => n.as_f64().map(|secs| (secs * 1000.0).round() as i64),
            _ => None,
        }
    };
    let incremental =
        s.export_type.as_deref() == Some("INCREMENTAL_EXPORT") || s.export_from_time.is_some();
    let (kind, from_ms, to_ms) = if incremental {
        (
            ExportKind::Incremental,
            ms(&s.export_from_time),
            ms(&s.export_to_time),
        )
    } else {
        (ExportKind::Full, None, ms(&s.export_time))
    };
    let Some(to_ms) = to_ms else {
        return Ok(None);
    };
    if incremental && from_ms.is_none() {
        return Ok(None);
    }
    Ok(Some(Published {
        export_arn: s.export_arn,
        kind,
        from_ms,
        to_ms,
        completed: s.status.as_deref().is_none_or(|st| st == "COMPLETED"),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    const F: i64 = 1_700_000_000_413; // the original's full export, with its milliseconds
    const W: i64 = 900_000;

    fn full(at: i64) -> Published {
        Published {
            export_arn: format!("arn:full:{at}"),
            kind: ExportKind::Full,
            from_ms: None,
            to_ms: at,
            completed: true,
        }
    }

    fn incr(from: i64, to: i64) -> Published {
        Published {
            export_arn: format!("arn:incr:{from}"),
            kind: ExportKind::Incremental,
            from_ms: Some(from),
            to_ms: to,
            completed: true,
        }
    }

    fn mirrors(full: i64, last: Option<i64>) -> BTreeMap<String, String> {
        let mut m = BTreeMap::from([(FULL_EXPORT_TIME.to_string(), rfc3339_millis(full))]);
        if let Some(l) = last {
            m.insert(LAST_INCREMENTAL_EXPORT_TIME.to_string(), rfc3339_millis(l));
        }
        m
    }

    const PITR: Pitr = Pitr::Enabled {
        earliest: 1_699_990_000,
        latest: 1_800_000_000,
    };

    fn chain(n: i64) -> Vec<Published> {
        let mut out = vec![full(F)];
        out.extend((0..n).map(|k| incr(F + k * W, F + (k + 1) * W)));
        out
    }

    #[test]
    fn continues_a_contiguous_chain_to_the_millisecond() {
        let got = continue_original(&mirrors(F, Some(F + 3 * W)), &chain(3), PITR, "s3://b/p");
        let Origin::Continue(c) = got else {
            panic!("{got:?}")
        };
        assert_eq!((c.end_ms, c.exports), (F + 3 * W, 4));
        assert_eq!(c.watermark(), (F + 3 * W) / 1000);
        assert_eq!(c.exact_from(c.watermark()), Some(F + 3 * W));
        assert_eq!(c.exact_from(c.watermark() + 900), None);
        assert!(c.note().contains("3 incremental exports"), "{}", c.note());
    }

    #[test]
    fn a_full_export_alone_is_a_chain() {
        let got = continue_original(&mirrors(F, None), &chain(0), PITR, "s3://b");
        assert!(matches!(
            got,
            Origin::Continue(Continued {
                end_ms: F,
                exports: 1,
                ..
            })
        ));
    }

    #[test]
    fn goes_past_the_ssm_end_when_the_bucket_holds_more() {
        let got = continue_original(&mirrors(F, Some(F + W)), &chain(2), PITR, "s3://b");
        assert!(matches!(got, Origin::Continue(Continued { end_ms, .. }) if end_ms == F + 2 * W));
    }

    #[test]
    fn falls_back_with_the_reason() {
        let mut gap = chain(3);
        gap.remove(2); // the window [F+W, F+2W) is missing
        let mut failed = chain(2);
        failed[2].completed = false;
        type Case = (BTreeMap<String, String>, Vec<Published>, Pitr, &'static str);
        let cases: Vec<Case> = vec![
            (BTreeMap::new(), chain(1), PITR, "no full-export-time"),
            (mirrors(F, Some(F + 3 * W)), gap, PITR, "stop at"),
            (mirrors(F, Some(F + 2 * W)), failed, PITR, "stop at"),
            (
                mirrors(F + 1, None),
                chain(1),
                PITR,
                "no completed full export",
            ),
            (
                mirrors(F, Some(F + W)),
                chain(1),
                Pitr::Disabled,
                "disabled",
            ),
            (
                mirrors(F, Some(F + W)),
                chain(1),
                Pitr::Enabled {
                    earliest: (F + 2 * W) / 1000,
                    latest: 1_800_000_000,
                },
                "reaches back",
            ),
            (
                BTreeMap::from([(FULL_EXPORT_TIME.to_string(), "yesterday".to_string())]),
                chain(1),
                PITR,
                "\"yesterday\" is not a time",
            ),
            (
                {
                    let mut m = mirrors(F, None);
                    m.insert(WORKFLOW_STATE.into(), "PITR_GAP".into());
                    m
                },
                chain(1),
                PITR,
                "PITR_GAP",
            ),
        ];
        for (m, published, pitr, why) in cases {
            match continue_original(&m, &published, pitr, "s3://b/p") {
                Origin::FullExport(reason) => assert!(reason.contains(why), "{reason} / {why}"),
                other => panic!("{why}: {other:?}"),
            }
        }
    }

    #[test]
    fn reads_both_kinds_of_summary() {
        let f = br#"{"version":"2020-06-30","exportArn":"arn:f","startTime":"2023-11-14T22:13:21Z","exportTime":"2023-11-14T22:13:20.413Z","itemCount":3}"#;
        let i = br#"{"version":"2023-08-01","exportArn":"arn:i","exportFromTime":"2023-11-14T22:13:20.413Z","exportToTime":"2023-11-14T22:28:20.413Z","exportType":"INCREMENTAL_EXPORT","outputView":"NEW_AND_OLD_IMAGES"}"#;
        assert_eq!(
            parse_summary(f).unwrap(),
            Some(full(F)).map(|p| Published {
                export_arn: "arn:f".into(),
                ..p
            })
        );
        let got = parse_summary(i).unwrap().unwrap();
        assert_eq!(
            (got.kind, got.from_ms, got.to_ms),
            (ExportKind::Incremental, Some(F), F + W)
        );
        assert_eq!(parse_summary(b"{}").unwrap(), None);
        assert!(parse_summary(b"not json").is_err());
    }
}
