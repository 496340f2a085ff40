//! `incx`: the operator command. Each subcommand is a module of
//! `incx_cli::commands`. Exit code: 0 clean, 1 problems found, 2 usage or
//! access errors.

use clap::{Parser, Subcommand};
use incx_cli::commands::{self, Failure};
use std::process::ExitCode;

/// Operator tools for a DynamoDB table continuously exported to S3.
#[derive(Debug, Parser)]
#[command(name = "incx", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Read the export chain, check windows and checksums, rebuild the table
    /// state and (with --table) compare it with the live table.
    Verify(commands::verify::VerifyArgs),
    /// Write the table's state at the chain's end, or at a window boundary
    /// (--at), as DynamoDB JSON lines to a file, S3 or standard output.
    Materialize(commands::materialize::MaterializeArgs),
    /// Compare the chain with a full export that DynamoDB makes at exactly
    /// the chain's end (its cost is stated and confirmed first).
    Audit(commands::audit::AuditArgs),
    /// One screen on a deployment: the ledger head and lag, the export in
    /// flight, the last failure, the control, the newest exports and runs.
    Status(commands::status::StatusArgs),
    /// Set the control to PAUSE: runs start no export until resume.
    Pause(commands::control::PauseArgs),
    /// Set the control to RUN, saying first what backlog the next run
    /// exports (confirmed unless --yes).
    Resume(commands::control::ConfirmedArgs),
    /// Set the control to RESET_WITH_FULL_EXPORT_AGAIN: a new full export
    /// and a new chain (confirmed unless --yes).
    Reset(commands::control::ConfirmedArgs),
    /// Start a run of the deployment's state machine now.
    Run(commands::run::RunArgs),
    /// The current chain from the ledger, in order (--json: JSON lines).
    Chain(commands::chain::ChainCmdArgs),
}

async fn run(command: Command) -> Result<(), Failure> {
    match command {
        Command::Verify(args) => commands::verify::run(args).await,
        Command::Materialize(args) => commands::materialize::run(args).await,
        Command::Audit(args) => commands::audit::run(args).await,
        Command::Status(args) => commands::status::run(args).await,
        Command::Pause(args) => commands::control::pause(args).await,
        Command::Resume(args) => commands::control::resume(args).await,
        Command::Reset(args) => commands::control::reset(args).await,
        Command::Run(args) => commands::run::run(args).await,
        Command::Chain(args) => commands::chain::run(args).await,
    }
}

fn main() -> ExitCode {
    let command = Cli::parse().command;
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => return fail(&format!("cannot start the async runtime: {e}")),
    };
    match runtime.block_on(run(command)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Problems) => ExitCode::from(1),
        Err(Failure::Error(message)) => fail(&message),
    }
}

fn fail(message: &str) -> ExitCode {
    eprintln!("incx: error: {message}");
    ExitCode::from(2)
}
