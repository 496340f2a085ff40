//! Runs a use case as a Lambda function: JSON logs, the ports built once per
//! cold start, the input parsed against the contract, and faults turned into
//! typed Lambda errors whose `errorType` the state machine's Retry and Catch
//! match.

use crate::emf;
use incx_core::contract::parse;
use incx_core::error::CoreError;
use incx_core::metrics::Metric;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

/// The log level: `RUST_LOG` if set, else Lambda's own control
/// (`AWS_LAMBDA_LOG_LEVEL`, set by the function's logging configuration),
/// else `info`.
fn log_filter() -> tracing_subscriber::EnvFilter {
    if let Ok(filter) = tracing_subscriber::EnvFilter::try_from_default_env() {
        return filter;
    }
    let level = match std::env::var("AWS_LAMBDA_LOG_LEVEL")
        .unwrap_or_default()
        .to_ascii_uppercase()
        .as_str()
    {
        "TRACE" => "trace",
        "DEBUG" => "debug",
        "WARN" => "warn",
        "ERROR" | "FATAL" => "error",
        _ => "info",
    };
    tracing_subscriber::EnvFilter::new(level)
}

/// Logs as Lambda's logging configuration asks: JSON (the default, fields
/// flat at the top level so Logs Insights can filter on them) or text when
/// `AWS_LAMBDA_LOG_FORMAT` is `Text`.
pub fn init_tracing() {
    let text = std::env::var("AWS_LAMBDA_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("text"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(log_filter())
        .with_target(false)
        .without_time();
    let _ = if text {
        builder.try_init()
    } else {
        builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .try_init()
    };
}

/// The fields every log line about an export carries, read from the
/// function's output JSON (the contract: `executionId`, `export.from`,
/// `export.to`, `export.exportArn`).
fn log_outcome(alias: &str, function: &str, output: &serde_json::Value) {
    let text = |v: &serde_json::Value| v.as_str().map(str::to_owned);
    let export = &output["export"];
    tracing::info!(
        alias,
        function,
        outcome = text(&output["outcome"]).as_deref(),
        execution_id = text(&output["executionId"]).as_deref(),
        window_from = export["from"].as_i64(),
        window_to = export["to"].as_i64(),
        export_arn = text(&export["exportArn"]).as_deref(),
        "answered"
    );
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
/// tell an operator. `measure` gives the metrics of an answer (`None`: the
/// invocation failed), written in embedded metric format.
pub async fn serve<S, I, O, B, H, HF, M>(
    function: &'static str,
    build: B,
    handle: H,
    measure: M,
) -> Result<(), lambda_runtime::Error>
where
    S: Send + Sync + 'static,
    B: Future<Output = Result<S, CoreError>>,
    I: DeserializeOwned + Send + 'static,
    O: Serialize + 'static,
    H: Fn(Arc<S>, I) -> HF + Send + Sync,
    HF: Future<Output = Result<O, CoreError>> + Send + 'static,
    M: Fn(Option<&O>) -> Vec<Metric> + Send + Sync + Copy + 'static,
{
    init_tracing();
    let alias: Arc<str> = std::env::var("DEPLOYMENT_ALIAS").unwrap_or_default().into();
    let built = match build.await {
        Ok(service) => Ok(Arc::new(service)),
        Err(e) => {
            tracing::error!(alias = &*alias, function, error = %e, "invalid configuration");
            Err(diagnostic(&e))
        }
    };
    let handler = lambda_runtime::service_fn(
        |event: lambda_runtime::LambdaEvent<serde_json::Value>| {
            let prepared: Result<Boxed<O>, lambda_runtime::Diagnostic> =
                built.clone().and_then(|service| {
                    let input = parse::<I>(event.payload).map_err(|e| diagnostic(&e))?;
                    // Boxed: the use cases' futures are deep, and naming their
                    // type in every binary's runtime loop exceeds the
                    // compiler's layout depth.
                    Ok(Box::pin(handle(service, input)) as Boxed<O>)
                });
            let alias = alias.clone();
            async move {
                let output = match prepared?.await {
                    Ok(output) => output,
                    Err(e) => {
                        tracing::warn!(alias = &*alias, function, error_type = e.error_type(), error = %e, "failed");
                        emf::emit(&alias, function, &measure(None));
                        return Err(diagnostic(&e));
                    }
                };
                emf::emit(&alias, function, &measure(Some(&output)));
                let value = serde_json::to_value(output).map_err(|e| {
                    diagnostic(&CoreError::service(
                        "json",
                        format!("output not serializable: {e}"),
                    ))
                })?;
                log_outcome(&alias, function, &value);
                Ok::<_, lambda_runtime::Diagnostic>(value)
            }
        },
    );
    lambda_runtime::run(handler).await
}

/// For functions that report no metric of their own.
pub fn no_metrics<O>(_: Option<&O>) -> Vec<Metric> {
    Vec::new()
}
