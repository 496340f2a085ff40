//! What every adapter shares: the SDK configuration and the reading of a
//! service's error (its code, a one-line detail, whether it is throttling).

use aws_config::{BehaviorVersion, SdkConfig};
pub(crate) use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use std::error::Error;
use std::fmt::Debug;

/// The shared SDK configuration: region, credentials and endpoints from the
/// environment, as every AWS tool reads them.
pub async fn sdk_config() -> SdkConfig {
    aws_config::load_defaults(BehaviorVersion::latest()).await
}

/// Error codes the services use for "slow down"; the SDK's own retry
/// classifier uses the same list, and SSM adds `TooManyUpdates`.
const THROTTLING_CODES: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottledException",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "TransactionInProgressException",
    "RequestLimitExceeded",
    "BandwidthLimitExceeded",
    "LimitExceededException",
    "RequestThrottled",
    "SlowDown",
    "PriorRequestNotComplete",
    "TooManyUpdates",
];

#[allow(dead_code)] // unused when no adapter is built
pub(crate) fn is_throttling(code: Option<&str>) -> bool {
    code.is_some_and(|c| THROTTLING_CODES.contains(&c))
}

/// The service's error code (if it answered) and a one-line detail with code
/// and message, or the whole error chain for timeouts and network failures.
#[allow(dead_code)]
pub(crate) fn describe<E, R>(err: &SdkError<E, R>) -> (Option<String>, String)
where
    E: ProvideErrorMetadata + Error + 'static,
    R: Debug,
{
    match err.as_service_error() {
        Some(e) => {
            let code = e.code().map(str::to_owned);
            let detail = match (e.code(), e.message()) {
                (Some(c), Some(m)) => format!("{c}: {m}"),
                (Some(c), None) => c.to_string(),
                // Modeled errors name their type in Display.
                _ => e.to_string(),
            };
            (code, detail)
        }
        None => (None, DisplayErrorContext(err).to_string()),
    }
}

/// Builds a client whose calls are answered by `aws-smithy-mocks` rules.
/// `mock_client!` would need each SDK crate's `test-util` feature (and a
/// rebuild of the three SDKs); these are the same settings, with retries off
/// so that an error reaches the adapter at once.
#[cfg(test)]
macro_rules! mock_sdk {
    ($sdk:ident, $mode:expr, $rules:expr) => {
        $crate::sdk::mock_sdk!($sdk, $mode, $rules, $crate::sdk::Calls::default())
    };
    ($sdk:ident, $mode:expr, $rules:expr, $calls:expr) => {{
        let mut interceptor = aws_smithy_mocks::MockResponseInterceptor::new().rule_mode($mode);
        for rule in $rules {
            interceptor = interceptor.with_rule(rule);
        }
        $sdk::Client::from_conf(
            $sdk::Config::builder()
                .behavior_version($sdk::config::BehaviorVersion::latest())
                .region($sdk::config::Region::new("us-east-1"))
                .credentials_provider($sdk::config::Credentials::new(
                    "AKID", "SECRET", None, None, "test",
                ))
                .retry_config($sdk::config::retry::RetryConfig::disabled())
                .http_client(aws_smithy_mocks::create_mock_http_client())
                .interceptor(interceptor)
                .interceptor($calls)
                .build(),
        )
    }};
}

/// Records the operations a client sends, as `service:Operation` with the
/// service's IAM prefix (tests of [`crate::permissions`]).
#[cfg(test)]
#[derive(Debug, Default, Clone)]
pub(crate) struct Calls(std::sync::Arc<std::sync::Mutex<Vec<String>>>);

#[cfg(test)]
impl Calls {
    /// The calls recorded since the last take.
    pub(crate) fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

#[cfg(test)]
impl aws_smithy_runtime_api::client::interceptors::Intercept for Calls {
    fn name(&self) -> &'static str {
        "Calls"
    }

    fn read_before_serialization(
        &self,
        _context: &aws_smithy_runtime_api::client::interceptors::context::BeforeSerializationInterceptorContextRef<'_>,
        _components: &aws_smithy_runtime_api::client::runtime_components::RuntimeComponents,
        cfg: &mut aws_smithy_types::config_bag::ConfigBag,
    ) -> Result<(), aws_smithy_runtime_api::box_error::BoxError> {
        use aws_smithy_runtime_api::client::orchestrator::Metadata;
        if let Some(m) = cfg.load::<Metadata>() {
            let prefix = match m.service().to_ascii_lowercase().as_str() {
                "sfn" => "states".to_string(),
                other => other.to_string(),
            };
            self.0
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(format!("{prefix}:{}", m.name()));
        }
        Ok(())
    }
}
#[cfg(test)]
pub(crate) use mock_sdk;

/// An error's metadata as the SDK's deserializers fill it from a response.
#[cfg(test)]
pub(crate) fn meta(code: &str, message: &str) -> aws_smithy_types::error::ErrorMetadata {
    aws_smithy_types::error::ErrorMetadata::builder()
        .code(code)
        .message(message)
        .build()
}
