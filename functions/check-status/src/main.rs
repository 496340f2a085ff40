//! check-status: where the export in flight stands, and how long to wait before the next look.
//! The logic is in `incx_core::usecases::check`; this binary only wires it.

use incx_core::io::Step;
use incx_core::usecases::check::check;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    incx_core::runtime::serve_typed(
        |app, input: Step| async move { check(&app.env(), input).await },
    )
    .await
}
