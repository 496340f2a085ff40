//! The operator's control and the original's read-only mirrors, as SSM
//! parameters under `/incremental-export/<alias>/`.
//!
//! SSM has no conditional put. A conditional set of the control is a put
//! whose returned version tells whether anyone wrote in between (every put
//! takes the next version); if someone did, their value is put back from
//! the parameter's history, so an operator's value is never lost.

use crate::sdk::{describe, is_throttling, SdkError};
use aws_sdk_ssm::types::{Parameter, ParameterType};
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use incx_core::domain::control::{Control, WorkflowAction};
use incx_core::domain::mirrors::NAMES;
use incx_core::error::CoreError;
use incx_core::ports::ControlStore;
use std::collections::BTreeMap;
use std::error::Error;
use std::fmt::Debug;

const ACTION: &str = "workflow-action";
/// Rounds of putting an overwritten value back before giving up (each round
/// loses only to yet another write made in the same moment).
const RESTORE_ROUNDS: usize = 3;

#[derive(Debug)]
pub struct SsmControlStore {
    pub client: aws_sdk_ssm::Client,
    pub alias: String,
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

/// The control as a parameter holds it.
fn control_of(p: &Parameter) -> Control {
    Control {
        value: p.value().map(str::to_owned),
        version: Some(p.version()),
        modified: p.last_modified_date().and_then(|d| d.to_millis().ok()),
    }
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

    /// Puts a String (overwriting); the version it got.
    async fn put(&self, leaf: &str, value: &str) -> Result<i64, CoreError> {
        self.client
            .put_parameter()
            .name(self.name(leaf))
            .value(value)
            .r#type(ParameterType::String)
            .overwrite(true)
            .send()
            .await
            .map(|out| out.version())
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

    /// The control's value at `version`, from the parameter's history.
    async fn value_at(&self, version: i64) -> Result<Option<String>, CoreError> {
        let name = self.name(ACTION);
        let mut pages = self
            .client
            .get_parameter_history()
            .name(&name)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| fault(&e, &name, false))?;
            if let Some(p) = page.parameters().iter().find(|p| p.version() == version) {
                return Ok(p.value().map(str::to_owned));
            }
        }
        Ok(None)
    }
}

impl ControlStore for SsmControlStore {
    async fn read_action(&self) -> Result<Control, CoreError> {
        let name = self.name(ACTION);
        match self.client.get_parameter().name(&name).send().await {
            Ok(out) => Ok(out.parameter().map(control_of).unwrap_or_default()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_parameter_not_found()) =>
            {
                Ok(Control::default())
            }
            Err(e) => Err(fault(&e, &name, false)),
        }
    }

