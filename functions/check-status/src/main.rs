//! check-status: where the export in flight stands, and how long to wait
//! before the next look. The logic is `Service::check` in `incx-core`; this
//! binary wires the DynamoDB export adapter (its only client) to it.

use incx_aws::export::DynamoExportService;
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
            ledger: (),
            exports: DynamoExportService::from_sdk(&sdk, &config.table_name),
            notifier: (),
            clock: clock::clock(),
            config,
        })
    };
    runtime::serve(build, |service, input: CheckInput| async move {
        service.check(input).await
    })
    .await
}
