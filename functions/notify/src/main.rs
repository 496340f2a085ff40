//! notify: announces how a run ended (marking the ledger entry announced),
//! what a run before left pending, a notice for the operator, or a fault;
//! and starts the next run at once when more is exportable. The logic is
//! `Announcer::notify` in `incx-core`; this binary wires the SNS, DynamoDB
//! and Step Functions adapters to it. Only the topic must be configured:
//! with anything else wrong it still publishes, so a configuration error
//! reaches the operator.

use incx_aws::configured::Configured;
use incx_aws::ledger::DynamoLedger;
use incx_aws::sfn::StepFunctionsRuns;
use incx_aws::sns::SnsNotifier;
use incx_aws::{runtime, sdk};
use incx_core::config::NoticeConfig;
use incx_core::contract::NotifyInput;
use incx_core::usecases::notify::Announcer;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let build = async {
        let sdk = sdk::sdk_config().await;
        let config = NoticeConfig::from_env();
        let ledger = config
            .alias
            .clone()
            .and_then(|alias| DynamoLedger::from_env(&sdk, &alias));
        Ok(Announcer {
            notifier: SnsNotifier::from_env(&sdk)?,
            ledger: Configured(ledger),
            runs: Configured(StepFunctionsRuns::from_env(&sdk)),
            config,
        })
    };
    runtime::serve(
        "notify",
        build,
        |announcer, input: NotifyInput| async move { announcer.notify(input).await },
        incx_core::metrics::of_notify,
    )
    .await
}
