//! start-export: record the intent in the ledger, then ask the service.
//!
//! The intent comes first so that a crash between the two is resumed with
//! the same client token (and so the same export), never a second one.

use super::decide::operator;
use super::Env;
use crate::domain::decision::OperatorReason;
use crate::domain::export::{ExportKind, ExportRequest, Pitr};
use crate::domain::ledger::{Head, InFlight, LedgerError};
use crate::error::CoreError;
use crate::io::{Outcome, Step};
use crate::ports::{ControlStore, ExportError, ExportService, Ledger, Notifier};

fn lost_race(input: &Step, why: impl Into<String>) -> Step {
    let mut out = input.next(Outcome::LostRace);
    out.reason = Some(why.into());
    out
}

pub async fn start<C, L, X, N>(env: &Env<'_, C, L, X, N>, input: Step) -> Result<Step, CoreError>
where
    C: ControlStore,
    L: Ledger,
    X: ExportService,
    N: Notifier,
{
    let wanted = input.require_export()?.clone();
    let version = input
        .ledger_version
        .ok_or_else(|| CoreError::BadInput("the input has no `ledgerVersion`".into()))?;
    let now = env.clock.now();
    let head = env.head().await?;
    let flight = match head.begin(version, wanted.clone(), now) {
        Ok(Some(next)) => {
            if !env
                .ledger
                .put_head(&next, Env::<C, L, X, N>::expected(&head))
                .await?
            {
                return Ok(lost_race(
                    &input,
                    "another execution changed the ledger first",
                ));
            }
            env.mirror(Some(&head), &next).await?;
            wanted
        }
        // Exactly this export is already recorded (a retry or a resume).
        Ok(None) => head.in_flight.clone().unwrap_or(wanted),
        Err(LedgerError::FutureFormat { found }) => {
            return Ok(operator(
                env,
                &input,
                &OperatorReason::FutureLedger { found },
                Some(wanted.kind),
            ));
        }
        Err(e) => return Ok(lost_race(&input, e.to_string())),
    };
    let arn = match &flight.export_arn {
        Some(arn) => arn.clone(),
        None => match env.exports.start(&request(env, &flight)).await {
            Ok(arn) => arn,
            Err(e) => return rejected(env, &input, flight, e).await,
        },
    };
    let head = env.head().await?;
    if let Some(next) = head.record_arn(&flight.client_token, &arn, now)? {
        // A lost write here is harmless: the next reader asks again with the
        // same token and gets the same ARN.
        env.ledger
            .put_head(&next, Env::<C, L, X, N>::expected(&head))
            .await?;
    }
    let mut out = input.next(Outcome::Started);
    out.wait_seconds = Some(env.first_wait(flight.kind).await?);
    out.blocks_behind = input.blocks_behind;
    out.export = Some(InFlight {
        export_arn: Some(arn),
        ..flight
    });
    Ok(out)
}

fn request<C, L, X, N>(env: &Env<'_, C, L, X, N>, flight: &InFlight) -> ExportRequest {
    ExportRequest {
        kind: flight.kind,
        span: flight.span,
        client_token: flight.client_token.clone(),
        bucket: env.cfg.bucket.clone(),
        prefix: env.cfg.prefix.clone(),
        format: env.cfg.format.as_str().to_string(),
        view_type: env.cfg.view_type.as_str().to_string(),
    }
}

/// The service refused: forget the intent (no export exists) and say why.
async fn rejected<C, L, X, N>(
    env: &Env<'_, C, L, X, N>,
    input: &Step,
    flight: InFlight,
    error: ExportError,
) -> Result<Step, CoreError>
where
    C: ControlStore,
    L: Ledger,
    X: ExportService,
    N: Notifier,
{
    let now = env.clock.now();
    let reason = match &error {
        ExportError::PitrUnavailable(_) => OperatorReason::PitrDisabled,
        ExportError::TableNotFound(_) => OperatorReason::TableNotFound,
        ExportError::InvalidExportTime(_) if flight.kind == ExportKind::Incremental => {
            let earliest = match env.exports.backups().await {
                Ok(Pitr::Enabled { earliest, .. }) => earliest,
                _ => 0,
            };
            OperatorReason::PitrGap {
                watermark: flight.span.from.unwrap_or(flight.span.to),
                earliest,
            }
        }
        // The token was used with other parameters (the stack's bucket,
        // prefix or format changed while the intent was recorded), or a full
        // export's time fell out of the PITR window before it was asked for:
        // record a failed attempt, so the next run asks anew with a new token.
        ExportError::Conflict(detail) | ExportError::InvalidExportTime(detail) => {
            let code = match &error {
                ExportError::Conflict(_) => "ExportConflict",
                _ => "InvalidExportTime",
            };
            let head = env.head().await?;
            let (next, entry) = head.fail(&flight.client_token, code, detail, now)?;
            env.ledger
                .put_head_with_entry(&next, Env::<C, L, X, N>::expected(&head), &entry)
                .await?;
            return Err(error.into_fault());
        }
        _ => return Err(error.into_fault()),
    };
    let head = env.head().await?;
    let mut next: Head = head.abandon(&flight.client_token, now)?;
    if let OperatorReason::PitrGap { .. } = reason {
        next = next.mark_pitr_gap(next.version, now)?.unwrap_or(next);
    }
    if env
        .ledger
        .put_head(&next, Env::<C, L, X, N>::expected(&head))
        .await?
    {
        env.mirror(Some(&head), &next).await?;
    }
    tracing::warn!(%error, "export refused");
    Ok(operator(env, input, &reason, Some(flight.kind)))
}
