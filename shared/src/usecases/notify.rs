//! notify: announce how the run ended (and mark the ledger entry announced:
//! the outbox), send what a run before left pending, tell the operator, or
//! report a fault the final Catch handed on; and when more is exportable
//! than this run exported, start the next run at once. It needs only the
//! topic, the ledger and the workflow, and of the configuration only the
//! table's name, so a configuration error elsewhere still reaches the
//! operator.

use crate::config::NoticeConfig;
use crate::contract::{NotifyInput, NotifyOutput, Published, Quiet, RunContext};
use crate::domain::notification::Notification;
use crate::error::CoreError;
use crate::ports::{Ledger, Notifier, Runs};

/// The notify function's ports and configuration.
#[derive(Debug)]
pub struct Announcer<N, L, R> {
    pub config: NoticeConfig,
    pub notifier: N,
    pub ledger: L,
    pub runs: R,
}

impl<N: Notifier, L: Ledger, R: Runs> Announcer<N, L, R> {
    pub async fn notify(&self, input: NotifyInput) -> Result<NotifyOutput, CoreError> {
        let (ctx, sent, next_run) = match input {
            NotifyInput::Advanced(r) | NotifyInput::RecordedFailure(r) => {
                let id = self.notifier.publish(&r.notification).await?;
                self.ledger.mark_announced(&r.entry_key).await?;
                let next_run = if r.drain {
                    // Named after the window it continues from: a retried
                    // call starts it once.
                    let name = format!(
                        "drain-c{}-{}",
                        r.export.intent.chain, r.export.intent.span.to
                    );
                    self.runs
                        .start_run(&name, &serde_json::json!({ "drain": true }))
                        .await?;
                    Some(name)
                } else {
                    None
                };
                (r.ctx, vec![id], next_run)
            }
            NotifyInput::AlreadyRecorded(s) | NotifyInput::HandedOver(s) => {
                return Ok(NotifyOutput::Nothing(Quiet {
                    ctx: s.ctx,
                    reason: s.reason,
                    exportable_at: None,
                }))
            }
            NotifyInput::NeedsOperator(o) => {
                let id = self.notifier.publish(&o.notification).await?;
                (o.ctx, vec![id], None)
            }
            NotifyInput::Announce(a) => {
                let mut ids = Vec::new();
                for notice in &a.notices {
                    ids.push(self.notifier.publish(&notice.notification).await?);
                    self.ledger.mark_announced(&notice.entry_key).await?;
                }
                let mut ctx = a.ctx;
                ctx.announced = true;
                (ctx, ids, None)
            }
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
                (ctx, vec![self.notifier.publish(&n).await?], None)
            }
        };
        tracing::info!(messages = sent.len(), next_run = ?next_run, "published");
        Ok(NotifyOutput::Published(Published {
            ctx,
            message_ids: sent,
            next_run,
        }))
    }
}
