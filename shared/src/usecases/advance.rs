//! advance-state: record a finished export in the ledger (conditionally),
//! mirror it to SSM, and say whether more is exportable already.

use super::{mirrors_of, Env, MAX_EXPORTS_PER_EXECUTION, TYPICAL_PITR_LAG};
use crate::domain::control::WorkflowAction;
use crate::domain::export::ExportKind;
use crate::domain::ledger::{Head, LedgerError};
use crate::domain::notification::Notification;
use crate::error::CoreError;
use crate::io::{Outcome, Step};
use crate::ports::{ControlStore, ExportService, Ledger, Notifier};

pub async fn advance<C, L, X, N>(env: &Env<'_, C, L, X, N>, input: Step) -> Result<Step, CoreError>
where
    C: ControlStore,
    L: Ledger,
    X: ExportService,
    N: Notifier,
{
    let flight = input.require_export()?.clone();
    let now = env.clock.now();
    let cfg = env.cfg;
    let plan = cfg.window_plan();
    let head = env.head().await?;
    let edge = now - TYPICAL_PITR_LAG;
    let token = &flight.client_token;
    let recorded = match input.outcome {
        Some(Outcome::Completed) => {
            let result = input
                .result
                .clone()
                .ok_or_else(|| CoreError::BadInput("a COMPLETED input needs `result`".into()))?;
            head.complete(token, &result, now).map(|(next, entry)| {
                let behind = plan.blocks_behind(flight.span.to, edge);
                let n = Notification::succeeded(
                    &cfg.table_name,
                    &input.execution_id,
                    &flight,
                    &result,
                    behind,
                    now,
                );
                (next, entry, n, Outcome::Advanced)
            })
        }
        Some(Outcome::Failed) => {
            let failure = input
                .failure
                .clone()
                .ok_or_else(|| CoreError::BadInput("a FAILED input needs `failure`".into()))?;
            head.fail(token, &failure.code, &failure.message, now)
                .map(|(next, entry)| {
                    let behind = plan.blocks_behind(head.watermark.unwrap_or(flight.span.to), edge);
                    let n = Notification::export_failed(
                        &cfg.table_name,
                        &input.execution_id,
                        &flight,
                        &failure.code,
                        &failure.message,
                        behind,
                        now,
                    );
                    (next, entry, n, Outcome::RecordedFailure)
                })
        }
        other => {
            return Err(CoreError::BadInput(format!(
                "advance-state takes a COMPLETED or FAILED input, got {other:?}"
            )))
        }
    };
    let (next, entry, notification, outcome) = match recorded {
        Ok(r) => r,
        Err(LedgerError::NotInFlight(_)) => return already_recorded(env, &input, &head).await,
        Err(e) => return Err(e.into()),
    };
    if !env
        .ledger
        .put_head_with_entry(&next, Env::<C, L, X, N>::expected(&head), &entry)
        .await?
    {
        let fresh = env.head().await?;
        return already_recorded(env, &input, &fresh).await;
    }
    env.mirror(Some(&head), &next).await?;
    finish_reset(env, &next).await?;
    let exports_done = input.exports_done + 1;
    let more = next
        .watermark
        .is_some_and(|w| outcome == Outcome::Advanced && plan.next_end(w) <= edge);
    let mut out = input.next(outcome);
    out.exports_done = exports_done;
    out.drain = Some(more && exports_done < MAX_EXPORTS_PER_EXECUTION);
    out.export = Some(flight);
    out.notification = Some(notification);
    Ok(out)
}

/// Another execution recorded this export first: make sure the mirrors and
/// the control are in line (its writes may have been cut short), notify
/// nothing twice.
async fn already_recorded<C, L, X, N>(
    env: &Env<'_, C, L, X, N>,
    input: &Step,
    head: &Head,
) -> Result<Step, CoreError>
where
    C: ControlStore,
    L: Ledger,
    X: ExportService,
    N: Notifier,
{
    env.control.write_mirrors(&mirrors_of(head), None).await?;
    finish_reset(env, head).await?;
    let mut out = input.next(Outcome::AlreadyRecorded);
    out.drain = Some(false);
    Ok(out)
}

/// After the full export a reset asked for, the control goes back to RUN
/// (only if it still says RESET: an operator's newer PAUSE stays).
async fn finish_reset<C, L, X, N>(env: &Env<'_, C, L, X, N>, head: &Head) -> Result<(), CoreError>
where
    C: ControlStore,
    L: Ledger,
    X: ExportService,
    N: Notifier,
{
    let control = env.control.read_action().await?;
    let reset = control.value.as_deref() == Some(WorkflowAction::ResetWithFullExportAgain.as_str());
    let done = control.version.is_some() && control.version == head.reset_version;
    if reset
        && done
        && head
            .in_flight
            .as_ref()
            .is_none_or(|f| f.kind != ExportKind::Full)
    {
        env.control.set_action(WorkflowAction::Run).await?;
    }
    Ok(())
}
