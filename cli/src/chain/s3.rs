//! [`ObjectStore`] on Amazon S3 (or an emulator): GetObject and paginated
//! ListObjectsV2, with S3 errors mapped to [`StoreError`].

use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_s3::Client;

use super::error::StoreError;
use super::store::ObjectStore;

/// One S3 bucket.
#[derive(Debug, Clone)]
pub struct S3Store {
    client: Client,
    bucket: String,
}

impl S3Store {
    /// Reads `bucket` with `client`.
    pub fn new(client: Client, bucket: impl Into<String>) -> Self {
        Self {
            client,
            bucket: bucket.into(),
        }
    }

    /// The bucket read.
    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    fn classify<E>(&self, err: SdkError<E, HttpResponse>, key: &str) -> StoreError
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        let status = err.raw_response().map(|r| r.status().as_u16());
        let code = err.code().map(str::to_string);
        let location = format!("s3://{}/{key}", self.bucket);
        match (code.as_deref(), status) {
            (Some("NoSuchBucket"), _) => StoreError::NoSuchBucket(self.bucket.clone()),
            (Some("NoSuchKey"), _) | (None, Some(404)) => StoreError::NotFound(key.to_string()),
            (Some("AccessDenied" | "Forbidden" | "AllAccessDisabled"), _) | (_, Some(403)) => {
                let message = err.message().unwrap_or("forbidden");
                StoreError::AccessDenied(format!("{location}: {message}"))
            }
            _ => StoreError::Other(format!("{location}: {}", DisplayErrorContext(&err))),
        }
    }
}

impl ObjectStore for S3Store {
    async fn get(&self, key: &str) -> Result<Vec<u8>, StoreError> {
        let output = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| self.classify(e, key))?;
        let body = output.body.collect().await.map_err(|e| {
            StoreError::Other(format!("s3://{}/{key}: reading body: {e}", self.bucket))
        })?;
        Ok(body.into_bytes().to_vec())
    }

    async fn list(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        let mut pages = self
            .client
            .list_objects_v2()
            .bucket(&self.bucket)
            .prefix(prefix)
            .into_paginator()
            .send();
        let mut keys = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| self.classify(e, prefix))?;
            keys.extend(
                page.contents()
                    .iter()
                    .filter_map(|o| o.key().map(str::to_string)),
            );
        }
        Ok(keys)
    }
}
