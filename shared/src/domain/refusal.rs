//! What a refusal of ExportTableToPointInTime means for the chain: a person
//! must act, the attempt counts as failed, the export is only deferred to
//! the next run, or it is a fault to retry.

use super::decision::OperatorReason;
use super::export::{ExportError, ExportKind};
use super::ledger::Intent;
use super::Epoch;

/// The service's refusal, as the workflow acts on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// No export exists and none can until a person acts: forget the intent
    /// (no attempt is counted) and tell the operator.
    Operator {
        reason: OperatorReason,
        /// The chain cannot continue (history lost): record PITR_GAP.
        mark_pitr_gap: bool,
    },
    /// Count the attempt as failed (a catalog entry, announced like any), so
    /// the next run asks anew with the next attempt's client token.
    FailAttempt { code: &'static str },
    /// Not now, but nothing is lost: the window is inside the restorable
    /// period, so the refusal is the service's view of "too recent" (its
    /// latest restorable time, or a clock skew). Forget the intent without
    /// counting an attempt; the next run asks again.
    Defer { code: &'static str },
    /// Not the service's last word (throttling, a fault): retried.
    Fault,
}

/// Whether [`refusal`] needs the table's earliest restorable time to decide.
pub fn needs_earliest(error: &ExportError) -> bool {
    matches!(error, ExportError::InvalidExportTime(_))
}

/// Maps the service's refusal of `intent`. `earliest` is the table's
/// earliest restorable time where [`needs_earliest`] asked for it (`None`:
/// PITR is off, or it could not be read).
pub fn refusal(intent: &Intent, error: &ExportError, earliest: Option<Epoch>) -> Refusal {
    match error {
        ExportError::PitrUnavailable(_) => Refusal::Operator {
            reason: OperatorReason::PitrDisabled,
            mark_pitr_gap: false,
        },
        ExportError::TableNotFound(_) => Refusal::Operator {
            reason: OperatorReason::TableNotFound,
            mark_pitr_gap: false,
        },
        ExportError::InvalidExportTime(_) => {
            // The part of the request that must be restorable: the window's
            // start, or a full export's time.
            let start = intent.span.from.unwrap_or(intent.span.to);
            match (intent.kind, earliest) {
                // History before the window's start is gone: only a reset
                // (a new full export) can start a chain again.
                (ExportKind::Incremental, Some(e)) if start < e => Refusal::Operator {
                    reason: OperatorReason::PitrGap {
                        watermark: start,
                        earliest: e,
                    },
                    mark_pitr_gap: true,
                },
                // A full export's time fell out of the window before it was
                // asked for: ask anew (a new attempt takes a new time).
                (ExportKind::Full, Some(e)) if start < e => Refusal::FailAttempt {
                    code: "InvalidExportTime",
                },
                (_, Some(_)) => Refusal::Defer {
                    code: "InvalidExportTime",
                },
                // PITR off or unreadable: it is a fault until the next
                // run's decision sees why.
                (_, None) => Refusal::Fault,
            }
        }
        // The token was used with other parameters (the stack's bucket,
        // prefix or format changed while the intent was recorded).
        ExportError::Conflict(_) => Refusal::FailAttempt {
            code: "ExportConflict",
        },
        ExportError::ExportNotFound(_)
        | ExportError::LimitExceeded(_)
        | ExportError::Throttled(_)
        | ExportError::Fault(_) => Refusal::Fault,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::export::Span;

    fn intent(kind: ExportKind) -> Intent {
        Intent {
            kind,
            span: Span {
                from: (kind == ExportKind::Incremental).then_some(900),
                to: 1800,
            },
            attempt: 1,
            client_token: "t".into(),
            started_at: 2000,
            chain: 1,
            reset_version: None,
            reset_modified: None,
            from_ms: None,
            note: None,
        }
    }

    #[test]
    fn maps_every_answer() {
        let inc = intent(ExportKind::Incremental);
        let full = intent(ExportKind::Full);
        let e = |f: fn(String) -> ExportError| f("x".into());
        assert_eq!(
            refusal(&inc, &e(ExportError::PitrUnavailable), None),
            Refusal::Operator {
                reason: OperatorReason::PitrDisabled,
                mark_pitr_gap: false
            }
        );
        assert_eq!(
            refusal(&full, &e(ExportError::TableNotFound), None),
            Refusal::Operator {
                reason: OperatorReason::TableNotFound,
                mark_pitr_gap: false
            }
        );
        assert_eq!(
            refusal(&inc, &e(ExportError::Conflict), None),
            Refusal::FailAttempt {
                code: "ExportConflict"
            }
        );
        for f in [
            ExportError::Throttled,
            ExportError::LimitExceeded,
            ExportError::Fault,
            ExportError::ExportNotFound,
        ] {
            assert!(!needs_earliest(&e(f)));
            assert_eq!(refusal(&inc, &e(f), None), Refusal::Fault);
        }
    }

    #[test]
    fn invalid_export_time_is_a_gap_only_when_history_before_the_window_is_gone() {
        let inc = intent(ExportKind::Incremental);
        let invalid = ExportError::InvalidExportTime("x".into());
        assert!(needs_earliest(&invalid));
        // The window starts before the earliest restorable time: a real gap.
        assert_eq!(
            refusal(&inc, &invalid, Some(1200)),
            Refusal::Operator {
                reason: OperatorReason::PitrGap {
                    watermark: 900,
                    earliest: 1200
                },
                mark_pitr_gap: true
            }
        );
        // Inside the window (a too-recent end, a clock skew): next run.
        for earliest in [900, 0] {
            assert_eq!(
                refusal(&inc, &invalid, Some(earliest)),
                Refusal::Defer {
                    code: "InvalidExportTime"
                }
            );
        }
        assert_eq!(refusal(&inc, &invalid, None), Refusal::Fault);
        // A full export's time that fell out of the window: a new attempt.
        let full = intent(ExportKind::Full);
        assert_eq!(
            refusal(&full, &invalid, Some(1801)),
            Refusal::FailAttempt {
                code: "InvalidExportTime"
            }
        );
        assert_eq!(
            refusal(&full, &invalid, Some(1800)),
            Refusal::Defer {
                code: "InvalidExportTime"
            }
        );
    }
}
