//! decide-mode: what this run should do.

use super::{Env, MAX_ITERATIONS};
use crate::domain::control::WorkflowAction;
use crate::domain::decision::{self, Decision, Facts, OperatorReason};
use crate::domain::export::{ExportKind, Pitr};
use crate::domain::ledger::InFlight;
use crate::domain::notification::Notification;
use crate::domain::timefmt::rfc3339;
use crate::domain::token::client_token;
use crate::domain::window::horizon;
use crate::error::CoreError;
use crate::io::{DecideInput, Outcome, Step};
use crate::ports::{ControlStore, ExportError, ExportService, Ledger, Notifier};

/// How long after its intent an export never confirmed (no ARN recorded) is
/// asked for again with the same client token: safely under the 8 hours the
/// service remembers a token after its export finished.
pub const TOKEN_SAFE_AGE: crate::domain::Epoch = 7 * 3600;

/// Reads the run context from the state input: the schedule's `{"time"}`,
/// `{}` for a manual run, or the previous step in the drain loop.
fn context(input: &DecideInput) -> Result<Step, CoreError> {
    let run = &input.run;
    let mut step: Step = if run.is_null() {
        Step::default()
    } else {
        crate::io::parse(run.clone())?
    };
    step.execution_id = input.execution_id.clone();
    let time = run.get("time").and_then(|t| t.as_str()).map(str::to_string);
    step.start_time = step
        .start_time
        .clone()
        .or(time)
        .or_else(|| input.execution_start_time.clone());
    step.iteration += 1;
    Ok(step)
}

