//! `incx run`: starts a run of the deployment's state machine now, with the
//! input `{}` of a manual run, instead of waiting for the schedule. The
//! state machine is the one given, or found by its name
//! `<alias>-incremental-export` (listing needs no account id, which reading
//! it from STS would).
//!
//! Exit code: 0 started, 2 not started.

use serde::Serialize;

use super::deployment::{find_state_machine, state_machine_name, Deployment, DeploymentArgs};
use super::{write_stdout, Failure};
use incx_core::domain::timefmt::rfc3339;

#[derive(Debug, clap::Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub deployment: DeploymentArgs,
    /// The state machine (default: found by the name <ALIAS>-incremental-export).
    #[arg(long)]
    pub state_machine_arn: Option<String>,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

/// A run started.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Started {
    pub execution_arn: String,
    pub start: String,
}

/// Starts a run of `arn` with the manual run's input.
pub async fn start(client: &aws_sdk_sfn::Client, arn: &str) -> Result<Started, Failure> {
    let out = client
        .start_execution()
        .state_machine_arn(arn)
        .input("{}")
        .send()
        .await
        .map_err(|e| {
            Failure::Error(format!(
                "starting a run of {arn}: {}",
                aws_sdk_sfn::error::DisplayErrorContext(&e)
            ))
        })?;
    Ok(Started {
        execution_arn: out.execution_arn().to_string(),
        start: rfc3339(out.start_date().secs()),
    })
}

pub async fn run(args: RunArgs) -> Result<(), Failure> {
    let deployment = Deployment::open(&args.deployment).await;
    let client = deployment.sfn();
    let arn = match args.state_machine_arn {
        Some(arn) => arn,
        None => find_state_machine(&client, &state_machine_name(&deployment.alias))
            .await
            .map_err(Failure::Error)?,
    };
    let started = start(&client, &arn).await?;
    let text = if args.json {
        format!("{}\n", serde_json::to_string(&started)?)
    } else {
        format!("started {} at {}\n", started.execution_arn, started.start)
    };
    write_stdout(&text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::deployment::tests::mocked;
    use aws_sdk_sfn::operation::start_execution::StartExecutionOutput;
    use aws_sdk_sfn::primitives::DateTime;
    use aws_smithy_mocks::{mock, MockResponseInterceptor, RuleMode};

    #[tokio::test]
    async fn starts_with_the_manual_input() {
        let started = mock!(aws_sdk_sfn::Client::start_execution)
            .match_requests(|r| r.state_machine_arn() == Some("arn:sm") && r.input() == Some("{}"))
            .then_output(|| {
                StartExecutionOutput::builder()
                    .execution_arn("arn:e:1")
                    .start_date(DateTime::from_secs(900))
                    .build()
                    .unwrap()
            });
        let client = mocked!(aws_sdk_sfn, [&started]);
        let s = start(&client, "arn:sm").await.unwrap();
        assert_eq!(s.execution_arn, "arn:e:1");
        assert_eq!(s.start, "1970-01-01T00:15:00Z");
    }
}
