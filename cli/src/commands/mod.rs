//! The `incx` subcommands, one module each, and what they share: the AWS
//! configuration from the usual profile and region settings, the exit
//! codes, progress on standard error, and output that a closed pipe does
//! not turn into an error.

pub mod attention;
pub mod audit;
pub mod chain;
pub mod control;
pub mod deployment;
pub mod materialize;
pub mod run;
pub mod schedule;
pub mod status;
pub mod verify;

use std::io::{BufRead as _, Write as _};

/// How a command ended: 0 clean, 1 problems found, 2 usage or access error.
#[derive(Debug)]
pub enum Failure {
    /// The command ran and found problems (exit code 1); the report says.
    Problems,
    /// The command could not do its work (exit code 2), and why.
    Error(String),
}

impl<E: std::fmt::Display> From<E> for Failure {
    fn from(e: E) -> Self {
        Self::Error(e.to_string())
    }
}

/// Options every command that reaches AWS takes.
#[derive(Debug, Clone, clap::Args)]
pub struct AwsArgs {
    /// The AWS profile (default: AWS_PROFILE or the default profile).
    #[arg(long, global = true)]
    pub profile: Option<String>,
    /// The AWS region (default: AWS_REGION, or the profile's region).
    #[arg(long, global = true)]
    pub region: Option<String>,
    /// Send every AWS request to this endpoint instead (an emulator, a
    /// VPC endpoint); AWS_ENDPOINT_URL does the same.
    #[arg(long, global = true)]
    pub endpoint_url: Option<String>,
}

impl AwsArgs {
    /// The SDK configuration, as every AWS tool reads it, with these
    /// options on top.
    pub async fn sdk(&self) -> aws_config::SdkConfig {
        let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
        if let Some(p) = &self.profile {
            loader = loader.profile_name(p);
        }
        if let Some(r) = &self.region {
            loader = loader.region(aws_config::Region::new(r.clone()));
        }
        if let Some(url) = &self.endpoint_url {
            loader = loader.endpoint_url(url);
        }
        loader.load().await
    }
}

/// A line of progress on standard error.
pub fn progress(line: &str) {
    eprintln!("incx: {line}");
}

/// Whether an endpoint override (an emulator) is configured, which needs
/// path-style S3 addressing.
pub fn endpoint_override() -> bool {
    ["AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"]
        .iter()
        .any(|name| std::env::var_os(name).is_some_and(|v| !v.is_empty()))
}

/// An S3 client for `sdk`, path-style when an emulator stands in for S3
/// (an endpoint from the environment or `--endpoint-url`).
pub fn s3_client(sdk: &aws_config::SdkConfig) -> aws_sdk_s3::Client {
    let config = aws_sdk_s3::config::Builder::from(sdk)
        .force_path_style(endpoint_override() || sdk.endpoint_url().is_some())
        .build();
    aws_sdk_s3::Client::from_conf(config)
}

/// Writes to standard output; a closed pipe (`incx ... | head`) is not an
/// error.
pub fn write_stdout(text: &str) -> Result<(), Failure> {
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(Failure::Error(format!("writing the output: {e}")))
        }
        _ => Ok(()),
    }
}

/// Asks `question` on standard error and reads the answer from standard
/// input: only `y` or `yes` (any case) confirms; a closed input does not.
pub fn confirm(question: &str) -> Result<bool, Failure> {
    eprint!("incx: {question}? [y/N] ");
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .map_err(|e| format!("reading the answer: {e}"))?;
    Ok(matches!(
        answer.trim().to_ascii_lowercase().as_str(),
        "y" | "yes"
    ))
}
