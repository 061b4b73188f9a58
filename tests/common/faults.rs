//! A store wrapper that injects faults: errors, hangs and delays.

use std::{
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use async_trait::async_trait;
use formbox_auth::{KeyId, KeyRecord, KeyStore, KeyUsage, OrganizationId, StoreError, store};

/// What the next store calls do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Pass through to the inner store.
    None,
    /// Fail at once, as a refused connection does.
    Error,
    /// Never answer, as a stuck database does.
    Hang,
    /// Answer after a delay.
    Delay(Duration),
}

/// Wraps a store and injects the current [`Fault`] into every call.
#[derive(Debug, Clone)]
pub struct FaultyStore<S> {
    inner: S,
    fault: Arc<Mutex<Fault>>,
    pub calls: Arc<AtomicUsize>,
    pub failures: Arc<AtomicUsize>,
}

impl<S: KeyStore> FaultyStore<S> {
    pub fn new(inner: S) -> Self {
        Self {
            inner,
            fault: Arc::new(Mutex::new(Fault::None)),
            calls: Arc::default(),
            failures: Arc::default(),
        }
    }

    pub fn set(&self, fault: Fault) {
        *self.fault.lock().unwrap() = fault;
    }

    async fn inject(&self) -> store::Result<()> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let fault = *self.fault.lock().unwrap();
        match fault {
            Fault::None => Ok(()),
            Fault::Error => {
                self.failures.fetch_add(1, Ordering::SeqCst);
                Err(StoreError::backend("injected fault: connection refused"))
            }
            Fault::Hang => std::future::pending().await,
            Fault::Delay(delay) => {
                tokio::time::sleep(delay).await;
                Ok(())
            }
        }
    }
}

#[async_trait]
impl<S: KeyStore> KeyStore for FaultyStore<S> {
    async fn get(&self, id: &KeyId) -> store::Result<Option<KeyRecord>> {
        self.inject().await?;
        self.inner.get(id).await
    }
    async fn insert(&self, record: &KeyRecord) -> store::Result<bool> {
        self.inject().await?;
        self.inner.insert(record).await
    }
    async fn update(&self, record: &KeyRecord) -> store::Result<bool> {
        self.inject().await?;
        self.inner.update(record).await
    }
    async fn list(&self, organization: &OrganizationId) -> store::Result<Vec<KeyRecord>> {
        self.inject().await?;
        self.inner.list(organization).await
    }
    async fn delete(&self, id: &KeyId) -> store::Result<bool> {
        self.inject().await?;
        self.inner.delete(id).await
    }
    async fn record_usage(&self, usage: &[KeyUsage]) -> store::Result<()> {
        self.inject().await?;
        self.inner.record_usage(usage).await
    }
}
