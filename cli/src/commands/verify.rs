//! `incx verify`: reads the chain of exports (from the ledger by default),
//! checks windows, checksums and counts, rebuilds the table's state and
//! (with `--table`) compares it with the live table. Also the options and
//! the opening of a chain that `materialize` and `audit` share.

use std::path::PathBuf;

use super::{progress, s3_client, write_stdout, AwsArgs, Failure};
use crate::chain::{
    compare_states, read_chain, read_ledger, ChainResult, ChainSource, KeySpec, LocalStore,
    ObjectStore, ReadOptions, S3Store, StateBuilder, StoreError,
};
use crate::output::VerifyOutput;
use crate::table::{describe_key_attributes, scan_into};

/// Where the chain is and how to read it.
#[derive(Debug, Clone, clap::Args)]
pub struct ChainArgs {
    /// Bucket holding the exports.
    #[arg(long, required_unless_present = "bucket_dir")]
    pub bucket: Option<String>,
    /// A local copy of the bucket (e.g. made with `aws s3 sync`) to read
    /// instead of S3; keys are paths under it.
    #[arg(long, conflicts_with = "bucket")]
    pub bucket_dir: Option<PathBuf>,
    /// S3 prefix of the exports (they live in [PREFIX/]AWSDynamoDB/);
    /// with the ledger, taken from its manifests when not given.
    #[arg(long)]
    pub prefix: Option<String>,
    /// The deployment alias: the chain is read from its ledger table,
    /// <ALIAS>-incremental-export-ledger (default: from a bucket named
    /// <ALIAS>-data-export, the stack's own).
    #[arg(long)]
    pub alias: Option<String>,
    /// The ledger table (default: <ALIAS>-incremental-export-ledger).
    #[arg(long)]
    pub ledger_table: Option<String>,
    /// List the bucket for exports instead of reading the ledger.
    #[arg(long, conflicts_with_all = ["alias", "ledger_table", "manifests"])]
    pub discover: bool,
    /// manifest-summary.json keys to read instead of the ledger.
    #[arg(long, value_delimiter = ',', num_args = 1..)]
    pub manifests: Vec<String>,
    /// Key attribute names, partition key first (default: from --table, or
    /// inferred from the incremental exports).
    #[arg(long, value_delimiter = ',', num_args = 1..)]
    pub key_attributes: Vec<String>,
    /// Memory for the rebuilt state (e.g. 1G, 256M); past it the state is
    /// partitioned by key hash to local disk and rebuilt partition by
    /// partition.
    #[arg(long, default_value = "1G", value_parser = parse_size)]
    pub memory_budget: usize,
    /// Where state beyond the budget goes (default: the system's
    /// temporary folder).
    #[arg(long)]
    pub spill_dir: Option<PathBuf>,
    /// A missing checksum is a warning instead of an error.
    #[arg(long)]
    pub allow_missing_checksums: bool,
    #[command(flatten)]
    pub aws: AwsArgs,
}

/// A size such as `1G`, `256M`, `64K` or a number of bytes.
pub fn parse_size(text: &str) -> Result<usize, String> {
    let t = text.trim();
    let (digits, unit) = match t.char_indices().find(|(_, c)| c.is_ascii_alphabetic()) {
        Some((i, _)) => (&t[..i], t[i..].to_ascii_uppercase()),
        None => (t, String::new()),
    };
    let shift = match unit.trim_end_matches(['B', 'I']) {
        "" => 0,
        "K" => 10,
        "M" => 20,
        "G" => 30,
        "T" => 40,
        _ => return Err(format!("{text:?}: a size is a number with K, M, G or T")),
    };
    let n: usize = digits
        .trim()
        .parse()
        .map_err(|_| format!("{text:?}: a size is a number with K, M, G or T"))?;
    n.checked_mul(1 << shift)
        .filter(|&b| b >= 1 << 20)
        .ok_or_else(|| format!("{text:?}: give at least 1M"))
}

/// The bucket the chain is read from: S3 or a local copy.
pub enum Bucket {
    S3(S3Store),
    Local(LocalStore),
}

impl Bucket {
    /// How reports name it.
    pub fn name(&self) -> String {
        match self {
            Self::S3(s) => s.bucket().to_string(),
            Self::Local(l) => l.root().display().to_string(),
        }
    }
}

impl ObjectStore for Bucket {
    async fn get(&self, key: &str) -> Result<Vec<u8>, StoreError> {
        match self {
            Self::S3(s) => s.get(key).await,
            Self::Local(l) => l.get(key).await,
        }
    }
    async fn list(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        match self {
            Self::S3(s) => s.list(prefix).await,
            Self::Local(l) => l.list(prefix).await,
        }
    }
    async fn open(&self, key: &str) -> Result<crate::chain::Body, StoreError> {
        match self {
            Self::S3(s) => s.open(key).await,
            Self::Local(l) => l.open(key).await,
        }
    }
}

/// A chain ready to read.
pub struct OpenChain {
    pub bucket: Bucket,
    pub source: ChainSource,
    pub sdk: aws_config::SdkConfig,
}