    async fn create_action(&self, action: WorkflowAction) -> Result<Control, CoreError> {
        let name = self.name(ACTION);
        let created = self
            .client
            .put_parameter()
            .name(&name)
            .value(action.as_str())
            .r#type(ParameterType::String)
            .overwrite(false)
            .send()
            .await;
        match created {
            Ok(_) => {}
            // Someone made it first: theirs stands.
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_parameter_already_exists()) => {}
            Err(e) => {
                let busy = e
                    .as_service_error()
                    .is_some_and(|s| s.is_too_many_updates());
                return Err(fault(&e, &name, busy));
            }
        }
        self.read_action().await
    }

    async fn set_action_if(
        &self,
        action: WorkflowAction,
        expected: &Control,
    ) -> Result<bool, CoreError> {
        let Some(read) = expected.version else {
            return Ok(false);
        };
        let mut ours = self.put(ACTION, action.as_str()).await?;
        if ours == read + 1 {
            return Ok(true);
        }
        // Someone wrote between our read and our put, and our put overwrote
        // the last of those writes: put it back.
        for _ in 0..RESTORE_ROUNDS {
            let Some(theirs) = self.value_at(ours - 1).await? else {
                break;
            };
            tracing::warn!(
                version = ours - 1,
                value = %theirs,
                "the control changed while it was being set back to RUN; the operator's value is restored"
            );
            let restored = self.put(ACTION, &theirs).await?;
            if restored == ours + 1 {
                return Ok(false);
            }
            ours = restored;
        }
        Err(CoreError::service(
            "ssm",
            format!(
                "{}: the control keeps changing while it is set; left as it is",
                self.name(ACTION)
            ),
        ))
    }

    async fn read_mirrors(&self) -> Result<BTreeMap<String, String>, CoreError> {
        let names: Vec<String> = NAMES.iter().map(|n| self.name(n)).collect();
        let out = self
            .client
            .get_parameters()
            .set_names(Some(names))
            .send()
            .await
            .map_err(|e| fault(&e, &self.name("*"), false))?;
        let prefix = self.name("");
        Ok(out
            .parameters()
            .iter()
            .filter_map(|p| {
                let leaf = p.name()?.strip_prefix(&prefix)?;
                Some((leaf.to_string(), p.value()?.to_string()))
            })
            .collect())
    }

    async fn write_mirror(&self, name: &str, value: Option<&str>) -> Result<(), CoreError> {
        match value {
            Some(v) => self.put(name, v).await.map(|_| ()),
            None => self.delete(name).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sdk::{meta, mock_sdk};
    use aws_sdk_ssm::operation::delete_parameter::DeleteParameterError;
    use aws_sdk_ssm::operation::get_parameter::{GetParameterError, GetParameterOutput};
    use aws_sdk_ssm::operation::get_parameter_history::GetParameterHistoryOutput;
    use aws_sdk_ssm::operation::get_parameters::GetParametersOutput;
    use aws_sdk_ssm::operation::put_parameter::{PutParameterError, PutParameterOutput};
    use aws_sdk_ssm::types::error::{ParameterAlreadyExists, ParameterNotFound, TooManyUpdates};
    use aws_sdk_ssm::types::ParameterHistory;
    use aws_sdk_ssm::Client;
    use aws_smithy_mocks::{mock, RuleMode};
    use aws_smithy_types::DateTime;

    const ACTION_NAME: &str = "/incremental-export/o1/workflow-action";

    fn put(name: &'static str, value: &'static str, version: i64) -> aws_smithy_mocks::Rule {
        mock!(Client::put_parameter)
            .match_requests(move |r| {
                r.name() == Some(name)
                    && r.value() == Some(value)
                    && r.r#type() == Some(&ParameterType::String)
            })
            .then_output(move || PutParameterOutput::builder().version(version).build())
    }

    fn get(value: &'static str, version: i64) -> aws_smithy_mocks::Rule {
        mock!(Client::get_parameter)
            .match_requests(|r| r.name() == Some(ACTION_NAME))
            .then_output(move || {
                GetParameterOutput::builder()
                    .parameter(
                        Parameter::builder()
                            .value(value)
                            .version(version)
                            .last_modified_date(DateTime::from_millis(1_700_000_000_123))
                            .build(),
                    )
                    .build()
            })
    }

    fn store(rules: &[&aws_smithy_mocks::Rule]) -> SsmControlStore {
        SsmControlStore::new(
            mock_sdk!(aws_sdk_ssm, RuleMode::Sequential, rules.iter().copied()),
            "o1",
        )
    }

    #[tokio::test]
    async fn reads_value_version_and_modification_time() {
        let rule = get("PAUSE", 7);
        let c = store(&[&rule]).read_action().await.unwrap();
        assert_eq!(
            c,
            Control {
                value: Some("PAUSE".into()),
                version: Some(7),
                modified: Some(1_700_000_000_123),
            }
        );
    }

    #[tokio::test]
    async fn missing_action_reads_as_none() {
        let rule = mock!(Client::get_parameter).then_error(|| {
            GetParameterError::ParameterNotFound(ParameterNotFound::builder().build())
        });
        assert_eq!(
            store(&[&rule]).read_action().await.unwrap(),
            Control::default()
        );
    }

    #[tokio::test]
    async fn a_missing_control_is_created_without_overwriting_one_made_first() {
        let created = mock!(Client::put_parameter)
            .match_requests(|r| r.name() == Some(ACTION_NAME) && r.overwrite() == Some(false))
            .then_output(|| PutParameterOutput::builder().version(1).build());
        let read = get("RUN", 1);
        let c = store(&[&created, &read])
            .create_action(WorkflowAction::Run)
            .await
            .unwrap();
        assert_eq!(c.value.as_deref(), Some("RUN"));
        let exists = mock!(Client::put_parameter).then_error(|| {
            PutParameterError::ParameterAlreadyExists(ParameterAlreadyExists::builder().build())
        });
        let theirs = get("PAUSE", 1);
        let c = store(&[&exists, &theirs])
            .create_action(WorkflowAction::Run)
            .await
            .unwrap();
        assert_eq!(c.value.as_deref(), Some("PAUSE"));
    }

    #[tokio::test]
    async fn a_conditional_set_that_nobody_raced_is_done() {
        let rule = put(ACTION_NAME, "RUN", 5);
        let expected = Control {
            value: Some("RESET_WITH_FULL_EXPORT_AGAIN".into()),
            version: Some(4),
            modified: None,
        };
        assert!(store(&[&rule])
            .set_action_if(WorkflowAction::Run, &expected)
            .await
            .unwrap());
    }

    #[tokio::test]
    async fn an_operators_write_in_between_is_put_back() {
        // We read version 4 (RESET); the operator put PAUSE (5); our RUN
        // became 6 and overwrote it: PAUSE goes back as 7.
        let ours = put(ACTION_NAME, "RUN", 6);
        let history = mock!(Client::get_parameter_history).then_output(|| {
            GetParameterHistoryOutput::builder()
                .parameters(
                    ParameterHistory::builder()
                        .version(4)
                        .value("RESET_WITH_FULL_EXPORT_AGAIN")
                        .build(),
                )
                .parameters(
                    ParameterHistory::builder()
                        .version(5)
                        .value("PAUSE")
                        .build(),
                )
                .parameters(ParameterHistory::builder().version(6).value("RUN").build())
                .build()
        });
        let restore = put(ACTION_NAME, "PAUSE", 7);
        let expected = Control {
            value: Some("RESET_WITH_FULL_EXPORT_AGAIN".into()),
            version: Some(4),
            modified: None,
        };
        let s = store(&[&ours, &history, &restore]);
        assert!(!s
            .set_action_if(WorkflowAction::Run, &expected)
            .await
            .unwrap());
        assert_eq!(restore.num_calls(), 1);
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
        let s = store(&[&throttled, &denied, &busy]);
        let e = s.read_action().await.unwrap_err();
        assert_eq!(e.error_type(), "Throttled", "{e}");
        let e = s
            .write_mirror("workflow-state", Some("NORMAL"))
            .await
            .unwrap_err();
        assert_eq!(e.error_type(), "ServiceFault");
        let text = e.to_string();
        assert!(
            text.contains("AccessDeniedException: not allowed") && text.contains("workflow-state"),
            "{text}"
        );
        let e = s
            .write_mirror("workflow-state", Some("NORMAL"))
            .await
            .unwrap_err();
        assert_eq!(e.error_type(), "Throttled", "{e}");
    }

    #[tokio::test]
    async fn mirrors_are_read_in_one_call_and_written_or_deleted_one_by_one() {
        let read = mock!(Client::get_parameters)
            .match_requests(|r| r.names().len() == 4)
            .then_output(|| {
                GetParametersOutput::builder()
                    .parameters(
                        Parameter::builder()
                            .name("/incremental-export/o1/workflow-state")
                            .value("PITR_GAP")
                            .build(),
                    )
                    .invalid_parameters("/incremental-export/o1/full-export-time")
                    .build()
            });
        let write = put("/incremental-export/o1/workflow-state", "NORMAL", 3);
        let delete = mock!(Client::delete_parameter)
            .match_requests(|r| {
                r.name() == Some("/incremental-export/o1/last-incremental-export-time")
            })
            .then_error(|| {
                DeleteParameterError::ParameterNotFound(ParameterNotFound::builder().build())
            });
        let s = store(&[&read, &write, &delete]);
        let current = s.read_mirrors().await.unwrap();
        assert_eq!(
            current,
            BTreeMap::from([("workflow-state".to_string(), "PITR_GAP".to_string())])
        );
        s.write_mirror("workflow-state", Some("NORMAL"))
            .await
            .unwrap();
        s.write_mirror("last-incremental-export-time", None)
            .await
            .unwrap();
        assert_eq!((write.num_calls(), delete.num_calls()), (1, 1));
    }
}
