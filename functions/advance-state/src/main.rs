//! advance-state: records a finished export in the ledger and its SSM mirrors.
//! The logic is in `incx_core::usecases::advance`; this binary only wires it.

use incx_core::io::Step;
use incx_core::usecases::advance::advance;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    incx_core::runtime::serve_typed(
        |app, input: Step| async move { advance(&app.env(), input).await },
    )
    .await
}
