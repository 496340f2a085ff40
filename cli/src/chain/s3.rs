//! [`ObjectStore`] on Amazon S3 (or an emulator): GetObject, whole or
//! streamed, and paginated ListObjectsV2, with S3 errors mapped to
//! [`StoreError`]. A streamed body is fetched by a task of its own into a
//! bounded channel, so downloading runs ahead of the thread that reads it,
//! and never more than a few chunks ahead.

use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_s3::Client;

use super::error::StoreError;
use super::store::{Body, ObjectStore};

/// Chunks a streamed body may run ahead of its reader.
const READ_AHEAD: usize = 32;

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

    async fn open(&self, key: &str) -> Result<Body, StoreError> {
        let output = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| self.classify(e, key))?;
        let mut body = output.body;
        let (tx, rx) = tokio::sync::mpsc::channel(READ_AHEAD);
        let location = format!("s3://{}/{key}", self.bucket);
        tokio::spawn(async move {
            loop {
                let chunk = match body.next().await {
                    None => return,
                    Some(Ok(chunk)) => Ok(chunk),
                    Some(Err(e)) => Err(format!("{location}: reading body: {e}")),
                };
                let failed = chunk.is_err();
                // The reader may stop early (a bad file): then so do we.
                if tx.send(chunk).await.is_err() || failed {
                    return;
                }
            }
        });
        Ok(Box::new(ChannelReader {
            rx,
            current: bytes::Bytes::new(),
        }))
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

/// The reading end of a streamed body.
struct ChannelReader {
    rx: tokio::sync::mpsc::Receiver<Result<bytes::Bytes, String>>,
    current: bytes::Bytes,
}

impl std::io::Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.current.is_empty() {
            match self.rx.blocking_recv() {
                Some(Ok(chunk)) => self.current = chunk,
                Some(Err(why)) => return Err(std::io::Error::other(why)),
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current.split_to(n));
        Ok(n)
    }
}
