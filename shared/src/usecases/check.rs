//! check-status: where the export stands, and how long to wait before the
//! next look.

use crate::contract::{CheckInput, CheckOutput, Completed, Failed, Failure, Watch};
use crate::domain::export::{ExportError, ExportStatus};
use crate::domain::poll;
use crate::error::CoreError;
use crate::ports::ExportService;
use crate::service::Service;

impl<C, L, X: ExportService, N> Service<C, L, X, N> {
    pub async fn check(&self, input: CheckInput) -> Result<CheckOutput, CoreError> {
        let watch = input.into_watch();
        let status = match self.exports.describe(&watch.export.export_arn).await {
            Ok(s) => s,
            // The service no longer knows it: count it as a failed attempt, so
            // the window is tried again rather than polled for ever.
            Err(ExportError::ExportNotFound(detail)) => ExportStatus::Failed {
                code: "ExportNotFound".into(),
                message: detail,
            },
            Err(e) => return Err(e.into_fault()),
        };
        let polls = watch.polls.unwrap_or(0) + 1;
        let Watch {
            ctx,
            export,
            wait_seconds,
            blocks_behind,
            ..
        } = watch;
        Ok(match status {
            ExportStatus::InProgress => {
                let min = self.config.poll_wait_seconds;
                CheckOutput::InProgress(Watch {
                    ctx,
                    export,
                    wait_seconds: poll::next_wait(wait_seconds, min),
                    blocks_behind,
                    polls: Some(polls),
                })
            }
            ExportStatus::Completed(result) => CheckOutput::Completed(Completed {
                ctx,
                export,
                result,
                polls,
                blocks_behind,
            }),
            ExportStatus::Failed { code, message } => CheckOutput::Failed(Failed {
                ctx,
                export,
                failure: Failure { code, message },
                polls,
                blocks_behind,
            }),
        })
    }
}
