//! The store a behaviour runs against, and how it is opened again over the data it wrote.

use std::{fmt, future::Future, pin::Pin};

use crate::store::KeyStore;

/// What a behaviour runs against: a store, and whether it can be opened again over the data it
/// wrote.
///
/// Every [`KeyStore`] is one that cannot: the behaviours read their records back from the same
/// store. [`Reopenable`] is one that can: they read them back from a store opened anew over the
/// same data.
pub trait StoreUnderTest: Send + Sync + 'static {
    /// The store the behaviours call.
    type Store: KeyStore;

    /// The store, to call.
    fn store(&self) -> &Self::Store;

    /// The store alone, for the behaviours that hand it to the crate.
    fn into_store(self) -> Self::Store;

    /// Whether [`reopen`](Self::reopen) opens a new store.
    fn can_reopen(&self) -> bool;

    /// Drops or closes the store and opens another over the same data; a store that cannot be
    /// reopened comes back as it is.
    fn reopen(self) -> impl Future<Output = Self> + Send
    where
        Self: Sized;
}

impl<S: KeyStore> StoreUnderTest for S {
    type Store = S;

    fn store(&self) -> &S {
        self
    }

    fn into_store(self) -> S {
        self
    }

    fn can_reopen(&self) -> bool {
        false
    }

    async fn reopen(self) -> S {
        self
    }
}

type Reopening<S> = Pin<Box<dyn Future<Output = S> + Send>>;

/// A store, and how to open another over the data it wrote: what
/// [`key_store_conformance!`](crate::key_store_conformance)'s `reopen` makes.
///
/// ```ignore
/// let store = Reopenable::new(MyStore::open(&path).await, |store: MyStore| async move {
///     let path = store.path().to_owned();
///     drop(store);
///     MyStore::open(path).await
/// });
/// formbox_auth::testing::conformance::every_field_round_trips_exactly(store).await;
/// ```
pub struct Reopenable<S> {
    store: S,
    reopen: Box<dyn Fn(S) -> Reopening<S> + Send + Sync>,
}

impl<S: KeyStore> Reopenable<S> {
    /// `store`, reopened by `reopen`: given the store to replace, it drops or closes it (so that
    /// nothing it holds in memory survives) and opens a new one over the same file, database or
    /// table.
    pub fn new<R, F>(store: S, reopen: R) -> Self
    where
        R: Fn(S) -> F + Send + Sync + 'static,
        F: Future<Output = S> + Send + 'static,
    {
        Self {
            store,
            reopen: Box::new(move |store| Box::pin(reopen(store))),
        }
    }
}

impl<S: KeyStore> StoreUnderTest for Reopenable<S> {
    type Store = S;

    fn store(&self) -> &S {
        &self.store
    }

    fn into_store(self) -> S {
        self.store
    }

    fn can_reopen(&self) -> bool {
        true
    }

    async fn reopen(self) -> Self {
        let Self { store, reopen } = self;
        let store = reopen(store).await;
        Self { store, reopen }
    }
}

impl<S: fmt::Debug> fmt::Debug for Reopenable<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reopenable")
            .field("store", &self.store)
            .finish_non_exhaustive()
    }
}
