//! The object-store seam: the reader gets, lists and streams keys, so tests
//! run on [`MemoryStore`], the CLI on S3 (`S3Store`) or on a local copy of
//! a bucket ([`LocalStore`], e.g. after `aws s3 sync`).

use std::collections::BTreeMap;
use std::future::Future;
use std::io::{self, Read};
use std::path::{Component, Path, PathBuf};

use super::error::StoreError;

/// An object's bytes as they arrive. It is read on a blocking thread,
/// never inside async code.
pub type Body = Box<dyn Read + Send>;

/// Read access to one bucket.
pub trait ObjectStore: Sync {
    /// The whole body of `key`; [`StoreError::NotFound`] when it is absent.
    fn get(&self, key: &str) -> impl Future<Output = Result<Vec<u8>, StoreError>> + Send;
    /// Every key starting with `prefix`, in lexicographic order.
    fn list(&self, prefix: &str) -> impl Future<Output = Result<Vec<String>, StoreError>> + Send;
    /// The body of `key` as a stream, for objects too large to hold whole.
    /// By default, the whole body.
    fn open(&self, key: &str) -> impl Future<Output = Result<Body, StoreError>> + Send {
        async move {
            let body = self.get(key).await?;
            Ok(Box::new(io::Cursor::new(body)) as Body)
        }
    }
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

/// A bucket copied to a local folder: key `a/b` is the file `<root>/a/b`.
#[derive(Debug, Clone)]
pub struct LocalStore {
    root: PathBuf,
}

impl LocalStore {
    /// The bucket copied under `root`.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// The folder read.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The file of `key`; keys that would leave the folder are refused.
    fn path(&self, key: &str) -> Result<PathBuf, StoreError> {
        let relative = Path::new(key);
        if relative
            .components()
            .any(|c| !matches!(c, Component::Normal(_)))
        {
            return Err(StoreError::NotFound(key.to_string()));
        }
        Ok(self.root.join(relative))
    }

    fn classify(&self, e: &io::Error, key: &str) -> StoreError {
        match e.kind() {
            io::ErrorKind::NotFound => StoreError::NotFound(key.to_string()),
            io::ErrorKind::PermissionDenied => {
                StoreError::AccessDenied(format!("{}: {e}", self.root.join(key).display()))
            }
            _ => StoreError::Other(format!("{}: {e}", self.root.join(key).display())),
        }
    }

    fn walk(&self, dir: &Path, out: &mut Vec<String>) -> io::Result<()> {
        for entry in std::fs::read_dir(dir)? {
            let entry = entry?;
            let path = entry.path();
            if entry.file_type()?.is_dir() {
                self.walk(&path, out)?;
            } else if let Ok(relative) = path.strip_prefix(&self.root) {
                let parts: Vec<String> = relative
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect();
                out.push(parts.join("/"));
            }
        }
        Ok(())
    }
}

impl ObjectStore for LocalStore {
    async fn get(&self, key: &str) -> Result<Vec<u8>, StoreError> {
        let path = self.path(key)?;
        std::fs::read(path).map_err(|e| self.classify(&e, key))
    }

    async fn list(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        if !self.root.is_dir() {
            return Err(StoreError::NoSuchBucket(self.root.display().to_string()));
        }
        // Walk only the folder the prefix names, not the whole copy.
        let folder = prefix.rsplit_once('/').map_or("", |(dir, _)| dir);
        let start = self.path(folder).unwrap_or_else(|_| self.root.clone());
        let mut keys = Vec::new();
        match self.walk(&start, &mut keys) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            other => other.map_err(|e| self.classify(&e, prefix))?,
        }
        keys.retain(|k| k.starts_with(prefix));
        keys.sort();
        Ok(keys)
    }

    async fn open(&self, key: &str) -> Result<Body, StoreError> {
        let path = self.path(key)?;
        let file = std::fs::File::open(path).map_err(|e| self.classify(&e, key))?;
        Ok(Box::new(file))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn local_store_reads_lists_and_refuses_escapes() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("p/AWSDynamoDB/x")).unwrap();
        std::fs::write(dir.path().join("p/AWSDynamoDB/x/a.json"), b"{}").unwrap();
        std::fs::write(dir.path().join("p/other"), b"").unwrap();
        let store = LocalStore::new(dir.path());
        assert_eq!(store.get("p/AWSDynamoDB/x/a.json").await.unwrap(), b"{}");
        assert_eq!(
            store.list("p/AWSDynamoDB/").await.unwrap(),
            ["p/AWSDynamoDB/x/a.json"]
        );
        assert!(store.list("q/AWSDynamoDB/").await.unwrap().is_empty());
        assert!(matches!(
            store.get("../etc/passwd").await,
            Err(StoreError::NotFound(_))
        ));
        let mut body = String::new();
        store
            .open("p/AWSDynamoDB/x/a.json")
            .await
            .unwrap()
            .read_to_string(&mut body)
            .unwrap();
        assert_eq!(body, "{}");
        assert!(matches!(
            LocalStore::new(dir.path().join("none")).list("").await,
            Err(StoreError::NoSuchBucket(_))
        ));
    }
}
