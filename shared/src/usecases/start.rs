//! start-export: record the intent in the ledger, then ask the service.
//!
//! The intent comes first so that a crash between the two is resumed with
//! the same client token (and so the same export), never a second one. An
//! intent whose ARN was never seen and that is older than the service's
//! memory of client tokens is looked for among the exports the service
//! made before it is asked for again. What a refusal means is the pure
//! [`refusal`](crate::domain::refusal).

use super::decide::{operator, quiet};
use crate::contract::{RunContext, StartInput, StartOrder, StartOutput, Watch};
use crate::domain::decision::OperatorReason;
use crate::domain::export::{ExportError, ExportRequest, Pitr};
use crate::domain::ledger::{Intent, LedgerError, Tracked};
use crate::domain::refusal::{needs_earliest, refusal, Refusal};
use crate::domain::token::TOKEN_SAFE_AGE;
use crate::domain::watch::LEASE;
use crate::error::CoreError;
use crate::ports::{ControlStore, ExportService, Ledger};
use crate::service::{expected, Service};

/// How long before its intent an export the service made for it may have
/// started (clocks differ).
const FIND_SLACK: i64 = 300;

impl<C: ControlStore, L: Ledger, X: ExportService, B> Service<C, L, X, B> {
    pub async fn start(&self, input: StartInput) -> Result<StartOutput, CoreError> {
        let StartOrder {
            ctx,
            export: wanted,
            ledger_version,
            blocks_behind,
        } = input.into_order();
        let now = self.now();
        let before = self.head().await?;
        let head = match before.begin(ledger_version, wanted.clone(), now) {
            Ok(Some(next)) => {
                if !self.ledger.put_head(&next, expected(&before)).await? {
                    return Ok(lost_race(ctx, "another execution changed the ledger first"));
                }
                next
            }
            // Exactly this export is already recorded (a retry or a resume).
            Ok(None) => before.clone(),
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
        let Some(flight) = head.in_flight.clone() else {
            return Ok(lost_race(ctx, "the intent is no longer in flight"));
        };
        let intent = flight.intent;
        let arn = match flight.export_arn {
            Some(arn) => arn,
            None => {
                let request = self.request(&intent);
                let found = if now - intent.started_at >= TOKEN_SAFE_AGE {
                    self.exports
                        .find(&request, intent.started_at - FIND_SLACK)
                        .await
                        .map_err(ExportError::into_fault)?
                } else {
                    None
                };
                match found {
                    Some(arn) => arn,
                    None => match self.exports.start(&request).await {
                        Ok(arn) => arn,
                        Err(e) => return self.refused(ctx, intent, e).await,
                    },
                }
            }
        };
        let wait = self.first_wait(intent.kind).await?;
        let latest = self.head().await?;
        let token = &intent.client_token;
        match latest.record_arn(token, &arn, &ctx.execution_id, now + wait + LEASE, now) {
            // A lost write here is harmless: the next reader asks again with
            // the same token and gets the same ARN.
            Ok(Some(next)) => {
                self.ledger.put_head(&next, expected(&latest)).await?;
            }
            Ok(None) => {}
            Err(_) => {
                return Ok(lost_race(
                    ctx,
                    "another execution recorded this export first",
                ))
            }
        }
        self.sync_mirrors(&head, Some(&before)).await;
        Ok(StartOutput::Started(Watch {
            wait_seconds: wait,
            blocks_behind: Some(blocks_behind),
            export: Tracked {
                intent,
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
            from_ms: intent.from_ms,
            client_token: intent.client_token.clone(),
            bucket: cfg.bucket.clone(),
            prefix: cfg.prefix.clone(),
            format: cfg.format.as_str().to_string(),
            view_type: cfg.view_type.as_str().to_string(),
            kms_key: cfg.export_kms_key.clone(),
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
        let earliest = if needs_earliest(&error) {
            match self.exports.backups().await {
                Ok(Pitr::Enabled { earliest, .. }) => Some(earliest),
                _ => None,
            }
        } else {
            None
        };
        let token = &intent.client_token;
        tracing::warn!(%error, "export refused");
        let head = self.head().await?;
        match refusal(&intent, &error, earliest) {
            Refusal::Fault => Err(error.into_fault()),
            Refusal::FailAttempt { code } => {
                let Ok((next, entry)) = head.fail(token, code, &error.to_string(), now) else {
                    return Ok(lost_race(ctx, "another execution changed the intent first"));
                };
                if !self
                    .ledger
                    .put_head_with_entry(&next, expected(&head), &entry)
                    .await?
                {
                    return Ok(lost_race(ctx, "another execution changed the ledger first"));
                }
                self.sync_mirrors(&next, Some(&head)).await;
                // The failed attempt is announced like any catalog entry.
                Ok(StartOutput::Deferred(quiet(
                    ctx,
                    format!("{code}: attempt recorded as failed; the next run asks anew ({error})"),
                )))
            }
            Refusal::Defer { code } => {
                let Ok(next) = head.abandon(token, now) else {
                    return Ok(lost_race(ctx, "another execution changed the intent first"));
                };
                if !self.ledger.put_head(&next, expected(&head)).await? {
                    return Ok(lost_race(ctx, "another execution changed the ledger first"));
                }
                Ok(StartOutput::Deferred(quiet(
                    ctx,
                    format!("{code}: the service refused the window for now; the next run asks again ({error})"),
                )))
            }
            Refusal::Operator {
                reason,
                mark_pitr_gap,
            } => {
                let Ok(mut next) = head.abandon(token, now) else {
                    return Ok(lost_race(ctx, "another execution changed the intent first"));
                };
                if mark_pitr_gap {
                    next = next.mark_pitr_gap(next.version, now)?.unwrap_or(next);
                }
                if self.ledger.put_head(&next, expected(&head)).await? {
                    self.sync_mirrors(&next, Some(&head)).await;
                }
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

fn lost_race(ctx: RunContext, why: impl Into<String>) -> StartOutput {
    StartOutput::LostRace(quiet(ctx, why))
}
