//! The operator's control and the original's read-only mirrors, as SSM
//! parameters under `/incremental-export/<alias>/`.

use crate::sdk::{describe, is_throttling, SdkError};
use aws_sdk_ssm::types::ParameterType;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use incx_core::domain::control::{Control, WorkflowAction};
use incx_core::domain::mirrors::Mirrors;
use incx_core::domain::timefmt::rfc3339;
use incx_core::error::CoreError;
use incx_core::ports::ControlStore;
use std::error::Error;
use std::fmt::Debug;

const ACTION: &str = "workflow-action";
const FULL_EXPORT_TIME: &str = "full-export-time";
const LAST_INCREMENTAL: &str = "last-incremental-export-time";
const INITIATED: &str = "workflow-initiated";
const STATE: &str = "workflow-state";

#[derive(Debug)]
pub struct SsmControlStore {
    pub client: aws_sdk_ssm::Client,
    pub alias: String,
}

impl SsmControlStore {
    /// The store of `alias`'s parameters, on the shared SDK configuration.
    pub fn from_sdk(sdk: &aws_config::SdkConfig, alias: &str) -> Self {
        Self::new(aws_sdk_ssm::Client::new(sdk), alias)
    }

    pub fn new(client: aws_sdk_ssm::Client, alias: impl Into<String>) -> Self {
        Self {
            client,
            alias: alias.into(),
        }
    }

    fn name(&self, leaf: &str) -> String {
        format!("/incremental-export/{}/{leaf}", self.alias)
    }

    async fn put(&self, leaf: &str, value: &str) -> Result<(), CoreError> {
        self.client
            .put_parameter()
            .name(self.name(leaf))
            .value(value)
            .r#type(ParameterType::String)
            .overwrite(true)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| {
                let busy = e
                    .as_service_error()
                    .is_some_and(|s| s.is_too_many_updates());
                fault(&e, &self.name(leaf), busy)
            })
    }

    async fn delete(&self, leaf: &str) -> Result<(), CoreError> {
        match self
            .client
            .delete_parameter()
            .name(self.name(leaf))
            .send()
            .await
        {
            Ok(_) => Ok(()),
            // Already absent is what we wanted.
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_parameter_not_found()) =>
            {
                Ok(())
            }
            Err(e) => Err(fault(&e, &self.name(leaf), false)),
        }
    }
}

/// `busy`: the operation's modeled TooManyUpdates, which needs no code to be
/// recognised.
fn fault<E, R>(err: &SdkError<E, R>, name: &str, busy: bool) -> CoreError
where
    E: ProvideErrorMetadata + Error + 'static,
    R: Debug,
{
    let (code, detail) = describe(err);
    let detail = format!("{name}: {detail}");
    if busy || is_throttling(code.as_deref()) {
        CoreError::throttled("ssm", detail)
    } else {
        CoreError::service("ssm", detail)
    }
}

/// Whether a mirror must be written: always on the first write, else on change.
fn changed<T: PartialEq>(before: Option<&Mirrors>, now: &T, get: impl Fn(&Mirrors) -> &T) -> bool {
    before.is_none_or(|b| get(b) != now)
}

