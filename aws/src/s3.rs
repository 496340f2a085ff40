//! The exports published in the bucket: each export's
//! `[prefix/]AWSDynamoDB/<export id>/manifest-summary.json`, listed and read
//! (for continuing the original sample's chain on a first run).

use crate::sdk::{describe, is_throttling};
use incx_core::domain::origin::{parse_summary, Published};
use incx_core::error::CoreError;
use incx_core::ports::PublishedExports;

/// Summaries read at once: a chain of months has thousands of exports, and
/// decide-mode has a minute.
const CONCURRENT_READS: usize = 32;
const SUMMARY_FILE: &str = "manifest-summary.json";

#[derive(Debug, Clone)]
pub struct S3PublishedExports {
    pub client: aws_sdk_s3::Client,
    pub bucket: String,
    pub prefix: Option<String>,
}

impl S3PublishedExports {
    /// On the shared SDK configuration; path-style addressing when an
    /// endpoint is given (local emulators serve no virtual-hosted buckets).
    pub fn from_sdk(sdk: &aws_config::SdkConfig, bucket: &str, prefix: Option<&str>) -> Self {
        let config = aws_sdk_s3::config::Builder::from(sdk)
            .force_path_style(sdk.endpoint_url().is_some())
            .build();
        Self {
            client: aws_sdk_s3::Client::from_conf(config),
            bucket: bucket.to_string(),
            prefix: prefix.map(str::to_string),
        }
    }

    /// `[prefix/]AWSDynamoDB/`, where DynamoDB writes each export's folder.
    fn root(&self) -> String {
        match self.prefix.as_deref().map(|p| p.trim_matches('/')) {
            Some(p) if !p.is_empty() => format!("{p}/AWSDynamoDB/"),
            _ => "AWSDynamoDB/".to_string(),
        }
    }

    fn fault<E, R>(&self, what: &str, e: &crate::sdk::SdkError<E, R>) -> CoreError
    where
        E: aws_smithy_types::error::metadata::ProvideErrorMetadata + std::error::Error + 'static,
        R: std::fmt::Debug,
    {
        let (code, detail) = describe(e);
        let detail = format!("{what} in s3://{}/{}: {detail}", self.bucket, self.root());
        if is_throttling(code.as_deref()) {
            CoreError::throttled("s3", detail)
        } else {
            CoreError::service("s3", detail)
        }
    }

    /// Every summary key: `root<export id>/manifest-summary.json`.
    async fn summary_keys(&self) -> Result<Vec<String>, CoreError> {
        let root = self.root();
        let mut keys = Vec::new();
        let mut pages = self
            .client
            .list_objects_v2()
            .bucket(&self.bucket)
            .prefix(&root)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| self.fault("listing the exports", &e))?;
            keys.extend(
                page.contents()
                    .iter()
                    .filter_map(|o| o.key())
                    .filter(|k| {
                        k.strip_prefix(&root)
                            .and_then(|rest| rest.strip_suffix(SUMMARY_FILE))
                            .is_some_and(|id| id.ends_with('/') && id.matches('/').count() == 1)
                    })
                    .map(str::to_string),
            );
        }
        Ok(keys)
    }

    async fn read(&self, key: String) -> Result<Option<Published>, CoreError> {
        let object = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(&key)
            .send()
            .await
            .map_err(|e| self.fault(&format!("reading {key}"), &e))?;
        let bytes = object
            .body
            .collect()
            .await
            .map_err(|e| CoreError::service("s3", format!("reading {key}: {e}")))?
            .into_bytes();
        match parse_summary(&bytes) {
            Ok(found) => Ok(found),
            Err(e) => {
                tracing::warn!(key, error = %e, "not an export summary; left out");
                Ok(None)
            }
        }
    }
}

impl PublishedExports for S3PublishedExports {
    fn location(&self) -> String {
        format!("s3://{}/{}", self.bucket, self.root())
    }

