//! decide-mode: what this run of the workflow should do (pause, wait, start, resume, or ask an operator).
//! The logic is in `incx_core::usecases::decide`; this binary only wires it.

use incx_core::io::DecideInput;
use incx_core::usecases::decide::decide;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    incx_core::runtime::serve_typed(|app, input: DecideInput| async move {
        decide(&app.env(), input).await
    })
    .await
}
