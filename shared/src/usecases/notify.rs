//! notify: publish the step's notification, or a FAILED one for a fault the
//! final Catch handed on. It needs only the topic and the table's name, so
//! a configuration error elsewhere still reaches the operator.

use crate::config::NoticeConfig;
use crate::contract::{NotifyInput, NotifyOutput, Published, RunContext};
use crate::domain::notification::Notification;
use crate::error::CoreError;
use crate::ports::Notifier;

/// The notify function's port and configuration.
#[derive(Debug)]
pub struct Announcer<N> {
    pub config: NoticeConfig,
    pub notifier: N,
}

impl<N: Notifier> Announcer<N> {
    pub async fn notify(&self, input: NotifyInput) -> Result<NotifyOutput, CoreError> {
        let (ctx, notification, drain) = match input {
            NotifyInput::Advanced(r) | NotifyInput::RecordedFailure(r) => {
                (r.ctx, r.notification, r.drain)
            }
            NotifyInput::NeedsOperator(o) => (o.ctx, o.notification, false),
            NotifyInput::Fault(fault) => {
                // The run context of the failing step, where it had one.
                let mut ctx: RunContext = serde_json::from_value(fault.run).unwrap_or_default();
                if !fault.execution_id.is_empty() {
                    ctx.execution_id = fault.execution_id;
                }
                let n = Notification::fault(
                    &self.config.table_name,
                    &ctx.execution_id,
                    &fault.error.error,
                    &fault.error.cause,
                );
                (ctx, n, false)
            }
        };
        let message_id = self.notifier.publish(&notification).await?;
        tracing::info!(status = notification.status.as_str(), %message_id, "published");
        Ok(NotifyOutput::Published(Published {
            ctx,
            message_id,
            drain,
        }))
    }
}