    async fn list(&self) -> Result<Vec<Published>, CoreError> {
        let keys = self.summary_keys().await?;
        let mut found = Vec::with_capacity(keys.len());
        let mut keys = keys.into_iter();
        loop {
            let batch: Vec<_> = keys.by_ref().take(CONCURRENT_READS).collect();
            if batch.is_empty() {
                return Ok(found);
            }
            let reads = batch.into_iter().map(|k| {
                tokio::spawn({
                    let this = self.clone();
                    async move { this.read(k).await }
                })
            });
            for read in reads.collect::<Vec<_>>() {
                let got = read.await.map_err(|e| {
                    CoreError::service("s3", format!("a summary read stopped: {e}"))
                })??;
                found.extend(got);
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use aws_sdk_s3::operation::get_object::GetObjectOutput;
    use aws_sdk_s3::operation::list_objects_v2::ListObjectsV2Output;
    use aws_sdk_s3::primitives::ByteStream;
    use aws_sdk_s3::types::Object;
    use aws_sdk_s3::Client;
    use aws_smithy_mocks::{mock, RuleMode};
    use incx_core::domain::export::ExportKind;

    fn summary(from: &str, to: &str) -> String {
        format!(
            r#"{{"exportArn":"arn:e","exportType":"INCREMENTAL_EXPORT","exportFromTime":"{from}","exportToTime":"{to}"}}"#
        )
    }

    #[tokio::test]
    async fn lists_the_summaries_under_the_prefix_and_reads_them() {
        let listed = mock!(Client::list_objects_v2)
            .match_requests(|r| r.bucket() == Some("b") && r.prefix() == Some("p/q/AWSDynamoDB/"))
            .then_output(|| {
                let keys = [
                    "p/q/AWSDynamoDB/01-a/manifest-summary.json",
                    "p/q/AWSDynamoDB/01-a/manifest-files.json",
                    "p/q/AWSDynamoDB/01-a/data/x.json.gz",
                    "p/q/AWSDynamoDB/02-b/manifest-summary.json",
                    "p/q/AWSDynamoDB/nested/02-b/manifest-summary.json",
                ];
                ListObjectsV2Output::builder()
                    .set_contents(Some(
                        keys.iter()
                            .map(|k| Object::builder().key(*k).build())
                            .collect(),
                    ))
                    .build()
            });
        let first = mock!(Client::get_object)
            .match_requests(|r| r.key() == Some("p/q/AWSDynamoDB/01-a/manifest-summary.json"))
            .then_output(|| {
                GetObjectOutput::builder()
                    .body(ByteStream::from(
                        summary("2023-11-14T22:13:20.413Z", "2023-11-14T22:28:20.413Z")
                            .into_bytes(),
                    ))
                    .build()
            });
        let second = mock!(Client::get_object)
            .match_requests(|r| r.key() == Some("p/q/AWSDynamoDB/02-b/manifest-summary.json"))
            .then_output(|| {
                GetObjectOutput::builder()
                    .body(ByteStream::from_static(b"garbage"))
                    .build()
            });
        let client =
            crate::sdk::mock_sdk!(aws_sdk_s3, RuleMode::MatchAny, [&listed, &first, &second]);
        let bucket = S3PublishedExports {
            client,
            bucket: "b".into(),
            prefix: Some("/p/q/".into()),
        };
        let got = bucket.list().await.unwrap();
        assert_eq!(got.len(), 1, "{got:?}");
        assert_eq!(got[0].kind, ExportKind::Incremental);
        assert_eq!(got[0].from_ms, Some(1_700_000_000_413));
        assert_eq!(bucket.location(), "s3://b/p/q/AWSDynamoDB/");
        assert_eq!(listed.num_calls(), 1);
    }

    #[tokio::test]
    async fn a_refused_listing_is_a_fault_naming_the_place() {
        let denied = mock!(Client::list_objects_v2).then_error(|| {
            aws_sdk_s3::operation::list_objects_v2::ListObjectsV2Error::generic(
                aws_sdk_s3::error::ErrorMetadata::builder()
                    .code("AccessDenied")
                    .message("no")
                    .build(),
            )
        });
        let client = crate::sdk::mock_sdk!(aws_sdk_s3, RuleMode::MatchAny, [&denied]);
        let bucket = S3PublishedExports {
            client,
            bucket: "b".into(),
            prefix: None,
        };
        let e = bucket.list().await.unwrap_err().to_string();
        assert!(
            e.contains("AccessDenied") && e.contains("s3://b/AWSDynamoDB/"),
            "{e}"
        );
    }
}
