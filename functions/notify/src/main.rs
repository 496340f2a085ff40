//! notify: publishes the notification of a step, or a FAILED one for a caught fault.
//! The logic is in `incx_core::usecases::notify`; this binary only wires it.

use incx_core::io::NotifyInput;
use incx_core::usecases::notify::notify;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    incx_core::runtime::serve_typed(|app, input: NotifyInput| async move {
        notify(&app.env(), input).await
    })
    .await
}
