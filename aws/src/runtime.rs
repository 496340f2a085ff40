//! Runs a use case as a Lambda function: JSON logs, the ports built once per
//! cold start, the input parsed against the contract, and faults turned into
//! typed Lambda errors whose `errorType` the state machine's Retry and Catch
//! match.

use incx_core::contract::parse;
use incx_core::error::CoreError;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

/// JSON logs, level from `RUST_LOG` (default `info`).
pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(false)
        .with_target(false)
        .without_time()
        .try_init();
}

/// A fault as Lambda reports it: `errorType` is what Retry and Catch match.
pub fn diagnostic(e: &CoreError) -> lambda_runtime::Diagnostic {
    lambda_runtime::Diagnostic {
        error_type: e.error_type().to_string(),
        error_message: e.to_string(),
    }
}

type Boxed<O> = Pin<Box<dyn Future<Output = Result<O, CoreError>> + Send>>;

/// Builds the function's ports once (`build`), then answers every event
/// with `handle`. A bad configuration does not crash the runtime: every
/// invocation answers with the `ConfigError`, so the workflow's Catch can
/// tell an operator.
pub async fn serve<S, I, O, B, H, HF>(build: B, handle: H) -> Result<(), lambda_runtime::Error>
where
    S: Send + Sync + 'static,
    B: Future<Output = Result<S, CoreError>>,
    I: DeserializeOwned + Send + 'static,
    O: Serialize + 'static,
    H: Fn(Arc<S>, I) -> HF + Send + Sync,
    HF: Future<Output = Result<O, CoreError>> + Send + 'static,
{
    init_tracing();
    let built = match build.await {
        Ok(service) => Ok(Arc::new(service)),
        Err(e) => {
            tracing::error!(error = %e, "invalid configuration");
            Err(diagnostic(&e))
        }
    };
    let handler =
        lambda_runtime::service_fn(|event: lambda_runtime::LambdaEvent<serde_json::Value>| {
            let prepared: Result<Boxed<O>, lambda_runtime::Diagnostic> =
                built.clone().and_then(|service| {
                    let input = parse::<I>(event.payload).map_err(|e| diagnostic(&e))?;
                    // Boxed: the use cases' futures are deep, and naming their
                    // type in every binary's runtime loop exceeds the
                    // compiler's layout depth.
                    Ok(Box::pin(handle(service, input)) as Boxed<O>)
                });
            async move {
                let output = prepared?.await.map_err(|e| diagnostic(&e))?;
                serde_json::to_value(output).map_err(|e| {
                    diagnostic(&CoreError::service(
                        "json",
                        format!("output not serializable: {e}"),
                    ))
                })
            }
        });
    lambda_runtime::run(handler).await
}
