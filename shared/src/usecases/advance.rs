//! advance-state: record a finished export in the ledger (conditionally),
//! with its catalog entry unannounced (the outbox), bring the mirrors in
//! line, and say whether more is exportable already. A retried or rival
//! call that finds the export recorded but not announced answers as the
//! first did, so the notification goes out whatever was cut short.

use super::TYPICAL_PITR_LAG;
use crate::contract::{AdvanceInput, AdvanceOutput, Recorded, RunContext, Skipped};
use crate::domain::control::WorkflowAction;
use crate::domain::decision::acknowledge_after_export;
use crate::domain::ledger::{entry_key, CatalogEntry, CatalogStatus, Head, LedgerError, Tracked};
use crate::domain::notification::Notification;
use crate::error::CoreError;
use crate::ports::{ControlStore, Ledger};
use crate::service::{expected, Service};

impl<C: ControlStore, L: Ledger, X, B> Service<C, L, X, B> {
    pub async fn advance(&self, input: AdvanceInput) -> Result<AdvanceOutput, CoreError> {
        let now = self.now();
        let head = self.head().await?;
        let (ctx, export, recorded) = match input {
            AdvanceInput::HandedOver(h) => {
                let w = h.watch;
                let token = &w.export.intent.client_token;
                if let Some(next) = head.release(token, &w.ctx.execution_id, now) {
                    // Lost: the lease simply runs out.
                    self.ledger.put_head(&next, expected(&head)).await?;
                }
                return Ok(AdvanceOutput::HandedOver(Skipped {
                    ctx: w.ctx,
                    reason: h.why,
                }));
            }
            AdvanceInput::Completed(c) => {
                let r = head.complete(&c.export.intent.client_token, &c.result, now);
                (c.ctx, c.export, r)
            }
            AdvanceInput::Failed(f) => {
                let token = &f.export.intent.client_token;
                let r = head.fail(token, &f.failure.code, &f.failure.message, now);
                (f.ctx, f.export, r)
            }
        };
        let (next, entry) = match recorded {
            Ok(r) => r,
            Err(LedgerError::FutureFormat { found }) => {
                return Err(LedgerError::FutureFormat { found }.into())
            }
            // Not in flight any more, or the chain moved on (a reset):
            // another execution recorded it.
            Err(_) => return self.recorded_elsewhere(ctx, export).await,
        };
        if !self
            .ledger
            .put_head_with_entry(&next, expected(&head), &entry)
            .await?
        {
            return self.recorded_elsewhere(ctx, export).await;
        }
        self.sync_mirrors(&next, Some(&head)).await;
        self.finish_reset(&next).await?;
        let plan = self.config.window_plan();
        let edge = now - TYPICAL_PITR_LAG;
        let more = entry.status == CatalogStatus::Completed
            && next.watermark.is_some_and(|w| plan.next_end(w) <= edge);
        Ok(self.announced(
            RunContext {
                exports_done: ctx.exports_done + 1,
                ..ctx
            },
            export,
            &entry,
            more,
        ))
    }

    /// The output that announces `entry`.
    fn announced(
        &self,
        ctx: RunContext,
        export: Tracked,
        entry: &CatalogEntry,
        drain: bool,
    ) -> AdvanceOutput {
        let cfg = &self.config;
        let now = self.now();
        let behind = cfg
            .window_plan()
            .blocks_behind(entry.span.to, now - TYPICAL_PITR_LAG);
        let notification = Notification::of_entry(
            &cfg.table_name,
            &cfg.alias,
            &ctx.execution_id,
            entry,
            behind,
            now,
        );
        let recorded = Recorded {
            ctx,
            export,
            entry_key: entry.sort_key(),
            notification,
            drain,
        };
        match entry.status {
            CatalogStatus::Completed => AdvanceOutput::Advanced(recorded),
            CatalogStatus::Failed => AdvanceOutput::RecordedFailure(recorded),
        }
    }

    /// The export is recorded already (this call's own earlier try whose
    /// answer was lost, or another execution): announce it if nobody has,
    /// and make sure the control is in line (that run's writes may have
    /// been cut short).
    async fn recorded_elsewhere(
        &self,
        ctx: RunContext,
        export: Tracked,
    ) -> Result<AdvanceOutput, CoreError> {
        let head = self.head().await?;
        self.finish_reset(&head).await?;
        match self.ledger.entry(&entry_key(&export.intent)).await? {
            Some(entry) if !entry.announced => Ok(self.announced(ctx, export, &entry, false)),
            _ => Ok(AdvanceOutput::AlreadyRecorded(Skipped {
                ctx,
                reason: "another execution recorded and announced this export".into(),
            })),
        }
    }

    /// After the full export a reset asked for, the control goes back to
    /// RUN, only if that very setting is still there.
    async fn finish_reset(&self, head: &Head) -> Result<(), CoreError> {
        let control = self.control.read_action().await?;
        if acknowledge_after_export(&control, head) {
            self.control
                .set_action_if(WorkflowAction::Run, &control)
                .await?;
        }
        Ok(())
    }
}
