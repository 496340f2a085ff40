//! The workflow itself (Step Functions): notify starts the next run at once
//! when more is exportable than one run exported.

use crate::sdk::{describe, is_throttling};
use incx_core::error::CoreError;
use incx_core::ports::Runs;

#[derive(Debug)]
pub struct StepFunctionsRuns {
    pub client: aws_sdk_sfn::Client,
    pub state_machine_arn: String,
}

impl StepFunctionsRuns {
    /// The state machine named by `STATE_MACHINE_ARN`, on the shared SDK
    /// configuration.
    pub fn from_env(sdk: &aws_config::SdkConfig) -> Result<Self, incx_core::config::ConfigError> {
        let arn = incx_core::config::Env::new(|k| std::env::var(k).ok())
            .text(incx_core::config::vars::STATE_MACHINE_ARN)?;
        Ok(Self::new(aws_sdk_sfn::Client::new(sdk), arn))
    }

    pub fn new(client: aws_sdk_sfn::Client, state_machine_arn: impl Into<String>) -> Self {
        Self {
            client,
            state_machine_arn: state_machine_arn.into(),
        }
    }
}

impl Runs for StepFunctionsRuns {
    async fn start_run(&self, name: &str, input: &serde_json::Value) -> Result<(), CoreError> {
        let result = self
            .client
            .start_execution()
            .state_machine_arn(&self.state_machine_arn)
            .name(name)
            .input(input.to_string())
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            // The same name, started before (a retried call): it runs once.
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_execution_already_exists()) =>
            {
                Ok(())
            }
            Err(e) => {
                let (code, detail) = describe(&e);
                let detail = format!("start {name} of {}: {detail}", self.state_machine_arn);
                Err(if is_throttling(code.as_deref()) {
                    CoreError::throttled("states", detail)
                } else {
                    CoreError::service("states", detail)
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sdk::{meta, mock_sdk};
    use aws_sdk_sfn::operation::start_execution::{StartExecutionError, StartExecutionOutput};
    use aws_sdk_sfn::types::error::ExecutionAlreadyExists;
    use aws_sdk_sfn::Client;
    use aws_smithy_mocks::{mock, RuleMode};
    use aws_smithy_types::DateTime;

    const MACHINE: &str = "arn:aws:states:us-east-1:1:stateMachine:o1-incremental-export";

    #[tokio::test]
    async fn starts_a_named_run_once() {
        let started = mock!(Client::start_execution)
            .match_requests(|r| {
                r.state_machine_arn() == Some(MACHINE)
                    && r.name() == Some("drain-c1-900")
                    && r.input() == Some(r#"{"drain":true}"#)
            })
            .then_output(|| {
                StartExecutionOutput::builder()
                    .execution_arn("arn:x")
                    .start_date(DateTime::from_secs(0))
                    .build()
                    .unwrap()
            });
        let again = mock!(Client::start_execution).then_error(|| {
            StartExecutionError::ExecutionAlreadyExists(ExecutionAlreadyExists::builder().build())
        });
        let throttled = mock!(Client::start_execution)
            .then_error(|| StartExecutionError::generic(meta("ThrottlingException", "slow down")));
        let runs = StepFunctionsRuns::new(
            mock_sdk!(
                aws_sdk_sfn,
                RuleMode::Sequential,
                [&started, &again, &throttled]
            ),
            MACHINE,
        );
        let input = serde_json::json!({"drain": true});
        runs.start_run("drain-c1-900", &input).await.unwrap();
        runs.start_run("drain-c1-900", &input).await.unwrap();
        let e = runs.start_run("drain-c1-900", &input).await.unwrap_err();
        assert_eq!(e.error_type(), "Throttled", "{e}");
    }
}
