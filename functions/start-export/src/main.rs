//! start-export: records the export's intent in the ledger, then asks
//! DynamoDB to export. The logic is `Service::start` in `incx-core`; this
//! binary wires the SSM and DynamoDB adapters to it.

use incx_aws::export::DynamoExportService;
use incx_aws::ledger::DynamoLedger;
use incx_aws::ssm::SsmControlStore;
use incx_aws::{clock, runtime, sdk};
use incx_core::contract::StartInput;
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
            published: (),
            config,
        })
    };
    runtime::serve(
        "start-export",
        build,
        |service, input: StartInput| async move { service.start(input).await },
        runtime::no_metrics,
    )
    .await
}
