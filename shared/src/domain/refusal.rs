//! What a refusal of ExportTableToPointInTime means for the chain: a person
//! must act, the attempt counts as failed, or it is only a fault to retry.

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
    /// Count the attempt as failed, so the next run asks anew with the next
    /// attempt's client token.
    FailAttempt { code: &'static str },
    /// Not the service's last word (throttling, a fault): retried.
    Fault,
}

/// Whether [`refusal`] needs the table's earliest restorable time to decide.
pub fn needs_earliest(intent: &Intent, error: &ExportError) -> bool {
    intent.kind == ExportKind::Incremental && matches!(error, ExportError::InvalidExportTime(_))
}

/// Maps the service's refusal of `intent`. `earliest` is the table's
/// earliest restorable time where [`needs_earliest`] asked for it.
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
        ExportError::InvalidExportTime(_) if intent.kind == ExportKind::Incremental => {
            Refusal::Operator {
                reason: OperatorReason::PitrGap {
                    watermark: intent.span.from.unwrap_or(intent.span.to),
                    earliest: earliest.unwrap_or(0),
                },
                mark_pitr_gap: true,
            }
        }
        // The token was used with other parameters (the stack's bucket,
        // prefix or format changed while the intent was recorded), or a full
        // export's time fell out of the PITR window before it was asked for.
        ExportError::Conflict(_) => Refusal::FailAttempt {
            code: "ExportConflict",
        },
        ExportError::InvalidExportTime(_) => Refusal::FailAttempt {
            code: "InvalidExportTime",
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
        assert!(needs_earliest(&inc, &e(ExportError::InvalidExportTime)));
        assert_eq!(
            refusal(&inc, &e(ExportError::InvalidExportTime), Some(1200)),
            Refusal::Operator {
                reason: OperatorReason::PitrGap {
                    watermark: 900,
                    earliest: 1200
                },
                mark_pitr_gap: true
            }
        );
        assert!(!needs_earliest(&full, &e(ExportError::InvalidExportTime)));
        assert_eq!(
            refusal(&full, &e(ExportError::InvalidExportTime), None),
            Refusal::FailAttempt {
                code: "InvalidExportTime"
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
            assert_eq!(refusal(&inc, &e(f), None), Refusal::Fault);
        }
    }
}
