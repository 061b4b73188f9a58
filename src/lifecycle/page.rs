//! One page of an organization's keys.

use super::info::KeyInfo;
use crate::store::ListCursor;

/// Keys of one page, newest first, and where the next page starts:
/// [`KeyManager::list_page`](crate::KeyManager::list_page).
///
/// With the `serde` feature it serializes as `{"keys": [...], "next_cursor": "..." | null}`.
#[derive(Debug, Clone)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct KeyPage {
    /// The keys, newest first, without digests.
    pub keys: Vec<KeyInfo>,
    /// Pass it back for the next page; `None` on the last page.
    pub next_cursor: Option<ListCursor>,
}

impl KeyPage {
    /// How many keys a page holds when the caller does not say: what an API should use for a
    /// request without a limit.
    pub const DEFAULT_LIMIT: usize = 50;

    /// The most keys one page may hold: [`KeyManager::list_page`](crate::KeyManager::list_page)
    /// refuses larger limits, so one request reads a bounded number of rows.
    pub const MAX_LIMIT: usize = 100;
}
