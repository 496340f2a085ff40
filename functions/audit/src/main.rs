//! audit: one step of the scheduled audit (the audit state machine, made
//! when the stack's AuditSchedule is set): ask for a full export at the
//! chain's end, look at it, compare one key-hash part of the chain with it,
//! or e-mail the result. The steps are `incx_cli::scheduled::Auditor`;
//! this binary wires DynamoDB, S3 and SNS to them.

use incx_aws::sns::SnsNotifier;
use incx_aws::{runtime, sdk};
use incx_cli::chain::S3Store;
use incx_cli::scheduled::{AuditConfig, AuditRequest, Auditor};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let build = async {
        let sdk = sdk::sdk_config().await;
        let config = AuditConfig::from_lookup(|k| std::env::var(k).ok())?;
        // Path-style addressing when an endpoint is given (a local
        // emulator); virtual-hosted on AWS.
        let s3 = aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(&sdk)
                .force_path_style(sdk.endpoint_url().is_some())
                .build(),
        );
        Ok(Auditor {
            dynamodb: aws_sdk_dynamodb::Client::new(&sdk),
            store: S3Store::new(s3, config.stack.bucket.clone()),
            notifier: SnsNotifier::from_env(&sdk)?,
            config,
        })
    };
    runtime::serve(
        "audit",
        build,
        |auditor, request: AuditRequest| async move { auditor.step(request).await },
        |_| Vec::new(),
    )
    .await
}
