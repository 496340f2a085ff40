//! check-status: where the export stands, and how long to wait before the
//! next look.

use super::Env;
use crate::domain::export::ExportStatus;
use crate::domain::poll;
use crate::error::CoreError;
use crate::io::{Failure, Outcome, Step};
use crate::ports::{ControlStore, ExportError, ExportService, Ledger, Notifier};

pub async fn check<C, L, X, N>(env: &Env<'_, C, L, X, N>, input: Step) -> Result<Step, CoreError>
where
    C: ControlStore,
    L: Ledger,
    X: ExportService,
    N: Notifier,
{
    let flight = input.require_export()?.clone();
    let arn = flight
        .export_arn
        .clone()
        .ok_or_else(|| CoreError::BadInput("the input's `export` has no `exportArn`".into()))?;
    let status = match env.exports.describe(&arn).await {
        Ok(s) => s,
        // The service no longer knows it: count it as a failed attempt, so
        // the window is tried again rather than polled for ever.
        Err(ExportError::ExportNotFound(detail)) => ExportStatus::Failed {
            code: "ExportNotFound".into(),
            message: detail,
        },
        Err(e) => return Err(e.into_fault()),
    };
    let polls = input.polls.unwrap_or(0) + 1;
    let mut out = match status {
        ExportStatus::InProgress => {
            let mut out = input.next(Outcome::InProgress);
            let previous = input.wait_seconds.unwrap_or(env.cfg.poll_wait_seconds);
            out.wait_seconds = Some(poll::next_wait(previous, env.cfg.poll_wait_seconds));
            out
        }
        ExportStatus::Completed(result) => {
            let mut out = input.next(Outcome::Completed);
            out.result = Some(result);
            out
        }
        ExportStatus::Failed { code, message } => {
            let mut out = input.next(Outcome::Failed);
            out.failure = Some(Failure { code, message });
            out
        }
    };
    out.polls = Some(polls);
    out.blocks_behind = input.blocks_behind;
    out.export = Some(flight);
    Ok(out)
}
