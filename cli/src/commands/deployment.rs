//! What the operator commands (`status`, `pause`, `resume`, `reset`, `run`,
//! `chain`) share: the deployment an alias names (its ledger table, control
//! parameter and state machine, named as the stack names them), its ledger
//! head and catalog, and its control.

use incx_aws::ledger::DynamoLedger;
use incx_aws::ssm::SsmControlStore;
use incx_core::domain::control::{Control, WorkflowAction};
use incx_core::domain::ledger::{CatalogEntry, Head};
use incx_core::domain::Epoch;
use incx_core::ports::{Clock as _, ControlStore, Ledger};

use super::{AwsArgs, Failure};

/// The deployment an operator command acts on.
#[derive(Debug, Clone, clap::Args)]
pub struct DeploymentArgs {
    /// The deployment alias (the stack's DeploymentAlias parameter).
    #[arg(long, value_parser = parse_alias)]
    pub alias: String,
    #[command(flatten)]
    pub aws: AwsArgs,
}

/// The same rule as the functions' configuration: 1 to 15 lowercase
/// letters or digits. Checked here so that a typo is told as such rather
/// than as a missing table.
fn parse_alias(raw: &str) -> Result<String, String> {
    let ok = (1..=15).contains(&raw.len())
        && raw
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    if ok {
        Ok(raw.to_string())
    } else {
        Err("an alias is 1 to 15 lowercase letters or digits".into())
    }
}

/// The ledger table of deployment `alias`.
pub fn ledger_table(alias: &str) -> String {
    format!("{alias}-incremental-export-ledger")
}

/// The control parameter of deployment `alias`.
pub fn control_name(alias: &str) -> String {
    format!("/incremental-export/{alias}/workflow-action")
}

/// The state machine of deployment `alias`.
pub fn state_machine_name(alias: &str) -> String {
    format!("{alias}-incremental-export")
}

/// Now, in epoch seconds: the functions' clock, so that a local run's
/// virtual time (a local build only) is the operator's too.
pub fn now() -> Epoch {
    incx_aws::clock::clock().now()
}

/// A deployment's clients.
#[derive(Debug, Clone)]
pub struct Deployment {
    pub alias: String,
    pub sdk: aws_config::SdkConfig,
}

impl Deployment {
    pub async fn open(args: &DeploymentArgs) -> Self {
        Self {
            alias: args.alias.clone(),
            sdk: args.aws.sdk().await,
        }
    }

    fn ledger(&self) -> DynamoLedger {
        DynamoLedger::new(
            aws_sdk_dynamodb::Client::new(&self.sdk),
            ledger_table(&self.alias),
            self.alias.clone(),
        )
    }

    pub fn ssm(&self) -> aws_sdk_ssm::Client {
        aws_sdk_ssm::Client::new(&self.sdk)
    }

    pub fn sfn(&self) -> aws_sdk_sfn::Client {
        aws_sdk_sfn::Client::new(&self.sdk)
    }

    pub fn scheduler(&self) -> aws_sdk_scheduler::Client {
        aws_sdk_scheduler::Client::new(&self.sdk)
    }

    /// The ledger head; `None` when the workflow never ran.
    pub async fn head(&self) -> Result<Option<Head>, Failure> {
        read_head(&self.ledger()).await
    }

    /// The newest `n` catalog entries, newest first.
    pub async fn recent(&self, n: usize) -> Result<Vec<CatalogEntry>, Failure> {
        let ledger = self.ledger();
        ledger
            .recent(n)
            .await
            .map_err(|e| Failure::Error(format!("reading ledger table {}: {e}", ledger.table)))
    }

    /// The whole catalog.
    pub async fn catalog(&self) -> Result<Vec<CatalogEntry>, Failure> {
        let ledger = self.ledger();
        ledger
            .catalog()
            .await
            .map_err(|e| Failure::Error(format!("reading ledger table {}: {e}", ledger.table)))
    }

    /// The control as stored.
    pub async fn control(&self) -> Result<Control, Failure> {
        SsmControlStore::new(self.ssm(), self.alias.clone())
            .read_action()
            .await
            .map_err(|e| Failure::Error(format!("reading {}: {e}", control_name(&self.alias))))
    }
}

/// The head of `ledger`, with the table named in the error.
pub async fn read_head(ledger: &DynamoLedger) -> Result<Option<Head>, Failure> {
    ledger
        .head()
        .await
        .map_err(|e| Failure::Error(format!("reading ledger table {}: {e}", ledger.table)))
}

/// Puts the control of `alias` to `action`, overwriting whatever it was:
/// the operator's word is the last. The version SSM gave it.
pub async fn put_control(
    client: &aws_sdk_ssm::Client,
    alias: &str,
    action: WorkflowAction,
) -> Result<i64, Failure> {
    let name = control_name(alias);
    client
        .put_parameter()
        .name(&name)
        .value(action.as_str())
        .r#type(aws_sdk_ssm::types::ParameterType::String)
        .overwrite(true)
        .send()
        .await
        .map(|out| out.version())
        .map_err(|e| {
            Failure::Error(format!(
                "setting {name} to {action}: {}",
                aws_sdk_ssm::error::DisplayErrorContext(&e)
            ))
        })
}

