//! advance-state: records a finished export in the ledger and its SSM
//! mirrors. The logic is `Service::advance` in `incx-core`; this binary
//! wires the SSM and DynamoDB adapters to it.

use incx_aws::ledger::DynamoLedger;
use incx_aws::ssm::SsmControlStore;
use incx_aws::{clock, runtime, sdk};
use incx_core::contract::AdvanceInput;
use incx_core::{Config, Service};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let build = async {
        let config = Config::from_env()?;
        let sdk = sdk::sdk_config().await;
        Ok(Service {
            control: SsmControlStore::from_sdk(&sdk, &config.alias),
            ledger: DynamoLedger::from_env(&sdk, &config.alias)?,
            exports: (),
            clock: clock::clock(),
            published: (),
            config,
        })
    };
    runtime::serve(
        "advance-state",
        build,
        |service, input: AdvanceInput| async move { service.advance(input).await },
        incx_core::metrics::of_advance,
    )
    .await
}
