//! A port whose configuration may be broken. notify must publish whatever
//! the rest of the configuration says (a configuration error is what it
//! reports); the ports it needs only for bookkeeping (the ledger, the next
//! run) are built when their variables are valid and answer the
//! configuration error on use otherwise, after the notification went out.

use incx_core::config::ConfigError;
use incx_core::domain::ledger::{CatalogEntry, Head};
use incx_core::error::CoreError;
use incx_core::ports::{Ledger, Runs};

/// A port, or why it could not be built.
#[derive(Debug)]
pub struct Configured<T>(pub Result<T, ConfigError>);

impl<T> Configured<T> {
    fn get(&self) -> Result<&T, CoreError> {
        self.0.as_ref().map_err(|e| CoreError::Config(e.clone()))
    }
}

impl<T: Ledger> Ledger for Configured<T> {
    async fn head(&self) -> Result<Option<Head>, CoreError> {
        self.get()?.head().await
    }
    async fn put_head(&self, head: &Head, expected: Option<u64>) -> Result<bool, CoreError> {
        self.get()?.put_head(head, expected).await
    }
    async fn put_head_with_entry(
        &self,
        head: &Head,
        expected: Option<u64>,
        entry: &CatalogEntry,
    ) -> Result<bool, CoreError> {
        self.get()?.put_head_with_entry(head, expected, entry).await
    }
    async fn recent(&self, limit: usize) -> Result<Vec<CatalogEntry>, CoreError> {
        self.get()?.recent(limit).await
    }
    async fn catalog(&self) -> Result<Vec<CatalogEntry>, CoreError> {
        self.get()?.catalog().await
    }
    async fn entry(&self, sort_key: &str) -> Result<Option<CatalogEntry>, CoreError> {
        self.get()?.entry(sort_key).await
    }
    async fn mark_announced(&self, sort_key: &str) -> Result<(), CoreError> {
        self.get()?.mark_announced(sort_key).await
    }
}

impl<T: Runs> Runs for Configured<T> {
    async fn start_run(&self, name: &str, input: &serde_json::Value) -> Result<(), CoreError> {
        self.get()?.start_run(name, input).await
    }
}
