//! decide-mode: what this run of the workflow should do (pause, wait, start,
//! resume, or ask an operator). The logic is `Service::decide` in
//! `incx-core`; this binary wires the SSM and DynamoDB adapters to it.

use incx_aws::export::DynamoExportService;
use incx_aws::ledger::DynamoLedger;
use incx_aws::s3::S3PublishedExports;
use incx_aws::ssm::SsmControlStore;
use incx_aws::{clock, emf, runtime, sdk};
use incx_core::contract::DecideInput;
use incx_core::{Config, Service};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let build = async {
        let config = Config::from_env()?;
        let sdk = sdk::sdk_config().await;
        Ok(Service {
            control: SsmControlStore::from_sdk(&sdk, &config.alias),
            ledger: DynamoLedger::from_env(&sdk, &config.alias)?,
            exports: DynamoExportService::from_sdk(&sdk, &config.table_name),
            clock: clock::clock(),
            published: S3PublishedExports::from_sdk(&sdk, &config.bucket, config.prefix.as_deref()),
            config,
        })
    };
    runtime::serve(
        "decide-mode",
        build,
        |service, input: DecideInput| async move {
            let output = service.decide(input).await;
            // The chain's lag at every run: the alarms' heartbeat.
            emf::emit(
                &service.config.alias,
                "decide-mode",
                &service.gauges().await,
            );
            output
        },
        runtime::no_metrics,
    )
    .await
}
