//! notify: publishes the notification of a step, or a FAILED one for a
//! caught fault. The logic is `Announcer::notify` in `incx-core`; this
//! binary wires the SNS adapter (its only client) to it. It reads only the
//! topic and the table's name, so a configuration error elsewhere still
//! reaches the operator.

use incx_aws::sns::SnsNotifier;
use incx_aws::{runtime, sdk};
use incx_core::config::NoticeConfig;
use incx_core::contract::NotifyInput;
use incx_core::usecases::notify::Announcer;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let build = async {
        let sdk = sdk::sdk_config().await;
        Ok(Announcer {
            notifier: SnsNotifier::from_env(&sdk)?,
            config: NoticeConfig::from_env(),
        })
    };
    runtime::serve(build, |announcer, input: NotifyInput| async move {
        announcer.notify(input).await
    })
    .await
}
