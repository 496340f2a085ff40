//! advance-state: record a finished export in the ledger (conditionally),
//! mirror it to SSM, and say whether more is exportable already.

use super::{MAX_EXPORTS_PER_EXECUTION, TYPICAL_PITR_LAG};
use crate::contract::{AdvanceInput, AdvanceOutput, Recorded, RunContext, Skipped};
use crate::domain::control::WorkflowAction;
use crate::domain::decision::acknowledge_after_export;
use crate::domain::ledger::{Head, LedgerError};
use crate::domain::mirrors::Mirrors;
use crate::domain::notification::Notification;
use crate::error::CoreError;
use crate::ports::{ControlStore, Ledger};
use crate::service::{expected, Service};

impl<C: ControlStore, L: Ledger, X, N> Service<C, L, X, N> {
    pub async fn advance(&self, input: AdvanceInput) -> Result<AdvanceOutput, CoreError> {
        let now = self.now();
        let cfg = &self.config;
        let plan = cfg.window_plan();
        let head = self.head().await?;
        let edge = now - TYPICAL_PITR_LAG;
        let (ctx, export, recorded) = match input {
            AdvanceInput::Completed(c) => {
                let token = &c.export.intent.client_token;
                let recorded = head.complete(token, &c.result, now).map(|(next, entry)| {
                    let behind = plan.blocks_behind(c.export.intent.span.to, edge);
                    let n = Notification::succeeded(
                        &cfg.table_name,
                        &c.ctx.execution_id,
                        &c.export,
                        &c.result,
                        behind,
                        now,
                    );
                    (next, entry, n, true)
                });
                (c.ctx, c.export, recorded)
            }
            AdvanceInput::Failed(f) => {
                let token = &f.export.intent.client_token;
                let recorded = head
                    .fail(token, &f.failure.code, &f.failure.message, now)
                    .map(|(next, entry)| {
                        let behind = plan
                            .blocks_behind(head.watermark.unwrap_or(f.export.intent.span.to), edge);
                        let n = Notification::export_failed(
                            &cfg.table_name,
                            &f.ctx.execution_id,
                            &f.export,
                            &f.failure.code,
                            &f.failure.message,
                            behind,
                            now,
                        );
                        (next, entry, n, false)
                    });
                (f.ctx, f.export, recorded)
            }
        };
        let (next, entry, notification, advanced) = match recorded {
            Ok(r) => r,
            Err(LedgerError::NotInFlight(_)) => return self.already_recorded(ctx, &head).await,
            Err(e) => return Err(e.into()),
        };
        if !self
            .ledger
            .put_head_with_entry(&next, expected(&head), &entry)
            .await?
        {
            let fresh = self.head().await?;
            return self.already_recorded(ctx, &fresh).await;
        }
        self.mirror(Some(&head), &next).await?;
        self.finish_reset(&next).await?;
        let exports_done = ctx.exports_done + 1;
        let more = next
            .watermark
            .is_some_and(|w| advanced && plan.next_end(w) <= edge);
        let recorded = Recorded {
            ctx: RunContext {
                exports_done,
                ..ctx
            },
            export,
            notification,
            drain: more && exports_done < MAX_EXPORTS_PER_EXECUTION,
        };
        Ok(if advanced {
            AdvanceOutput::Advanced(recorded)
        } else {
            AdvanceOutput::RecordedFailure(recorded)
        })
    }

    /// Another execution recorded this export first: make sure the mirrors
    /// and the control are in line (its writes may have been cut short),
    /// notify nothing twice.
    async fn already_recorded(
        &self,
        ctx: RunContext,
        head: &Head,
    ) -> Result<AdvanceOutput, CoreError> {
        self.control.write_mirrors(&Mirrors::of(head), None).await?;
        self.finish_reset(head).await?;
        Ok(AdvanceOutput::AlreadyRecorded(Skipped {
            ctx,
            drain: false,
        }))
    }

    /// After the full export a reset asked for, the control goes back to RUN.
    async fn finish_reset(&self, head: &Head) -> Result<(), CoreError> {
        let control = self.control.read_action().await?;
        if acknowledge_after_export(&control, head) {
            self.control.set_action(WorkflowAction::Run).await?;
        }
        Ok(())
    }
}
