//! start-export: records the export's intent in the ledger, then asks DynamoDB to export.
//! The logic is in `incx_core::usecases::start`; this binary only wires it.

use incx_core::io::Step;
use incx_core::usecases::start::start;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    incx_core::runtime::serve_typed(
        |app, input: Step| async move { start(&app.env(), input).await },
    )
    .await
}
