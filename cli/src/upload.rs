//! Uploading a local file to S3: one PutObject when small, a multipart
//! upload otherwise (PutObject stops at 5 GB, and a table's state can be
//! larger). Parts are read from the file one at a time, so memory stays at
//! one part whatever the file's size; a failed multipart upload is aborted
//! so that its parts are not billed forever.

use std::path::Path;

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use aws_sdk_s3::Client;

use crate::materialize::MaterializeError;

/// Size of each part, and the largest file sent with one PutObject. With
/// S3's 10,000 parts at most, files up to 640 GB.
pub const PART_SIZE: u64 = 64 << 20;

/// Uploads `path` to `s3://bucket/key` in parts of `part_size` bytes.
pub async fn upload_file(
    client: &Client,
    path: &Path,
    bucket: &str,
    key: &str,
    part_size: u64,
) -> Result<(), MaterializeError> {
    let fail = |message: String| MaterializeError::Upload {
        bucket: bucket.to_string(),
        key: key.to_string(),
        message,
    };
    let size = std::fs::metadata(path)
        .map_err(|e| MaterializeError::Io(path.display().to_string(), e))?
        .len();
    let part_size = part_size.max(1);
    if size <= part_size {
        let body = ByteStream::from_path(path)
            .await
            .map_err(|e| fail(e.to_string()))?;
        client
            .put_object()
            .bucket(bucket)
            .key(key)
            .body(body)
            .send()
            .await
            .map_err(|e| fail(aws_sdk_s3::error::DisplayErrorContext(e).to_string()))?;
        return Ok(());
    }
    let created = client
        .create_multipart_upload()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .map_err(|e| fail(aws_sdk_s3::error::DisplayErrorContext(e).to_string()))?;
    let upload_id = created
        .upload_id()
        .ok_or_else(|| fail("no upload id in the answer".into()))?
        .to_string();
    match send_parts(client, path, bucket, key, &upload_id, size, part_size).await {
        Ok(parts) => client
            .complete_multipart_upload()
            .bucket(bucket)
            .key(key)
            .upload_id(&upload_id)
            .multipart_upload(
                CompletedMultipartUpload::builder()
                    .set_parts(Some(parts))
                    .build(),
            )
            .send()
            .await
            .map(|_| ())
            .map_err(|e| fail(aws_sdk_s3::error::DisplayErrorContext(e).to_string())),
        Err(message) => {
            // Best effort: the error that matters is the one that stopped us.
            let _ = client
                .abort_multipart_upload()
                .bucket(bucket)
                .key(key)
                .upload_id(&upload_id)
                .send()
                .await;
            Err(fail(message))
        }
    }
}

async fn send_parts(
    client: &Client,
    path: &Path,
    bucket: &str,
    key: &str,
    upload_id: &str,
    size: u64,
    part_size: u64,
) -> Result<Vec<CompletedPart>, String> {
    let mut parts = Vec::new();
    let mut offset = 0;
    let mut number = 1;
    while offset < size {
        let length = part_size.min(size - offset);
        let body = ByteStream::read_from()
            .path(path)
            .offset(offset)
            .length(aws_sdk_s3::primitives::Length::Exact(length))
            .build()
            .await
            .map_err(|e| e.to_string())?;
        let sent = client
            .upload_part()
            .bucket(bucket)
            .key(key)
            .upload_id(upload_id)
            .part_number(number)
            .body(body)
            .send()
            .await
            .map_err(|e| aws_sdk_s3::error::DisplayErrorContext(e).to_string())?;
        parts.push(
            CompletedPart::builder()
                .part_number(number)
                .set_e_tag(sent.e_tag().map(str::to_string))
                .build(),
        );
        offset += length;
        number += 1;
    }
    Ok(parts)
}
