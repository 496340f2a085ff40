//! Ordering the exports into a chain: the latest full export starts it,
//! then the incremental exports by window; windows that do not meet are
//! reported as gaps or overlaps, exports of an older chain are left out.

use super::error::ChainError;
use super::report::{IgnoredExport, Window, WindowIssue};
use super::summary::{ExportSummary, ExportType};

/// The chain to read, in order.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The base: the latest full export.
    pub full: ExportSummary,
    /// The incremental exports after it, by `(from, to)`.
    pub incrementals: Vec<ExportSummary>,
    /// Exports left out, with the reason.
    pub ignored: Vec<IgnoredExport>,
    /// Consecutive windows with time between them.
    pub gaps: Vec<WindowIssue>,
    /// Consecutive windows that share time.
    pub overlaps: Vec<WindowIssue>,
}

/// Orders `summaries` (every one has a window: see `parse_summary`).
pub fn plan_chain(summaries: Vec<ExportSummary>) -> Result<Plan, ChainError> {
    let found = summaries.len();
    let (mut fulls, mut incrementals): (Vec<_>, Vec<_>) = summaries
        .into_iter()
        .filter(|s| s.window().is_some())
        .partition(|s| s.export_type == ExportType::Full);
    fulls.sort_by_key(|s| s.export_time);
    let full = fulls.pop().ok_or(ChainError::NoFullExport(found))?;
    let (base_time, _) = full.window().ok_or(ChainError::NoFullExport(found))?;
    let mut ignored: Vec<IgnoredExport> = fulls
        .iter()
        .map(|s| ignore(s, format!("an older full export than {}", full.id)))
        .collect();

    incrementals.sort_by_key(|s| s.window());
    let (older, incrementals): (Vec<_>, Vec<_>) = incrementals
        .into_iter()
        .partition(|s| s.window().is_some_and(|(_, to)| to <= base_time));
    ignored.extend(older.iter().map(|s| {
        ignore(
            s,
            format!("ends before full export {} (older chain)", full.id),
        )
    }));

    let mut gaps = Vec::new();
    let mut overlaps = Vec::new();
    let mut previous = window_of(&full);
    for next in incrementals.iter().map(window_of) {
        if next.from > previous.to {
            gaps.push(issue(&previous, &next));
        } else if next.from < previous.to {
            overlaps.push(issue(&previous, &next));
        }
        if next.to >= previous.to {
            previous = next;
        }
    }
    Ok(Plan {
        full,
        incrementals,
        ignored,
        gaps,
        overlaps,
    })
}

fn window_of(summary: &ExportSummary) -> Window {
    let (from, to) = summary.window().unwrap_or_default();
    Window {
        id: summary.id.clone(),
        from,
        to,
    }
}

fn issue(previous: &Window, next: &Window) -> WindowIssue {
    WindowIssue {
        previous: previous.clone(),
        next: next.clone(),
    }
}

fn ignore(summary: &ExportSummary, reason: String) -> IgnoredExport {
    IgnoredExport {
        id: summary.id.clone(),
        export_type: summary.export_type,
        reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn export(id: &str, kind: ExportType, from: i64, to: i64) -> ExportSummary {
        ExportSummary {
            id: id.into(),
            summary_key: format!("AWSDynamoDB/{id}/manifest-summary.json"),
            export_type: kind,
            version: None,
            export_time: (kind == ExportType::Full).then_some(to),
            from: (kind == ExportType::Incremental).then_some(from),
            to: (kind == ExportType::Incremental).then_some(to),
            output_view: None,
            manifest_files_key: String::new(),
            item_count: None,
            output_format: "DYNAMODB_JSON".into(),
        }
    }

    #[test]
    fn orders_and_finds_gaps_overlaps_and_older_exports() {
        use ExportType::{Full, Incremental};
        let plan = plan_chain(vec![
            export("i3", Incremental, 300, 400),
            export("f-old", Full, 0, 50),
            export("i-old", Incremental, 50, 100),
            export("i1", Incremental, 100, 200),
            export("f", Full, 100, 100),
            export("i4", Incremental, 350, 500),
        ])
        .unwrap();
        assert_eq!(plan.full.id, "f");
        let ids: Vec<_> = plan.incrementals.iter().map(|s| s.id.as_str()).collect();
        assert_eq!(ids, ["i1", "i3", "i4"]);
        assert_eq!(plan.ignored.len(), 2);
        assert_eq!(plan.gaps.len(), 1);
        assert_eq!(
            (
                plan.gaps[0].previous.id.as_str(),
                plan.gaps[0].next.id.as_str()
            ),
            ("i1", "i3")
        );
        assert_eq!(plan.overlaps.len(), 1);
        assert_eq!(plan.overlaps[0].next.from, 350);
        assert!(matches!(
            plan_chain(vec![export("i", Incremental, 1, 2)]),
            Err(ChainError::NoFullExport(1))
        ));
    }
}
