//! notify: publish the step's notification, or a FAILED one for a fault the
//! final Catch handed on.

use super::Env;
use crate::domain::notification::Notification;
use crate::error::CoreError;
use crate::io::{NotifyInput, Outcome, Step};
use crate::ports::{ControlStore, ExportService, Ledger, Notifier};

pub async fn notify<C, L, X, N>(
    env: &Env<'_, C, L, X, N>,
    input: NotifyInput,
) -> Result<Step, CoreError>
where
    C: ControlStore,
    L: Ledger,
    X: ExportService,
    N: Notifier,
{
    let mut step = input.step;
    if step.execution_id.is_empty() {
        if let Some(id) = input
            .run
            .as_ref()
            .and_then(|r| r.get("executionId"))
            .and_then(|v| v.as_str())
        {
            step.execution_id = id.to_string();
        }
    }
    let notification = match (step.notification.take(), input.error) {
        (Some(n), _) => n,
        (None, Some(err)) => Notification::fault(
            &env.cfg.table_name,
            &step.execution_id,
            &err.error,
            &err.cause,
        ),
        (None, None) => {
            return Err(CoreError::BadInput(
                "notify needs a `notification` object or an `error` from a Catch".into(),
            ))
        }
    };
    let message_id = env.notifier.publish(&notification).await?;
    tracing::info!(status = notification.status.as_str(), %message_id, "published");
    let mut out = step.next(Outcome::Published);
    out.message_id = Some(message_id);
    out.drain = step.drain;
    Ok(out)
}