impl ChainArgs {
    /// The bucket, and the chain's source: the ledger unless `--discover`
    /// or `--manifests`.
    pub async fn open(&self) -> Result<OpenChain, Failure> {
        let sdk = self.aws.sdk().await;
        let bucket = match (&self.bucket, &self.bucket_dir) {
            (_, Some(dir)) => Bucket::Local(LocalStore::new(dir)),
            (Some(name), None) => Bucket::S3(S3Store::new(s3_client(&sdk), name)),
            (None, None) => return Err(Failure::Error("give --bucket or --bucket-dir".into())),
        };
        let source = if self.discover {
            ChainSource::Discover {
                prefix: self.prefix.clone(),
            }
        } else if !self.manifests.is_empty() {
            ChainSource::Manifests(self.manifests.clone())
        } else {
            let (table, alias) = self.ledger()?;
            progress(&format!("reading the chain from ledger table {table} ..."));
            let client = aws_sdk_dynamodb::Client::new(&sdk);
            ChainSource::Ledger(read_ledger(client, &table, &alias, self.prefix.as_deref()).await?)
        };
        Ok(OpenChain {
            bucket,
            source,
            sdk,
        })
    }

    /// The ledger table and the alias its items are under.
    fn ledger(&self) -> Result<(String, String), Failure> {
        const LEDGER: &str = "-incremental-export-ledger";
        let alias = self
            .alias
            .clone()
            .or_else(|| {
                self.ledger_table
                    .as_deref()
                    .and_then(|t| t.strip_suffix(LEDGER))
                    .map(str::to_string)
            })
            .or_else(|| {
                self.bucket
                    .as_deref()
                    .and_then(|b| b.strip_suffix("-data-export"))
                    .map(str::to_string)
            })
            .ok_or_else(|| {
                Failure::Error(
                    "which deployment's ledger? give --alias (or --ledger-table), or --discover to list the bucket, or --manifests".into(),
                )
            })?;
        let table = self
            .ledger_table
            .clone()
            .unwrap_or_else(|| format!("{alias}{LEDGER}"));
        Ok((table, alias))
    }

    /// Reads options for these arguments, with `budget` for the state.
    pub fn options<'a>(&'a self, keys: Option<&'a [String]>, budget: usize) -> ReadOptions<'a> {
        ReadOptions {
            key_attributes: keys,
            progress: Some(&progress),
            budget: Some(budget),
            spill_dir: self.spill_dir.as_deref(),
            allow_missing_checksums: self.allow_missing_checksums,
            until: None,
            parallel: None,
            slice: None,
        }
    }

    /// The key attributes given, else those of `table`.
    pub async fn key_attributes(
        &self,
        sdk: &aws_config::SdkConfig,
        table: Option<&str>,
    ) -> Result<Option<Vec<String>>, Failure> {
        if !self.key_attributes.is_empty() {
            return Ok(Some(self.key_attributes.clone()));
        }
        match table {
            Some(table) => {
                let client = aws_sdk_dynamodb::Client::new(sdk);
                Ok(Some(describe_key_attributes(&client, table).await?))
            }
            None => Ok(None),
        }
    }
}

#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    #[command(flatten)]
    pub chain: ChainArgs,
    /// Table to take the key attributes from and to compare with (a scan
    /// of now: writes after the chain's end show as differences; `incx
    /// audit` compares at the chain's end instead).
    #[arg(long)]
    pub table: Option<String>,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

pub async fn run(args: VerifyArgs) -> Result<(), Failure> {
    let open = args.chain.open().await?;
    let keys = args
        .chain
        .key_attributes(&open.sdk, args.table.as_deref())
        .await?;
    // With a table to compare, the two states share the budget.
    let budget = if args.table.is_some() {
        args.chain.memory_budget / 2
    } else {
        args.chain.memory_budget
    };
    let options = args.chain.options(keys.as_deref(), budget);
    let ChainResult { state, report } = read_chain(&open.bucket, &open.source, options).await?;

    let comparison = match (&args.table, state.key_attributes()) {
        (Some(table), Some(keys)) => {
            progress(&format!("scanning table {table} ..."));
            let client = aws_sdk_dynamodb::Client::new(&open.sdk);
            let scanned = StateBuilder::new(budget, args.chain.spill_dir.clone());
            scan_into(
                &client,
                table,
                &KeySpec::new(Some(keys)),
                &scanned,
                &progress,
            )
            .await?;
            let (live, _) = scanned
                .finish()
                .map_err(|e| format!("rebuilding the scan from local disk: {e}"))?;
            let comparison = compare_states(&state, &live)
                .map_err(|e| format!("comparing with table {table}: {e}"))?;
            Some(comparison)
        }
        _ => None,
    };
    let output = VerifyOutput::new(
        &open.bucket.name(),
        args.chain.prefix.as_deref(),
        args.table.as_deref(),
        report,
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

#[cfg(test)]
mod tests {
    use super::parse_size;

    #[test]
    fn sizes_parse() {
        assert_eq!(parse_size("1G"), Ok(1 << 30));
        assert_eq!(parse_size("256M"), Ok(256 << 20));
        assert_eq!(parse_size("512 MiB"), Ok(512 << 20));
        assert_eq!(parse_size("2097152"), Ok(2 << 20));
        assert!(parse_size("12X").is_err());
        assert!(parse_size("10K").is_err());
    }
}
