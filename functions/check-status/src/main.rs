//! check-status: one look at the export in flight (and the watcher's lease
//! renewed in the ledger). The logic is `Service::check` in `incx-core`;
//! this binary wires the DynamoDB adapters (its only client) to it.

use incx_aws::export::DynamoExportService;
use incx_aws::ledger::DynamoLedger;
use incx_aws::{clock, runtime, sdk};
use incx_core::contract::CheckInput;
use incx_core::{Config, Service};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let build = async {
        let config = Config::from_env()?;
        let sdk = sdk::sdk_config().await;
        Ok(Service {
            control: (),
            ledger: DynamoLedger::from_env(&sdk, &config.alias)?,
            exports: DynamoExportService::from_sdk(&sdk, &config.table_name),
            clock: clock::clock(),
            published: (),
            config,
        })
    };
    runtime::serve(
        "check-status",
        build,
        |service, input: CheckInput| async move { service.check(input).await },
        incx_core::metrics::of_check,
    )
    .await
}
