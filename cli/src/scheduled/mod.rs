//! The scheduled audit: `incx audit` as the steps of a state machine
//! (`statemachine/audit.asl.json`), one Lambda invocation each, so that a
//! table of any size is audited within a Lambda's 15 minutes and memory.
//!
//! `begin` asks DynamoDB for a full export at exactly the chain's end (the
//! ledger's last window); `check` looks at it until it is written;
//! `compare` reads the chain and the export one key-hash part at a time
//! (every part reads every file, keeps a part of the keys) and adds up the
//! differences; `report` e-mails the result on the workflow's topic: a
//! clean chain as `SUCCESS`, differences or a failed step as `FAILED`.

mod config;
mod contract;
mod message;
mod steps;

pub use config::AuditConfig;
pub use contract::{
    AuditExport, AuditOutcome, AuditRequest, AuditState, Stage, Totals, FIRST_KEYS,
};
pub use message::AuditMessage;
pub use steps::Auditor;
