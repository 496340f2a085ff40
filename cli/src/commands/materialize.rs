//! `incx materialize`: the table's state at the end of the chain, or at a
//! boundary of one of its completed windows (`--at`), written as
//! `{"Item":...}` lines of DynamoDB JSON or as Parquet, to a local file,
//! standard output (JSON lines only) or S3. A chain with problems (a gap, a checksum or count error) is not
//! written out: its state would be wrong without saying so.

use std::io::Write as _;

use super::verify::ChainArgs;
use super::{progress, s3_client, Failure};
use crate::chain::{format_utc, parse_time, read_chain, ChainResult};
use crate::materialize::{write_file, write_json_lines, Destination, Written};
use crate::output::VerifyOutput;
#[cfg(feature = "parquet")]
use crate::parquet_out::write_parquet;
use crate::upload::{upload_file, PART_SIZE};

#[derive(Debug, clap::Args)]
pub struct MaterializeArgs {
    #[command(flatten)]
    pub chain: ChainArgs,
    /// Where to write: a local path, s3://BUCKET/KEY, or - for standard
    /// output. A name ending in .gz is gzip.
    #[arg(long, short)]
    pub output: String,
    /// jsonl: {"Item":...} lines; parquet: the key attributes and every
    /// attribute of one scalar type in all items as typed columns, and the
    /// item as DynamoDB JSON in the column `item` (default: parquet for a
    /// name ending in .parquet, else jsonl).
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    /// The table at this window boundary (RFC 3339, e.g.
    /// 2024-05-01T10:00:00Z, or epoch seconds) instead of at the chain's
    /// end; a time that is not a boundary is refused with the list of
    /// boundaries.
    #[arg(long, value_parser = parse_at)]
    pub at: Option<i64>,
    /// Table to take the key attributes from (DescribeTable).
    #[arg(long)]
    pub table: Option<String>,
}

/// Why a build without the `parquet` feature refuses Parquet.
const NO_PARQUET: &str = "this incx was built without Parquet: build it with `cargo build --release -p incx-cli --features parquet`";

/// The output's format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Jsonl,
    Parquet,
}

/// `--at`: RFC 3339 text or epoch seconds, as epoch milliseconds.
pub fn parse_at(text: &str) -> Result<i64, String> {
    let value = match text.trim().parse::<i64>() {
        Ok(secs) => serde_json::Value::from(secs),
        Err(_) => serde_json::Value::String(text.trim().to_string()),
    };
    parse_time(&value).ok_or_else(|| {
        format!("{text:?}: give a time as RFC 3339 (2024-05-01T10:00:00Z) or epoch seconds")
    })
}

pub async fn run(args: MaterializeArgs) -> Result<(), Failure> {
    let destination = Destination::parse(&args.output)?;
    let format = args
        .format
        .unwrap_or(if destination.name().ends_with(".parquet") {
            Format::Parquet
        } else {
            Format::Jsonl
        });
    // Before reading the chain, which may take long.
    if format == Format::Parquet && !cfg!(feature = "parquet") {
        return Err(Failure::Error(NO_PARQUET.into()));
    }
    if format == Format::Parquet && destination == Destination::Stdout {
        return Err(Failure::Error(
            "Parquet is written to a file or to S3, not to standard output".into(),
        ));
    }
    let write =
        |state: &crate::chain::TableState, path: &std::path::Path| -> Result<Written, Failure> {
            Ok(match format {
                Format::Jsonl => write_file(state, path, destination.gzip())?,
                #[cfg(feature = "parquet")]
                Format::Parquet => write_parquet(state, path)?,
                #[cfg(not(feature = "parquet"))]
                Format::Parquet => return Err(Failure::Error(NO_PARQUET.into())),
            })
        };
    let open = args.chain.open().await?;
    let keys = args
        .chain
        .key_attributes(&open.sdk, args.table.as_deref())
        .await?;
    let mut options = args
        .chain
        .options(keys.as_deref(), args.chain.memory_budget);
    options.until = args.at;
    let ChainResult { state, report } = read_chain(&open.bucket, &open.source, options).await?;
    let end = report.windows().last().map(|&(_, to)| to);
    if !report.is_clean() {
        let output = VerifyOutput::new(
            &open.bucket.name(),
            args.chain.prefix.as_deref(),
            None,
            report,
            None,
        );
        eprint!("{}", output.render_text());
        progress("the chain has problems (above): nothing written");
        return Err(Failure::Problems);
    }
    let at = end.map_or_else(|| "?".to_string(), format_utc);
    let written = match &destination {
        Destination::Stdout => {
            let mut out = std::io::BufWriter::new(std::io::stdout().lock());
            let items = write_json_lines(&state, &mut out)?;
            match out.flush() {
                Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
                    return Err(Failure::Error(format!("writing the output: {e}")))
                }
                _ => {}
            }
            progress(&format!("wrote {items} items, the table at {at}"));
            return Ok(());
        }
        Destination::Local(path) => write(&state, path)?,
        Destination::S3 { bucket, key } => {
            let mut temp = tempfile::Builder::new();
            temp.prefix("incx-materialize-");
            let file = match &args.chain.spill_dir {
                Some(dir) => temp.tempfile_in(dir),
                None => temp.tempfile(),
            }
            .map_err(|e| format!("a local file for the output: {e}"))?;
            let written = write(&state, file.path())?;
            progress(&format!(
                "uploading {} bytes to s3://{bucket}/{key} ...",
                written.bytes
            ));
            upload_file(&s3_client(&open.sdk), file.path(), bucket, key, PART_SIZE).await?;
            written
        }
    };
    progress(&format!(
        "wrote {} items ({} bytes) to {}, the table at {at}",
        written.items, written.bytes, args.output
    ));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::parse_at;

    #[test]
    fn at_takes_rfc3339_or_epoch_seconds() {
        assert_eq!(parse_at("1700000000"), Ok(1_700_000_000_000));
        assert_eq!(parse_at("2023-11-14T22:13:20Z"), Ok(1_700_000_000_000));
        assert!(parse_at("yesterday").is_err());
    }
}
