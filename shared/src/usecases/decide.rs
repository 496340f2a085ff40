//! decide-mode: what this run should do. The decision is the pure
//! [`decision::plan`]; this reads the world for it and carries it out.

use super::MAX_ITERATIONS;
use crate::contract::{
    Announcement, DecideInput, DecideOutput, Notice, OperatorNotice, Quiet, RunContext, StartOrder,
    Waiting, Watch,
};
use crate::domain::control::WorkflowAction;
use crate::domain::decision::{self, Decision, Facts, OperatorReason};
use crate::domain::export::{ExportError, ExportKind, Pitr};
use crate::domain::ledger::CatalogEntry;
use crate::domain::ledger::{Head, Intent};
use crate::domain::notification::Notification;
use crate::domain::origin::{self, Origin};
use crate::domain::poll::{self, MAX_WAIT};
use crate::domain::timefmt::rfc3339;
use crate::domain::watch::LEASE;
use crate::domain::window::horizon;
use crate::domain::Epoch;
use crate::error::CoreError;
use crate::ports::{ControlStore, ExportService, Ledger, PublishedExports};
use crate::service::{expected, first_wait, Service};

/// Reads the run context from the state input: the schedule's `{"time"}`,
/// `{}` for a manual run, or the previous step.
fn context(input: DecideInput) -> RunContext {
    let seed = input.run.unwrap_or_default();
    let mut ctx = seed.ctx;
    ctx.execution_id = input.execution_id;
    ctx.start_time = ctx.start_time.or(seed.time).or(input.execution_start_time);
    ctx.iteration += 1;
    ctx.announced |= seed.announce_failed.is_some();
    ctx
}

pub(crate) fn quiet(ctx: RunContext, reason: impl Into<String>) -> Quiet {
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

/// What the notification of `intent`'s export says of how the chain
/// began: it continues the original's, or why it could not.
fn note(head: &Head, intent: &Intent, fallback: Option<String>) -> Option<String> {
    match (head.continued, intent.span.from) {
        (Some(c), Some(from)) if from == c.watermark() => Some(c.note()),
        _ if intent.kind == ExportKind::Full => fallback,
        _ => None,
    }
}

impl<C: ControlStore, L: Ledger, X: ExportService, B: PublishedExports> Service<C, L, X, B> {
    /// On the first run of a deployment told to continue the original
    /// sample's chain: reads its SSM times and its exports in the bucket and
    /// starts the ledger where that chain ends, or says why not (the reason
    /// goes into the full export's notification). Otherwise `head` as it is.
    async fn continue_original(
        &self,
        head: Head,
        pitr: Pitr,
        now: Epoch,
    ) -> Result<(Head, Option<String>), CoreError> {
        if !self.config.continue_original_chain || head.version != 0 {
            return Ok((head, None));
        }
        let mirrors = self.control.read_mirrors().await?;
        let published = self.published.list().await?;
        let location = self.published.location();
        match origin::continue_original(&mirrors, &published, pitr, &location) {
            Origin::Continue(c) => {
                tracing::info!(
                    end_ms = c.end_ms,
                    exports = c.exports,
                    "continuing the original's chain"
                );
                match head.continuing(c, now) {
                    Some(next) if self.ledger.put_head(&next, None).await? => Ok((next, None)),
                    // Another run wrote the first head: go on from it.
                    _ => Ok((self.head().await?, None)),
                }
            }
            Origin::FullExport(reason) => {
                tracing::warn!(%reason, "not continuing the original's chain");
                Ok((head, Some(reason)))
            }
        }
    }

    pub async fn decide(&self, input: DecideInput) -> Result<DecideOutput, CoreError> {
        let ctx = context(input);
        if ctx.iteration > MAX_ITERATIONS {
            return Ok(DecideOutput::NotDue(quiet(
                ctx,
                format!(
                    "bound of {MAX_ITERATIONS} decisions per run reached; the next run goes on"
                ),
            )));
        }
        let cfg = &self.config;
        let now = self.now();
        let head = self.head().await?;
        let mut control = self.control.read_action().await?;
        let pitr = match self.exports.backups().await {
            Ok(p) => p,
            Err(ExportError::TableNotFound(_)) => {
                return Ok(self.needs_operator(ctx, &OperatorReason::TableNotFound));
            }
            Err(e) => return Err(e.into_fault()),
        };
        let (head, fallback) = self.continue_original(head, pitr, now).await?;
        let recent = self.ledger.recent(2 * poll::LEARN_FROM).await?;
        let plan = cfg.window_plan();
        let decided = decision::plan(
            &Facts {
                now,
                alias: &cfg.alias,
                execution_id: &ctx.execution_id,
                control: &control,
                head: &head,
                pitr,
                exports_done: ctx.exports_done,
                recent: &recent,
                announce_tried: ctx.announced,
            },
            plan,
        );
        tracing::info!(decision = ?decided.decision, now, version = head.version, "decided");
        if decided.create_control {
            control = self.control.create_action(WorkflowAction::Run).await?;
        }
        if decided.acknowledge_reset {
            self.control
                .set_action_if(WorkflowAction::Run, &control)
                .await?;
        }
        self.sync_mirrors(&head, None).await;
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
            Decision::Start(mut intent) | Decision::Restart(mut intent) => {
                intent.note = note(&head, &intent, fallback);
                let blocks_behind = plan.blocks_behind(intent.span.to, edge);
                DecideOutput::start(StartOrder {
                    ctx,
                    export: intent,
                    ledger_version: head.version,
                    blocks_behind,
                })
            }
            Decision::Watched { watcher, until } => DecideOutput::Watched(quiet(
                ctx,
                format!(
                    "the export in flight is watched by {watcher} until {}",
                    rfc3339(until)
                ),
            )),
            Decision::Announce(keys) => {
                let notices = keys
                    .iter()
                    .filter_map(|k| recent.iter().find(|e| e.sort_key() == *k))
                    .map(|e: &CatalogEntry| Notice {
                        entry_key: e.sort_key(),
                        notification: Notification::of_entry(
                            &cfg.table_name,
                            &cfg.alias,
                            &ctx.execution_id,
                            e,
                            plan.blocks_behind(e.span.to, edge),
                            now,
                        ),
                    })
                    .collect();
                DecideOutput::Announce(Announcement { ctx, notices })
            }
            Decision::Resume(export) => {
                let expected_wait = first_wait(&recent, export.intent.kind, cfg.poll_wait_seconds);
                let wait = (export.intent.started_at + expected_wait - now)
                    .max(cfg.poll_wait_seconds)
                    .min(MAX_WAIT);
                // Take the lease, so the runs after this one leave it alone.
                let token = &export.intent.client_token;
                match head.watch(token, &ctx.execution_id, now + wait + LEASE, now) {
                    Ok(next) if self.ledger.put_head(&next, expected(&head)).await? => {}
                    _ => {
                        return Ok(DecideOutput::Watched(quiet(
                            ctx,
                            "another execution took the export in flight first",
                        )))
                    }
                }
                DecideOutput::Resume(Watch {
                    blocks_behind: Some(plan.blocks_behind(export.intent.span.to, edge)),
                    wait_seconds: wait,
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
                        self.sync_mirrors(&next, Some(&head)).await;
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
}
