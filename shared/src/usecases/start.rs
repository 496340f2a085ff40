//! start-export: record the intent in the ledger, then ask the service.
//!
//! The intent comes first so that a crash between the two is resumed with
//! the same client token (and so the same export), never a second one.
//! What a refusal means is the pure [`refusal`](crate::domain::refusal).

use super::decide::operator;
use crate::contract::{Quiet, RunContext, StartInput, StartOrder, StartOutput, Watch};
use crate::domain::decision::OperatorReason;
use crate::domain::export::{ExportError, ExportRequest, Pitr};
use crate::domain::ledger::{Intent, LedgerError, Tracked};
use crate::domain::refusal::{needs_earliest, refusal, Refusal};
use crate::error::CoreError;
use crate::ports::{ControlStore, ExportService, Ledger};
use crate::service::{expected, Service};

fn lost_race(ctx: RunContext, why: impl Into<String>) -> StartOutput {
    StartOutput::LostRace(Quiet {
        ctx,
        reason: why.into(),
        exportable_at: None,
    })
}

impl<C: ControlStore, L: Ledger, X: ExportService, N> Service<C, L, X, N> {
    pub async fn start(&self, input: StartInput) -> Result<StartOutput, CoreError> {
        let StartOrder {
            ctx,
            export: wanted,
            ledger_version,
            blocks_behind,
        } = input.into_order();
        let now = self.now();
        let head = self.head().await?;
        let recorded = match head.begin(ledger_version, wanted.clone(), now) {
            Ok(Some(next)) => {
                if !self.ledger.put_head(&next, expected(&head)).await? {
                    return Ok(lost_race(ctx, "another execution changed the ledger first"));
                }
                self.mirror(Some(&head), &next).await?;
                next.in_flight
            }
            // Exactly this export is already recorded (a retry or a resume).
            Ok(None) => head.in_flight.clone(),
            Err(LedgerError::FutureFormat { found }) => {
                return Ok(StartOutput::NeedsOperator(operator(
                    &self.config.table_name,
                    &self.config.alias,
                    ctx,
                    &OperatorReason::FutureLedger { found },
                )));
            }
            Err(e) => return Ok(lost_race(ctx, e.to_string())),
        };
        let flight = recorded.unwrap_or_else(|| wanted.into());
        let arn = match flight.export_arn {
            Some(arn) => arn,
            None => match self.exports.start(&self.request(&flight.intent)).await {
                Ok(arn) => arn,
                Err(e) => return self.refused(ctx, flight.intent, e).await,
            },
        };
        let head = self.head().await?;
        if let Some(next) = head.record_arn(&flight.intent.client_token, &arn, now)? {
            // A lost write here is harmless: the next reader asks again with
            // the same token and gets the same ARN.
            self.ledger.put_head(&next, expected(&head)).await?;
        }
        Ok(StartOutput::Started(Watch {
            wait_seconds: self.first_wait(flight.intent.kind).await?,
            blocks_behind: Some(blocks_behind),
            export: Tracked {
                intent: flight.intent,
                export_arn: arn,
            },
            polls: None,
            ctx,
        }))
    }

    fn request(&self, intent: &Intent) -> ExportRequest {
        let cfg = &self.config;
        ExportRequest {
            kind: intent.kind,
            span: intent.span,
            client_token: intent.client_token.clone(),
            bucket: cfg.bucket.clone(),
            prefix: cfg.prefix.clone(),
            format: cfg.format.as_str().to_string(),
            view_type: cfg.view_type.as_str().to_string(),
        }
    }

    /// The service refused: carry out what the refusal means.
    async fn refused(
        &self,
        ctx: RunContext,
        intent: Intent,
        error: ExportError,
    ) -> Result<StartOutput, CoreError> {
        let now = self.now();
        let earliest = if needs_earliest(&intent, &error) {
            match self.exports.backups().await {
                Ok(Pitr::Enabled { earliest, .. }) => Some(earliest),
                _ => None,
            }
        } else {
            None
        };
        let token = &intent.client_token;
        match refusal(&intent, &error, earliest) {
            Refusal::Fault => Err(error.into_fault()),
            Refusal::FailAttempt { code } => {
                let head = self.head().await?;
                let (next, entry) = head.fail(token, code, &error.to_string(), now)?;
                self.ledger
                    .put_head_with_entry(&next, expected(&head), &entry)
                    .await?;
                Err(error.into_fault())
            }
            Refusal::Operator {
                reason,
                mark_pitr_gap,
            } => {
                let head = self.head().await?;
                let mut next = head.abandon(token, now)?;
                if mark_pitr_gap {
                    next = next.mark_pitr_gap(next.version, now)?.unwrap_or(next);
                }
                if self.ledger.put_head(&next, expected(&head)).await? {
                    self.mirror(Some(&head), &next).await?;
                }
                tracing::warn!(%error, "export refused");
                Ok(StartOutput::NeedsOperator(operator(
                    &self.config.table_name,
                    &self.config.alias,
                    ctx,
                    &reason,
                )))
            }
        }
    }
}