/// The ARN of the state machine named `name`, found by listing them.
pub async fn find_state_machine(
    client: &aws_sdk_sfn::Client,
    name: &str,
) -> Result<String, String> {
    let mut pages = client.list_state_machines().into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| {
            format!(
                "listing state machines: {}",
                aws_sdk_sfn::error::DisplayErrorContext(&e)
            )
        })?;
        if let Some(m) = page.state_machines().iter().find(|m| m.name() == name) {
            return Ok(m.state_machine_arn().to_string());
        }
    }
    Err(format!(
        "no state machine named {name} in this account and region (give --state-machine-arn)"
    ))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use aws_smithy_mocks::{mock, MockResponseInterceptor, RuleMode};

    /// A client of SDK `$sdk` answered by `$rules`, in order.
    macro_rules! mocked {
        ($sdk:ident, $rules:expr) => {{
            let mut interceptor = MockResponseInterceptor::new().rule_mode(RuleMode::Sequential);
            for rule in $rules {
                interceptor = interceptor.with_rule(rule);
            }
            $sdk::Client::from_conf(
                $sdk::Config::builder()
                    .behavior_version($sdk::config::BehaviorVersion::latest())
                    .region($sdk::config::Region::new("us-east-1"))
                    .credentials_provider($sdk::config::Credentials::new(
                        "AKID", "SECRET", None, None, "test",
                    ))
                    .retry_config($sdk::config::retry::RetryConfig::disabled())
                    .http_client(aws_smithy_mocks::create_mock_http_client())
                    .interceptor(interceptor)
                    .build(),
            )
        }};
    }
    pub(crate) use mocked;

    #[test]
    fn names_follow_the_stack_and_aliases_are_checked() {
        assert_eq!(ledger_table("o1"), "o1-incremental-export-ledger");
        assert_eq!(control_name("o1"), "/incremental-export/o1/workflow-action");
        assert_eq!(state_machine_name("o1"), "o1-incremental-export");
        assert!(parse_alias("o1").is_ok());
        for bad in ["", "O1", "a-b", "abcdefghijklmnop"] {
            assert!(parse_alias(bad).is_err(), "{bad}");
        }
    }

    #[tokio::test]
    async fn puts_the_control_overwriting() {
        use aws_sdk_ssm::operation::put_parameter::PutParameterOutput;
        let put = mock!(aws_sdk_ssm::Client::put_parameter)
            .match_requests(|r| {
                r.name() == Some("/incremental-export/o1/workflow-action")
                    && r.value() == Some("PAUSE")
                    && r.overwrite() == Some(true)
            })
            .then_output(|| PutParameterOutput::builder().version(7).build());
        let client = mocked!(aws_sdk_ssm, [&put]);
        let version = put_control(&client, "o1", WorkflowAction::Pause).await;
        assert!(matches!(version, Ok(7)), "{version:?}");
    }

    #[tokio::test]
    async fn finds_the_state_machine_by_name_across_pages() {
        use aws_sdk_sfn::operation::list_state_machines::ListStateMachinesOutput;
        use aws_sdk_sfn::primitives::DateTime;
        use aws_sdk_sfn::types::{StateMachineListItem, StateMachineType};
        fn page(name: &str, next: Option<&str>) -> ListStateMachinesOutput {
            let item = StateMachineListItem::builder()
                .name(name)
                .state_machine_arn(format!("arn:sm:{name}"))
                .r#type(StateMachineType::Standard)
                .creation_date(DateTime::from_secs(0))
                .build()
                .unwrap();
            ListStateMachinesOutput::builder()
                .state_machines(item)
                .set_next_token(next.map(str::to_string))
                .build()
                .unwrap()
        }
        let first = mock!(aws_sdk_sfn::Client::list_state_machines)
            .then_output(|| page("other", Some("n")));
        let second = mock!(aws_sdk_sfn::Client::list_state_machines)
            .match_requests(|r| r.next_token() == Some("n"))
            .then_output(|| page("o1-incremental-export", None));
        let client = mocked!(aws_sdk_sfn, [&first, &second]);
        assert_eq!(
            find_state_machine(&client, "o1-incremental-export").await,
            Ok("arn:sm:o1-incremental-export".to_string())
        );
        let only_other =
            mock!(aws_sdk_sfn::Client::list_state_machines).then_output(|| page("other", None));
        let client = mocked!(aws_sdk_sfn, [&only_other]);
        let err = find_state_machine(&client, "o1-incremental-export").await;
        assert!(err.is_err_and(|e| e.contains("--state-machine-arn")));
    }
}