impl ControlStore for SsmControlStore {
    async fn read_action(&self) -> Result<Control, CoreError> {
        let name = self.name(ACTION);
        match self.client.get_parameter().name(&name).send().await {
            Ok(out) => {
                let p = out.parameter();
                Ok(Control {
                    value: p.and_then(|p| p.value()).map(str::to_owned),
                    version: p.map(|p| p.version()),
                })
            }
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_parameter_not_found()) =>
            {
                Ok(Control::default())
            }
            Err(e) => Err(fault(&e, &name, false)),
        }
    }

    async fn set_action(&self, action: WorkflowAction) -> Result<(), CoreError> {
        self.put(ACTION, action.as_str()).await
    }

    async fn write_mirrors(&self, m: &Mirrors, before: Option<&Mirrors>) -> Result<(), CoreError> {
        if let Some(t) = m.full_export_time {
            if changed(before, &m.full_export_time, |b| &b.full_export_time) {
                self.put(FULL_EXPORT_TIME, &rfc3339(t)).await?;
            }
        }
        if changed(before, &m.last_incremental_export_time, |b| {
            &b.last_incremental_export_time
        }) {
            match m.last_incremental_export_time {
                Some(t) => self.put(LAST_INCREMENTAL, &rfc3339(t)).await?,
                None => self.delete(LAST_INCREMENTAL).await?,
            }
        }
        if let Some(v) = m.workflow_initiated {
            if changed(before, &m.workflow_initiated, |b| &b.workflow_initiated) {
                self.put(INITIATED, v).await?;
            }
        }
        if changed(before, &m.workflow_state, |b| &b.workflow_state) {
            self.put(STATE, m.workflow_state.as_str()).await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sdk::{meta, mock_sdk};
    use aws_sdk_ssm::operation::delete_parameter::{DeleteParameterError, DeleteParameterOutput};
    use aws_sdk_ssm::operation::get_parameter::{GetParameterError, GetParameterOutput};
    use aws_sdk_ssm::operation::put_parameter::{PutParameterError, PutParameterOutput};
    use aws_sdk_ssm::types::error::{ParameterNotFound, TooManyUpdates};
    use aws_sdk_ssm::types::Parameter;
    use aws_sdk_ssm::Client;
    use aws_smithy_mocks::{mock, RuleMode};
    use incx_core::domain::ledger::WorkflowState;

    fn put_ok(name: &'static str, value: &'static str) -> aws_smithy_mocks::Rule {
        mock!(Client::put_parameter)
            .match_requests(move |r| {
                r.name() == Some(name)
                    && r.value() == Some(value)
                    && r.overwrite() == Some(true)
                    && r.r#type() == Some(&ParameterType::String)
            })
            .then_output(|| PutParameterOutput::builder().version(2).build())
    }

    #[tokio::test]
    async fn reads_value_and_modification_time() {
        let rule = mock!(Client::get_parameter)
            .match_requests(|r| r.name() == Some("/incremental-export/o1/workflow-action"))
            .then_output(|| {
                GetParameterOutput::builder()
                    .parameter(Parameter::builder().value("PAUSE").version(7).build())
                    .build()
            });
        let store =
            SsmControlStore::new(mock_sdk!(aws_sdk_ssm, RuleMode::Sequential, [&rule]), "o1");
        let c = store.read_action().await.unwrap();
        assert_eq!(c.value.as_deref(), Some("PAUSE"));
        assert_eq!(c.version, Some(7));
    }

    #[tokio::test]
    async fn missing_action_reads_as_none() {
        let rule = mock!(Client::get_parameter).then_error(|| {
            GetParameterError::ParameterNotFound(ParameterNotFound::builder().build())
        });
        let store =
            SsmControlStore::new(mock_sdk!(aws_sdk_ssm, RuleMode::Sequential, [&rule]), "o1");
        assert_eq!(
            store.read_action().await.unwrap(),
            Control {
                value: None,
                version: None
            }
        );
    }

    #[tokio::test]
    async fn throttling_and_other_errors_are_told_apart() {
        let throttled = mock!(Client::get_parameter).then_error(|| {
            GetParameterError::generic(meta("ThrottlingException", "Rate exceeded"))
        });
        let denied = mock!(Client::put_parameter).then_error(|| {
            PutParameterError::generic(meta("AccessDeniedException", "not allowed"))
        });
        let busy = mock!(Client::put_parameter)
            .then_error(|| PutParameterError::TooManyUpdates(TooManyUpdates::builder().build()));
        let client = mock_sdk!(
            aws_sdk_ssm,
            RuleMode::Sequential,
            [&throttled, &denied, &busy]
        );
        let store = SsmControlStore::new(client, "o1");
        let e = store.read_action().await.unwrap_err();
        assert_eq!(e.error_type(), "Throttled", "{e}");
        let e = store.set_action(WorkflowAction::Run).await.unwrap_err();
        assert_eq!(e.error_type(), "ServiceFault");
        let text = e.to_string();
        assert!(
            text.contains("AccessDeniedException: not allowed") && text.contains("workflow-action"),
            "{text}"
        );
        let e = store.set_action(WorkflowAction::Run).await.unwrap_err();
        assert_eq!(e.error_type(), "Throttled", "{e}");
    }

    #[tokio::test]
    async fn set_action_overwrites_a_string() {
        let rule = put_ok(
            "/incremental-export/o1/workflow-action",
            "RESET_WITH_FULL_EXPORT_AGAIN",
        );
        let store =
            SsmControlStore::new(mock_sdk!(aws_sdk_ssm, RuleMode::Sequential, [&rule]), "o1");
        store
            .set_action(WorkflowAction::ResetWithFullExportAgain)
            .await
            .unwrap();
        assert_eq!(rule.num_calls(), 1);
    }

    #[tokio::test]
    async fn first_write_sets_every_known_mirror() {
        let rules = [
            put_ok(
                "/incremental-export/o1/full-export-time",
                "2023-11-14T22:15:00Z",
            ),
            put_ok(
                "/incremental-export/o1/last-incremental-export-time",
                "2023-11-14T22:30:00Z",
            ),
            put_ok("/incremental-export/o1/workflow-initiated", "true"),
            put_ok("/incremental-export/o1/workflow-state", "NORMAL"),
        ];
        let [a, b, c, d] = &rules;
        let store = SsmControlStore::new(
            mock_sdk!(aws_sdk_ssm, RuleMode::Sequential, [a, b, c, d]),
            "o1",
        );
        let m = Mirrors {
            full_export_time: Some(1_700_000_100),
            last_incremental_export_time: Some(1_700_001_000),
            workflow_initiated: Some("true"),
            workflow_state: WorkflowState::Normal,
        };
        store.write_mirrors(&m, None).await.unwrap();
        assert!(rules.iter().all(|r| r.num_calls() == 1));
    }

    #[tokio::test]
    async fn writes_only_changes_and_deletes_a_cleared_time() {
        let delete = mock!(Client::delete_parameter)
            .match_requests(|r| {
                r.name() == Some("/incremental-export/o1/last-incremental-export-time")
            })
            .then_error(|| {
                DeleteParameterError::ParameterNotFound(ParameterNotFound::builder().build())
            });
        let state = put_ok("/incremental-export/o1/workflow-state", "PITR_GAP");
        // Sequential mode panics on any call beyond these two.
        let store = SsmControlStore::new(
            mock_sdk!(aws_sdk_ssm, RuleMode::Sequential, [&delete, &state]),
            "o1",
        );
        let before = Mirrors {
            full_export_time: Some(1),
            last_incremental_export_time: Some(2),
            workflow_initiated: Some("true"),
            workflow_state: WorkflowState::Normal,
        };
        let now = Mirrors {
            last_incremental_export_time: None,
            workflow_state: WorkflowState::PitrGap,
            ..before.clone()
        };
        store.write_mirrors(&now, Some(&before)).await.unwrap();
        assert_eq!((delete.num_calls(), state.num_calls()), (1, 1));
    }

    #[tokio::test]
    async fn unset_times_and_initiated_are_left_alone() {
        let delete = mock!(Client::delete_parameter)
            .then_output(|| DeleteParameterOutput::builder().build());
        let state = put_ok("/incremental-export/o1/workflow-state", "NORMAL");
        let store = SsmControlStore::new(
            mock_sdk!(aws_sdk_ssm, RuleMode::Sequential, [&delete, &state]),
            "o1",
        );
        store
            .write_mirrors(&Mirrors::default(), None)
            .await
            .unwrap();
        assert_eq!((delete.num_calls(), state.num_calls()), (1, 1));
    }
}