pub async fn decide<C, L, X, N>(
    env: &Env<'_, C, L, X, N>,
    input: DecideInput,
) -> Result<Step, CoreError>
where
    C: ControlStore,
    L: Ledger,
    X: ExportService,
    N: Notifier,
{
    if !input.run.is_object() && !input.run.is_null() {
        return Err(CoreError::BadInput(format!(
            "`run` must be the state input object, got {}",
            input.run
        )));
    }
    let ctx = context(&input)?;
    if ctx.iteration > MAX_ITERATIONS {
        let mut out = ctx.next(Outcome::NotDue);
        out.reason = Some(format!(
            "drain bound of {MAX_ITERATIONS} decisions reached; the next run goes on"
        ));
        return Ok(out);
    }
    let cfg = env.cfg;
    let now = env.clock.now();
    let head = env.head().await?;
    let control = env.control.read_action().await?;
    let pitr = match env.exports.backups().await {
        Ok(p) => p,
        Err(ExportError::TableNotFound(_)) => {
            return Ok(operator(env, &ctx, &OperatorReason::TableNotFound, None));
        }
        Err(e) => return Err(e.into_fault()),
    };
    let facts = Facts {
        now,
        control: control.value.as_deref(),
        control_version: control.version,
        head: &head,
        pitr,
        exports_done: ctx.exports_done,
    };
    if control.value.as_deref() == Some(WorkflowAction::ResetWithFullExportAgain.as_str())
        && decision::reset_done(&facts)
    {
        env.control.set_action(WorkflowAction::Run).await?;
    }
    let plan = cfg.window_plan();
    let edge = match pitr {
        Pitr::Enabled { latest, .. } => horizon(now, latest),
        Pitr::Disabled => now,
    };
    let decided = decision::decide(&facts, plan);
    tracing::info!(decision = ?decided, now, version = head.version, "decided");
    let out = match decided {
        Decision::Paused => {
            let mut out = ctx.next(Outcome::Paused);
            out.reason = Some("workflow-action is PAUSE".into());
            out
        }
        Decision::NotDue { exportable_at } => {
            let mut out = ctx.next(Outcome::NotDue);
            out.exportable_at = exportable_at.map(rfc3339);
            out.reason = Some("the next window is not exportable yet".into());
            out
        }
        Decision::DueSoon { wait_seconds } => {
            let mut out = ctx.next(Outcome::DueSoon);
            out.wait_seconds = Some(wait_seconds);
            out
        }
        Decision::Start {
            kind,
            span,
            attempt,
            chain,
            reset_version,
        } => {
            let flight = InFlight {
                kind,
                span,
                attempt,
                client_token: client_token(&cfg.alias, kind, span, attempt),
                export_arn: None,
                started_at: now,
                chain,
                reset_version,
            };
            start_step(
                &ctx,
                flight,
                head.version,
                plan.blocks_behind(span.to, edge),
            )
        }
        Decision::Resume { flight }
            if flight.export_arn.is_none() && now - flight.started_at >= TOKEN_SAFE_AGE =>
        {
            // The service forgets a client token 8 hours after its export
            // finished: asking again with it now could start a second export
            // of this window and attempt. Count the attempt as failed, so the
            // next run asks with the next attempt's token.
            let (next, entry) = head.fail(
                &flight.client_token,
                "ClientTokenExpired",
                "the export was never confirmed and its client token may have expired",
                now,
            )?;
            let mut out = ctx.next(Outcome::NotDue);
            if env
                .ledger
                .put_head_with_entry(&next, Env::<C, L, X, N>::expected(&head), &entry)
                .await?
            {
                env.mirror(Some(&head), &next).await?;
                out.reason = Some("unconfirmed export given up; the next run tries again".into());
            } else {
                out.reason = Some("another execution changed the ledger first".into());
            }
            out
        }
        Decision::Resume { flight } if flight.export_arn.is_none() => {
            // Recorded but perhaps never asked for: ask again, same token.
            let behind = plan.blocks_behind(flight.span.to, edge);
            start_step(&ctx, flight, head.version, behind)
        }
        Decision::Resume { flight } => {
            let expected = env.first_wait(flight.kind).await?;
            let remaining = flight.started_at + expected - now;
            let mut out = ctx.next(Outcome::Resume);
            out.blocks_behind = Some(plan.blocks_behind(flight.span.to, edge));
            out.wait_seconds = Some(
                remaining
                    .max(cfg.poll_wait_seconds)
                    .min(crate::domain::poll::MAX_WAIT),
            );
            out.export = Some(flight);
            out
        }
        Decision::NeedsOperator {
            reason,
            mark_pitr_gap,
        } => {
            if mark_pitr_gap {
                if let Some(next) = head.mark_pitr_gap(head.version, now)? {
                    if !env
                        .ledger
                        .put_head(&next, Env::<C, L, X, N>::expected(&head))
                        .await?
                    {
                        let mut out = ctx.next(Outcome::NotDue);
                        out.reason = Some("another execution changed the ledger first".into());
                        return Ok(out);
                    }
                    env.mirror(Some(&head), &next).await?;
                }
            }
            operator(env, &ctx, &reason, Some(ExportKind::Incremental))
        }
    };
    Ok(out)
}

fn start_step(ctx: &Step, flight: InFlight, version: u64, behind: i64) -> Step {
    let outcome = match flight.kind {
        ExportKind::Full => Outcome::StartFull,
        ExportKind::Incremental => Outcome::StartIncremental,
    };
    let mut out = ctx.next(outcome);
    out.export = Some(flight);
    out.ledger_version = Some(version);
    out.blocks_behind = Some(behind);
    out
}

/// A NEEDS_OPERATOR step with its FAILED notification.
pub fn operator<C, L, X, N>(
    env: &Env<'_, C, L, X, N>,
    ctx: &Step,
    reason: &OperatorReason,
    kind: Option<ExportKind>,
) -> Step {
    let mut out = ctx.next(Outcome::NeedsOperator);
    let n = Notification::needs_operator(
        &env.cfg.table_name,
        &env.cfg.alias,
        &ctx.execution_id,
        reason,
        kind,
    );
    out.reason = Some(n.message.clone());
    out.notification = Some(n);
    out
}
