//! What every Lambda binary shares: JSON logs, the adapters built once per
//! cold start, and faults turned into typed Lambda errors.

use crate::adapters::export::DynamoExportService;
use crate::adapters::ledger::DynamoLedger;
use crate::adapters::sns::SnsNotifier;
use crate::adapters::ssm::SsmControlStore;
use crate::config::Config;
use crate::error::CoreError;
use crate::ports::Clock;
use crate::usecases::Env;
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

/// The adapters of one function instance.
pub struct App {
    pub config: Config,
    pub clock: Arc<dyn Clock>,
    pub control: SsmControlStore,
    pub ledger: DynamoLedger,
    pub exports: DynamoExportService,
    pub notifier: SnsNotifier,
}

impl App {
    /// Validates the configuration and builds the SDK clients (no network
    /// call happens here).
    pub async fn from_env() -> Result<Self, CoreError> {
        let config = Config::from_env()?;
        let sdk = crate::adapters::sdk_config().await;
        let ddb = aws_sdk_dynamodb::Client::new(&sdk);
        Ok(Self {
            clock: crate::clock::from_env(),
            control: SsmControlStore::new(aws_sdk_ssm::Client::new(&sdk), &config.alias),
            ledger: DynamoLedger::new(ddb.clone(), &config.ledger_table, &config.alias),
            exports: DynamoExportService::new(ddb, &config.table_name),
            notifier: SnsNotifier::new(aws_sdk_sns::Client::new(&sdk), &config.topic_arn),
            config,
        })
    }

    pub fn env(&self) -> Env<'_, SsmControlStore, DynamoLedger, DynamoExportService, SnsNotifier> {
        Env {
            cfg: &self.config,
            clock: self.clock.as_ref(),
            control: &self.control,
            ledger: &self.ledger,
            exports: &self.exports,
            notifier: &self.notifier,
        }
    }
}

impl From<CoreError> for lambda_runtime::Diagnostic {
    fn from(e: CoreError) -> Self {
        lambda_runtime::Diagnostic {
            error_type: e.error_type().to_string(),
            error_message: e.to_string(),
        }
    }
}

type BoxedStep<O> =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<O, CoreError>> + Send>>;

/// Runs a function whose use case takes and returns typed JSON: the input
/// is parsed against the contract (a mismatch is a `BadInput` naming it).
pub async fn serve_typed<I, O, F, Fut>(handle: F) -> Result<(), lambda_runtime::Error>
where
    I: serde::de::DeserializeOwned + Send,
    O: serde::Serialize,
    F: Fn(Arc<App>, I) -> Fut + Send + Sync,
    Fut: std::future::Future<Output = Result<O, CoreError>> + Send + 'static,
{
    serve(|app, event| {
        let parsed = crate::io::parse::<I>(event);
        // Boxed: the use cases' futures are deep, and naming their type in
        // every binary's runtime loop exceeds the compiler's layout depth.
        let fut = parsed.map(|input| -> BoxedStep<O> { Box::pin(handle(app, input)) });
        async move {
            let output = fut?.await?;
            serde_json::to_value(output)
                .map_err(|e| CoreError::service("json", format!("output not serializable: {e}")))
        }
    })
    .await
}

/// Runs a function: builds the app once and hands each event to `handle`.
/// A bad configuration does not crash the runtime: every invocation answers
/// with the `ConfigError`, so the workflow's Catch can notify an operator.
pub async fn serve<F, Fut>(handle: F) -> Result<(), lambda_runtime::Error>
where
    F: Fn(Arc<App>, serde_json::Value) -> Fut + Send + Sync,
    Fut: std::future::Future<Output = Result<serde_json::Value, CoreError>> + Send,
{
    init_tracing();
    let app = match App::from_env().await {
        Ok(app) => Ok(Arc::new(app)),
        Err(e) => {
            tracing::error!(error = %e, "invalid configuration");
            Err(e.to_string())
        }
    };
    let handler =
        lambda_runtime::service_fn(|event: lambda_runtime::LambdaEvent<serde_json::Value>| {
            let app = app.clone();
            let fut = app.map(|a| handle(a, event.payload));
            async move {
                match fut {
                    Ok(fut) => fut.await.map_err(lambda_runtime::Diagnostic::from),
                    Err(msg) => Err(lambda_runtime::Diagnostic {
                        error_type: "ConfigError".into(),
                        error_message: msg,
                    }),
                }
            }
        });
    lambda_runtime::run(handler).await
}
