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
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// The log level: `RUST_LOG` if set and valid (a level, or `target=level`
/// directives: `incx_aws=debug,info`), else Lambda's own control
/// (`AWS_LAMBDA_LOG_LEVEL`, set by the function's logging configuration),
/// else `info`. `Targets` rather than `EnvFilter`: the same directives
/// without span and field filters, and without a regex engine in every
/// function.
fn log_filter(rust_log: Option<&str>, lambda_level: Option<&str>) -> Targets {
    if let Some(filter) = rust_log.and_then(|v| v.parse().ok()) {
        return filter;
    }
    let level = match lambda_level
        .unwrap_or_default()
        .to_ascii_uppercase()
        .as_str()
    {
        "TRACE" => LevelFilter::TRACE,
        "DEBUG" => LevelFilter::DEBUG,
        "WARN" => LevelFilter::WARN,
        "ERROR" | "FATAL" => LevelFilter::ERROR,
        _ => LevelFilter::INFO,
    };
    Targets::new().with_default(level)
}

/// Logs as Lambda's logging configuration asks: JSON (the default, fields
/// flat at the top level so Logs Insights can filter on them) or text when
/// `AWS_LAMBDA_LOG_FORMAT` is `Text`.
pub fn init_tracing() {
    let text = std::env::var("AWS_LAMBDA_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("text"));
    let layer = tracing_subscriber::fmt::layer()
        .with_target(false)
        .without_time();
    let filter = log_filter(
        std::env::var("RUST_LOG").ok().as_deref(),
        std::env::var("AWS_LAMBDA_LOG_LEVEL").ok().as_deref(),
    );
    let registry = tracing_subscriber::registry().with(filter);
    let _ = if text {
        registry.with(layer).try_init()
    } else {
        registry
            .with(layer.json().flatten_event(true).with_current_span(false))
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

#[cfg(test)]
mod tests {
    use super::log_filter;
    use tracing_subscriber::filter::LevelFilter;

    fn default_level(rust_log: Option<&str>, lambda_level: Option<&str>) -> Option<LevelFilter> {
        log_filter(rust_log, lambda_level).default_level()
    }

    #[test]
    fn lambda_level_maps_onto_tracing_levels_and_defaults_to_info() {
        assert_eq!(default_level(None, None), Some(LevelFilter::INFO));
        assert_eq!(default_level(None, Some("debug")), Some(LevelFilter::DEBUG));
        assert_eq!(default_level(None, Some("TRACE")), Some(LevelFilter::TRACE));
        assert_eq!(default_level(None, Some("WARN")), Some(LevelFilter::WARN));
        assert_eq!(default_level(None, Some("FATAL")), Some(LevelFilter::ERROR));
        assert_eq!(
            default_level(None, Some("nonsense")),
            Some(LevelFilter::INFO)
        );
    }

    #[test]
    fn rust_log_overrides_the_lambda_level_with_per_target_directives() {
        let filter = log_filter(Some("incx_aws=debug,warn"), Some("ERROR"));
        assert_eq!(filter.default_level(), Some(LevelFilter::WARN));
        assert!(filter.would_enable("incx_aws::runtime", &tracing::Level::DEBUG));
        assert!(!filter.would_enable("aws_smithy_runtime", &tracing::Level::INFO));
    }

    #[test]
    fn an_invalid_rust_log_falls_back_to_the_lambda_level() {
        assert_eq!(
            default_level(Some("incx_aws=loud"), Some("ERROR")),
            Some(LevelFilter::ERROR)
        );
    }
}
