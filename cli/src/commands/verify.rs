//! `incx verify`: reads the chain of exports in S3, checks windows and
//! checksums, rebuilds the table's state and (with `--table`) compares it
//! with the live table.

use super::{progress, s3_client, write_stdout, AwsArgs, Failure};
use crate::chain::{compare_with_table, read_chain, ChainSource, ReadOptions, S3Store};
use crate::output::VerifyOutput;
use crate::table::{describe_key_attributes, scan_items};

#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    /// Bucket holding the exports.
    #[arg(long)]
    pub bucket: String,
    /// S3 prefix of the exports (the exports live in [PREFIX/]AWSDynamoDB/).
    #[arg(long)]
    pub prefix: Option<String>,
    /// Table to take the key attributes from and to compare with.
    #[arg(long)]
    pub table: Option<String>,
    /// Key attribute names, partition key first (default: from --table, or
    /// inferred from the incremental exports).
    #[arg(long, value_delimiter = ',', num_args = 1..)]
    pub key_attributes: Vec<String>,
    /// manifest-summary.json keys to read instead of listing the bucket.
    #[arg(long, value_delimiter = ',', num_args = 1..)]
    pub manifests: Vec<String>,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub aws: AwsArgs,
}

pub async fn run(args: VerifyArgs) -> Result<(), Failure> {
    let config = args.aws.sdk().await;
    let store = S3Store::new(s3_client(&config), &args.bucket);
    let dynamodb = aws_sdk_dynamodb::Client::new(&config);

    let mut key_attributes = (!args.key_attributes.is_empty()).then(|| args.key_attributes.clone());
    if let (None, Some(table)) = (&key_attributes, &args.table) {
        key_attributes = Some(describe_key_attributes(&dynamodb, table).await?);
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
    let result = read_chain(&store, &source, options).await?;

    let comparison = match (&args.table, result.state.key_attributes()) {
        (Some(table), Some(keys)) => {
            progress(&format!("scanning table {table} ..."));
            let items = scan_items(&dynamodb, table, &progress).await?;
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
        let json = serde_json::to_string_pretty(&output)?;
        format!("{json}\n")
    } else {
        output.render_text()
    };
    write_stdout(&text)?;
    if output.ok {
        Ok(())
    } else {
        Err(Failure::Problems)
    }
}
