//! The object-store seam: the reader only gets and lists keys, so tests run
//! on [`MemoryStore`] while the CLI runs on S3 (`S3Store`).

use std::collections::BTreeMap;
use std::future::Future;

use super::error::StoreError;

/// Read access to one bucket.
pub trait ObjectStore: Sync {
    /// The whole body of `key`; [`StoreError::NotFound`] when it is absent.
    fn get(&self, key: &str) -> impl Future<Output = Result<Vec<u8>, StoreError>> + Send;
    /// Every key starting with `prefix`, in lexicographic order.
    fn list(&self, prefix: &str) -> impl Future<Output = Result<Vec<String>, StoreError>> + Send;
}

/// An in-memory bucket, for tests and tools.
#[derive(Debug, Default, Clone)]
pub struct MemoryStore {
    objects: BTreeMap<String, Vec<u8>>,
}

impl MemoryStore {
    /// An empty bucket.
    pub fn new() -> Self {
        Self::default()
    }

    /// Stores `body` under `key`, replacing what was there.
    pub fn put(&mut self, key: impl Into<String>, body: impl Into<Vec<u8>>) {
        self.objects.insert(key.into(), body.into());
    }

    /// Removes `key`, returning its body.
    pub fn remove(&mut self, key: &str) -> Option<Vec<u8>> {
        self.objects.remove(key)
    }

    /// The body under `key`, if any.
    pub fn body(&self, key: &str) -> Option<&[u8]> {
        self.objects.get(key).map(Vec::as_slice)
    }

    /// All keys, in order.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.objects.keys().map(String::as_str)
    }
}

impl ObjectStore for MemoryStore {
    async fn get(&self, key: &str) -> Result<Vec<u8>, StoreError> {
        self.objects
            .get(key)
            .cloned()
            .ok_or_else(|| StoreError::NotFound(key.to_string()))
    }

    async fn list(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        Ok(self
            .objects
            .range(prefix.to_string()..)
            .take_while(|(k, _)| k.starts_with(prefix))
            .map(|(k, _)| k.clone())
            .collect())
    }
}
