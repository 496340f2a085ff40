//! check-status: one look at the export. A running export is answered with
//! the error `ExportRunning` (the state machine's Retry looks again, at one
//! billed transition per look) after renewing this run's lease on it; a
//! finished one is handed to advance-state. What a look means is the pure
//! [`watch::look`](crate::domain::watch::look).

use crate::contract::{CheckInput, CheckOutput, Completed, Failed, Failure, HandedOver, Watch};
use crate::domain::export::ExportError;
use crate::domain::ledger::LedgerError;
use crate::domain::timefmt::parse_rfc3339;
use crate::domain::watch::{look, Look, LEASE};
use crate::error::CoreError;
use crate::ports::{ExportService, Ledger};
use crate::service::{expected, Service};

impl<C, L: Ledger, X: ExportService, B> Service<C, L, X, B> {
    pub async fn check(&self, input: CheckInput) -> Result<CheckOutput, CoreError> {
        let watch = input.into_watch();
        let now = self.now();
        let answer = match self.exports.describe(&watch.export.export_arn).await {
            Ok(status) => Some(status),
            Err(ExportError::ExportNotFound(_)) => None,
            Err(e) => return Err(e.into_fault()),
        };
        let run_started = watch.ctx.start_time.as_deref().and_then(parse_rfc3339);
        let head = self.head().await?;
        let polls = head.in_flight.as_ref().map_or(0, |f| f.polls) + 1;
        match look(answer, &watch.export, run_started, now) {
            Look::Running => {
                let token = &watch.export.intent.client_token;
                match head.watch(token, &watch.ctx.execution_id, now + LEASE, now) {
                    // A lost race on the renewal is left to the next look.
                    Ok(next) => {
                        self.ledger.put_head(&next, expected(&head)).await?;
                        Err(CoreError::Running)
                    }
                    Err(LedgerError::Watched { watcher, .. }) => Ok(handed_over(
                        watch,
                        format!("{watcher} watches this export now"),
                    )),
                    Err(_) => Ok(handed_over(
                        watch,
                        "the export is no longer in flight: another run recorded it",
                    )),
                }
            }
            Look::HandOver { why } => Ok(handed_over(watch, why)),
            Look::Completed(result) => Ok(CheckOutput::Completed(Completed {
                ctx: watch.ctx,
                export: watch.export,
                result,
                polls,
                blocks_behind: watch.blocks_behind,
            })),
            Look::Failed { code, message } => Ok(CheckOutput::Failed(Failed {
                ctx: watch.ctx,
                export: watch.export,
                failure: Failure { code, message },
                polls,
                blocks_behind: watch.blocks_behind,
            })),
        }
    }
}

fn handed_over(watch: Watch, why: impl Into<String>) -> CheckOutput {
    CheckOutput::HandedOver(HandedOver {
        watch,
        why: why.into(),
    })
}
