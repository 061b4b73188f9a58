//! GitHub's public keys, fetched by the host and refreshed when a new key appears.

use std::{
    collections::HashMap,
    error::Error as StdError,
    fmt,
    future::Future,
    pin::Pin,
    sync::{Arc, RwLock},
    time::{Duration, Instant},
};

use async_trait::async_trait;

use super::{
    error::ProviderError,
    provider::PublicKeyProvider,
    public_key::{GithubPublicKey, parse_key_list},
};

type BoxError = Box<dyn StdError + Send + Sync>;
type Fetched = Pin<Box<dyn Future<Output = Result<String, BoxError>> + Send>>;
type Fetch = dyn Fn() -> Fetched + Send + Sync;

/// GitHub's public keys, fetched through a function the host supplies (with its own HTTP
/// client) that returns the JSON of `GET https://api.github.com/meta/public_keys/secret_scanning`.
///
/// The keys are kept. A report signed with a key not among them makes it fetch the list again,
/// since GitHub may have started signing with a new key, but never sooner than
/// [`with_min_interval`](Self::with_min_interval) (60 s by default) after the previous fetch:
/// the identifier is chosen by whoever sends the request, and a flood of made-up ones must not
/// turn into a flood of fetches. Fetches never run at once; a report that waited for one uses
/// its keys. Give the fetch a timeout of its own: while it runs, reports signed with a key not
/// yet known wait for it (reports signed with a known key do not).
///
/// ```
/// use formbox_auth::secret_scanning::FetchingPublicKeys;
///
/// let keys = FetchingPublicKeys::new(|| async {
///     // e.g. reqwest::get("https://api.github.com/meta/public_keys/secret_scanning")
///     //     .await?.text().await
///     Ok::<_, std::io::Error>(String::from(r#"{"public_keys": []}"#))
/// });
/// ```
#[derive(Clone)]
pub struct FetchingPublicKeys {
    fetch: Arc<Fetch>,
    min_interval: Duration,
    keys: Arc<RwLock<Arc<HashMap<String, GithubPublicKey>>>>,
    // Held for the whole fetch, so that fetches never overlap. Holds when the last one started.
    last_fetch: Arc<tokio::sync::Mutex<Option<Instant>>>,
}

impl FetchingPublicKeys {
    /// The default least time between two fetches.
    pub const DEFAULT_MIN_FETCH_INTERVAL: Duration = Duration::from_secs(60);

    /// Keys fetched by `fetch`, the first time a report arrives.
    pub fn new<F, Fut, E>(fetch: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<String, E>> + Send + 'static,
        E: Into<BoxError>,
    {
        let fetch = move || -> Fetched {
            let fetched = fetch();
            Box::pin(async move { fetched.await.map_err(Into::into) })
        };
        Self {
            fetch: Arc::new(fetch),
            min_interval: Self::DEFAULT_MIN_FETCH_INTERVAL,
            keys: Arc::default(),
            last_fetch: Arc::default(),
        }
    }

    /// The least time between two fetches.
    #[must_use]
    pub fn with_min_interval(mut self, interval: Duration) -> Self {
        self.min_interval = interval;
        self
    }

    fn cached(&self, identifier: &str) -> Option<GithubPublicKey> {
        // A poisoned lock still holds a complete map: it is only ever replaced whole.
        let keys = self
            .keys
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        keys.get(identifier).cloned()
    }

    async fn refresh(&self) -> Result<(), ProviderError> {
        let json = (self.fetch)().await.map_err(ProviderError::Fetch)?;
        let keys = Arc::new(parse_key_list(&json)?);
        *self
            .keys
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = keys;
        Ok(())
    }
}

#[async_trait]
impl PublicKeyProvider for FetchingPublicKeys {
    async fn key(&self, identifier: &str) -> Result<Option<GithubPublicKey>, ProviderError> {
        if let Some(key) = self.cached(identifier) {
            return Ok(Some(key));
        }
        let mut last_fetch = self.last_fetch.lock().await;
        // A fetch that finished while this report waited may have brought the key.
        if let Some(key) = self.cached(identifier) {
            return Ok(Some(key));
        }
        if last_fetch.is_some_and(|at| at.elapsed() < self.min_interval) {
            return Ok(None);
        }
        // Counted from the start, so that failing fetches are bounded too.
        *last_fetch = Some(Instant::now());
        self.refresh().await?;
        Ok(self.cached(identifier))
    }
}

impl fmt::Debug for FetchingPublicKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FetchingPublicKeys")
            .field("min_interval", &self.min_interval)
            .finish_non_exhaustive()
    }
}
