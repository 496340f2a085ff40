//! `incx`: the operator CLI. `incx verify` reads the chain of DynamoDB
//! exports in S3, checks it, and optionally compares it with the table.
//! Exit code: 0 clean, 1 problems found, 2 usage or access errors.

use std::io::Write as _;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use incx_cli::chain::{compare_with_table, read_chain, ChainSource, ReadOptions, S3Store};
use incx_cli::output::VerifyOutput;
use incx_cli::table::{describe_key_attributes, scan_items};

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
    Verify(VerifyArgs),
}

#[derive(Debug, Args)]
struct VerifyArgs {
    /// Bucket holding the exports.
    #[arg(long)]
    bucket: String,
    /// S3 prefix of the exports (the exports live in [PREFIX/]AWSDynamoDB/).
    #[arg(long)]
    prefix: Option<String>,
    /// Table to take the key attributes from and to compare with.
    #[arg(long)]
    table: Option<String>,
    /// Key attribute names, partition key first (default: from --table, or
    /// inferred from the incremental exports).
    #[arg(long, value_delimiter = ',', num_args = 1..)]
    key_attributes: Vec<String>,
    /// manifest-summary.json keys to read instead of listing the bucket.
    #[arg(long, value_delimiter = ',', num_args = 1..)]
    manifests: Vec<String>,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

fn main() -> ExitCode {
    let Command::Verify(args) = Cli::parse().command;
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => return fail(&format!("cannot start the async runtime: {e}")),
    };
    match runtime.block_on(verify(args)) {
        Ok(output) => {
            if output.ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        Err(message) => fail(&message),
    }
}

fn fail(message: &str) -> ExitCode {
    eprintln!("incx: error: {message}");
    ExitCode::from(2)
}

fn progress(line: &str) {
    eprintln!("incx: {line}");
}

/// Whether an endpoint override (an emulator) is configured, which needs
/// path-style S3 addressing.
fn endpoint_override() -> bool {
    ["AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"]
        .iter()
        .any(|name| std::env::var_os(name).is_some_and(|v| !v.is_empty()))
}

async fn verify(args: VerifyArgs) -> Result<VerifyOutput, String> {
    let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let s3_config = aws_sdk_s3::config::Builder::from(&config)
        .force_path_style(endpoint_override())
        .build();
    let store = S3Store::new(aws_sdk_s3::Client::from_conf(s3_config), &args.bucket);
    let dynamodb = aws_sdk_dynamodb::Client::new(&config);

    let mut key_attributes = (!args.key_attributes.is_empty()).then(|| args.key_attributes.clone());
    if let (None, Some(table)) = (&key_attributes, &args.table) {
        key_attributes = Some(
            describe_key_attributes(&dynamodb, table)
                .await
                .map_err(|e| e.to_string())?,
        );
    }
    let source = if args.manifests.is_empty() {
        ChainSource::Discover {
            prefix: args.prefix.clone(),
        }
    } else {
        ChainSource::Manifests(args.manifests.clone())
    };
    let options = ReadOptions {
        key_attributes: key_attributes.as_deref(),
        progress: Some(&progress),
    };
    let result = read_chain(&store, &source, options)
        .await
        .map_err(|e| e.to_string())?;

    let comparison = match (&args.table, result.state.key_attributes()) {
        (Some(table), Some(keys)) => {
            progress(&format!("scanning table {table} ..."));
            let items = scan_items(&dynamodb, table, &progress)
                .await
                .map_err(|e| e.to_string())?;
            let comparison = compare_with_table(&result.state, &items, keys)
                .map_err(|e| format!("comparing with table {table}: {e}"))?;
            Some(comparison)
        }
        _ => None,
    };
    let output = VerifyOutput::new(
        &args.bucket,
        args.prefix.as_deref(),
        args.table.as_deref(),
        result.report,
        comparison.as_ref(),
    );
    let text = if args.json {
        let json = serde_json::to_string_pretty(&output).map_err(|e| e.to_string())?;
        format!("{json}\n")
    } else {
        output.render_text()
    };
    write_stdout(&text)?;
    Ok(output)
}

/// Writes the report; a closed pipe (`incx ... | head`) is not an error.
fn write_stdout(text: &str) -> Result<(), String> {
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(format!("writing the report: {e}"))
        }
        _ => Ok(()),
    }
}
