//! The library's error type: faults only. Outcomes a workflow can act on are
//! data (see [`crate::io::Outcome`]), never errors.

use crate::config::ConfigError;
use crate::domain::ledger::LedgerError;

#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("bad input: {0}")]
    BadInput(String),
    #[error("{service} throttled the call: {detail}")]
    Throttled {
        service: &'static str,
        detail: String,
    },
    #[error("{service} call failed: {detail}")]
    Service {
        service: &'static str,
        detail: String,
    },
    #[error("ledger: {0}")]
    Ledger(#[from] LedgerError),
    /// Not a fault: the export is still running. check-status reports it
    /// as an error so the state machine's Retry looks again, at one billed
    /// transition per look.
    #[error("the export is still running")]
    Running,
}

impl CoreError {
    pub fn service(service: &'static str, detail: impl Into<String>) -> Self {
        Self::Service {
            service,
            detail: detail.into(),
        }
    }

    pub fn throttled(service: &'static str, detail: impl Into<String>) -> Self {
        Self::Throttled {
            service,
            detail: detail.into(),
        }
    }

    /// The `errorType` the state machine's Retry and Catch match on.
    pub fn error_type(&self) -> &'static str {
        match self {
            Self::Config(_) => "ConfigError",
            Self::BadInput(_) => "BadInput",
            Self::Throttled { .. } => "Throttled",
            Self::Service { .. } => "ServiceFault",
            Self::Ledger(_) => "LedgerConflict",
            Self::Running => "ExportRunning",
        }
    }
}
