//! decide-mode: what this run should do. The decision is the pure
//! [`decision::plan`]; this carries it out.

use super::MAX_ITERATIONS;
use crate::contract::{
    DecideInput, DecideOutput, OperatorNotice, Quiet, RunContext, StartOrder, Waiting, Watch,
};
use crate::domain::control::WorkflowAction;
use crate::domain::decision::{self, Decision, Facts, OperatorReason};
use crate::domain::export::{ExportError, Pitr};
use crate::domain::ledger::Head;
use crate::domain::notification::Notification;
use crate::domain::poll::MAX_WAIT;
use crate::domain::timefmt::rfc3339;
use crate::domain::window::horizon;
use crate::error::CoreError;
use crate::ports::{ControlStore, ExportService, Ledger};
use crate::service::{expected, Service};

/// Reads the run context from the state input: the schedule's `{"time"}`,
/// `{}` for a manual run, or the previous step in the drain loop.
fn context(input: DecideInput) -> RunContext {
    let seed = input.run.unwrap_or_default();
    let mut ctx = seed.ctx;
    ctx.execution_id = input.execution_id;
    ctx.start_time = ctx.start_time.or(seed.time).or(input.execution_start_time);
    ctx.iteration += 1;
    ctx
}

fn quiet(ctx: RunContext, reason: impl Into<String>) -> Quiet {
    Quiet {
        ctx,
        reason: reason.into(),
        exportable_at: None,
    }
}

/// The NEEDS_OPERATOR output for `reason`, with its FAILED notification.
pub(crate) fn operator(
    table: &str,
    alias: &str,
    ctx: RunContext,
    reason: &OperatorReason,
) -> OperatorNotice {
    let notification = Notification::needs_operator(
        table,
        alias,
        &ctx.execution_id,
        reason,
        reason.export_kind(),
    );
    OperatorNotice {
        reason: notification.message.clone(),
        ctx,
        notification,
    }
}

impl<C: ControlStore, L: Ledger, X: ExportService, N> Service<C, L, X, N> {
    pub async fn decide(&self, input: DecideInput) -> Result<DecideOutput, CoreError> {
        let ctx = context(input);
        if ctx.iteration > MAX_ITERATIONS {
            return Ok(DecideOutput::NotDue(quiet(
                ctx,
                format!("drain bound of {MAX_ITERATIONS} decisions reached; the next run goes on"),
            )));
        }
        let now = self.now();
        let head = self.head().await?;
        let control = self.control.read_action().await?;
        let pitr = match self.exports.backups().await {
            Ok(p) => p,
            Err(ExportError::TableNotFound(_)) => {
                return Ok(self.needs_operator(ctx, &OperatorReason::TableNotFound));
            }
            Err(e) => return Err(e.into_fault()),
        };
        let facts = Facts {
            now,
            alias: &self.config.alias,
            control: &control,
            head: &head,
            pitr,
            exports_done: ctx.exports_done,
        };
        let plan = self.config.window_plan();
        let decided = decision::plan(&facts, plan);
        tracing::info!(decision = ?decided.decision, now, version = head.version, "decided");
        if decided.acknowledge_reset {
            self.control.set_action(WorkflowAction::Run).await?;
        }
        let edge = match pitr {
            Pitr::Enabled { latest, .. } => horizon(now, latest),
            Pitr::Disabled => now,
        };
        Ok(match decided.decision {
            Decision::Paused => DecideOutput::Paused(quiet(ctx, "workflow-action is PAUSE")),
            Decision::NotDue { exportable_at } => DecideOutput::NotDue(Quiet {
                exportable_at: exportable_at.map(rfc3339),
                ..quiet(ctx, "the next window is not exportable yet")
            }),
            Decision::DueSoon { wait_seconds } => {
                DecideOutput::DueSoon(Waiting { ctx, wait_seconds })
            }
            Decision::Start(intent) | Decision::Restart(intent) => {
                let blocks_behind = plan.blocks_behind(intent.span.to, edge);
                DecideOutput::start(StartOrder {
                    ctx,
                    export: intent,
                    ledger_version: head.version,
                    blocks_behind,
                })
            }
            Decision::GiveUp { client_token } => self.give_up(ctx, &head, &client_token).await?,
            Decision::Resume(export) => {
                let expected_wait = self.first_wait(export.intent.kind).await?;
                let remaining = export.intent.started_at + expected_wait - now;
                DecideOutput::Resume(Watch {
                    blocks_behind: Some(plan.blocks_behind(export.intent.span.to, edge)),
                    wait_seconds: remaining.max(self.config.poll_wait_seconds).min(MAX_WAIT),
                    export,
                    polls: None,
                    ctx,
                })
            }
            Decision::NeedsOperator {
                reason,
                mark_pitr_gap,
            } => {
                if mark_pitr_gap {
                    if let Some(next) = head.mark_pitr_gap(head.version, now)? {
                        if !self.ledger.put_head(&next, expected(&head)).await? {
                            return Ok(DecideOutput::NotDue(quiet(
                                ctx,
                                "another execution changed the ledger first",
                            )));
                        }
                        self.mirror(Some(&head), &next).await?;
                    }
                }
                self.needs_operator(ctx, &reason)
            }
        })
    }

    fn needs_operator(&self, ctx: RunContext, reason: &OperatorReason) -> DecideOutput {
        DecideOutput::NeedsOperator(operator(
            &self.config.table_name,
            &self.config.alias,
            ctx,
            reason,
        ))
    }

    /// The service forgets a client token 8 hours after its export finished:
    /// asking again with it now could start a second export of this window
    /// and attempt. Count the attempt as failed, so the next run asks with
    /// the next attempt's token.
    async fn give_up(
        &self,
        ctx: RunContext,
        head: &Head,
        client_token: &str,
    ) -> Result<DecideOutput, CoreError> {
        let (next, entry) = head.fail(
            client_token,
            "ClientTokenExpired",
            "the export was never confirmed and its client token may have expired",
            self.now(),
        )?;
        let reason = if self
            .ledger
            .put_head_with_entry(&next, expected(head), &entry)
            .await?
        {
            self.mirror(Some(head), &next).await?;
            "unconfirmed export given up; the next run tries again"
        } else {
            "another execution changed the ledger first"
        };
        Ok(DecideOutput::NotDue(quiet(ctx, reason)))
    }
}
