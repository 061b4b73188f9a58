//! Every string the page shows, in one table a host can replace.

use std::{borrow::Cow, fmt};

/// The English table: key, text. `{name}`-style parts are filled in by the page's script.
const ENGLISH: &[(&str, &str)] = &[
    ("lang", "en"),
    ("page.title", "API Keys"),
    ("page.settings", "Settings"),
    ("page.organization", "Organization:"),
    ("page.breadcrumb", "Breadcrumb"),
    (
        "page.lead",
        "API keys let other apps access this organization's resources programmatically. Send \
         a key in the api-key header of each request.",
    ),
    ("page.tip_label", "Tip:"),
    (
        "page.tip",
        "give each key the least privilege it needs. A Read only key reads everything and \
         changes nothing.",
    ),
    ("table.caption", "API keys of this organization"),
    ("table.loading", "Loading API keys…"),
    ("table.empty", "No API keys yet. Create one to get started."),
    ("table.failed", "The API keys could not be loaded."),
    ("column.name", "Name"),
    ("column.permission", "Permission"),
    ("column.key", "Key"),
    ("column.created", "Created"),
    ("column.last_used", "Last used"),
    ("column.expires", "Expires"),
    ("column.rate_limit", "Rate limit"),
    ("column.status", "Status"),
    ("column.actions", "Actions"),
    ("table.scopes", "Scopes"),
    ("create.open", "Create API key"),
    ("create.title", "Create API key"),
    ("create.name", "Name"),
    (
        "create.name_hint",
        "Where the key is used, such as “CI” or “Zapier”.",
    ),
    ("create.name_missing", "Give the key a name."),
    ("create.permission", "Permission"),
    ("permission.full_access", "Full access"),
    (
        "permission.full_access_hint",
        "Read, create, change and delete all resources.",
    ),
    ("permission.read_only", "Read only"),
    (
        "permission.read_only_hint",
        "Read all resources, change nothing. Recommended unless the app must write.",
    ),
    ("permission.restricted", "Restricted"),
    (
        "permission.restricted_hint",
        "Only the resources you choose, each read only or read and write.",
    ),
    ("create.scopes", "Resources"),
    (
        "create.scopes_hint",
        "What the key may do with each resource. Write includes Read; None keeps the key out.",
    ),
    ("scopes.resource", "Resource"),
    ("scopes.level", "Access"),
    ("scope.none", "None"),
    ("scope.read", "Read"),
    ("scope.write", "Write"),
    (
        "create.scopes_missing",
        "Choose Read or Write for at least one resource.",
    ),
    ("create.expires", "Expires"),
    ("expiry.never", "Never"),
    ("expiry.30_days", "In 30 days"),
    ("expiry.90_days", "In 90 days"),
    ("expiry.1_year", "In 1 year"),
    ("create.rate_limit", "Rate limit"),
    ("create.rate_limit_requests", "Requests"),
    ("create.rate_limit_per", "Per"),
    (
        "create.rate_limit_hint",
        "Optional: the most requests the key may make per second, minute, hour or day. Leave \
         Requests empty for none.",
    ),
    (
        "create.rate_limit_invalid",
        "Requests must be a whole number from 1 to 1,000,000, or empty for no limit.",
    ),
    ("create.submit", "Create"),
    ("create.done", "API key “{name}” created."),
    ("window.1", "second"),
    ("window.60", "minute"),
    ("window.3600", "hour"),
    ("window.86400", "day"),
    ("dialog.cancel", "Cancel"),
    ("reveal.label", "New API key"),
    (
        "reveal.warning",
        "This key will not be shown again. Copy it now and store it somewhere safe.",
    ),
    ("reveal.copy", "Copy"),
    ("reveal.done", "Done"),
    ("reveal.copied", "Copied to the clipboard."),
    (
        "reveal.selected",
        "The key is selected: press Ctrl+C (⌘C on a Mac) to copy it.",
    ),
    ("regenerate.title", "Regenerate API key"),
    (
        "regenerate.question",
        "A new secret replaces the current one of {name} ({display}). Apps must switch to the \
         new key.",
    ),
    ("regenerate.grace", "Grace period"),
    ("grace.none", "None"),
    ("grace.1_hour", "1 hour"),
    ("grace.24_hours", "24 hours"),
    ("grace.7_days", "7 days"),
    (
        "regenerate.grace_hint",
        "How long the current secret keeps working beside the new one. With none, it stops \
         working at once.",
    ),
    ("regenerate.submit", "Regenerate key"),
    ("regenerate.done", "API key “{name}” regenerated."),
    ("revoke.title", "Revoke API key"),
    (
        "revoke.question",
        "Revoke {name} ({display})? Apps using it lose access. This cannot be undone.",
    ),
    ("revoke.submit", "Revoke key"),
    ("revoke.done", "API key “{name}” revoked."),
    ("row.regenerate", "Regenerate"),
    ("row.revoke", "Revoke"),
    ("rate_limit.none", "None"),
    ("rate_limit.value", "{requests} / {window}"),
    ("rate_limit.seconds", "{seconds} s"),
    ("status.active", "Active"),
    ("status.expired", "Expired"),
    ("status.revoked", "Revoked"),
    ("status.grace", "Old secret works until {time}"),
    ("time.never", "Never"),
    ("time.unknown", "—"),
    (
        "error.network",
        "The server could not be reached. Check that it is running, then try again.",
    ),
    ("error.http", "The server answered {status}."),
    (
        "error.invalid_response",
        "The server's answer was not JSON.",
    ),
    (
        "error.malformed_list",
        "The server's list of keys was malformed.",
    ),
    ("error.unexpected", "Something went wrong: {error}"),
    ("error.reload", "(Reload the page after signing in.)"),
    (
        "error.not_signed_in",
        "You are not signed in, or your session has expired. Sign in again, then reload this \
         page.",
    ),
    (
        "error.invalid_csrf_token",
        "This request did not carry the page's security token. Reload the page and try again.",
    ),
    (
        "error.cross_origin_request",
        "This request did not come from this page's site. Reload the page and try again.",
    ),
    (
        "error.api_key_name_taken",
        "Another API key of this organization already has this name.",
    ),
    (
        "error.too_many_api_keys",
        "This organization has as many API keys as allowed. Revoke one it no longer needs \
         first.",
    ),
    (
        "error.key_store_unavailable",
        "The keys cannot be read or changed right now. Try again in a moment.",
    ),
    ("notice.signed_out.title", "Sign in to manage API keys"),
    (
        "notice.signed_out.message",
        "Sign in, then open this page again.",
    ),
    ("notice.sign_in", "Sign in"),
    ("notice.failed.title", "This page cannot be shown"),
    (
        "notice.failed.message",
        "The server could not prepare the page. Try again in a moment.",
    ),
];

/// Every string the Settings › API Keys page shows, by key: English by default, each one
/// replaceable, so that the page can be translated or reworded.
///
/// Keys are dotted names such as `create.title`; [`PageText::keys`] lists them all. Some texts
/// hold `{name}`-style parts that the page fills in (`{name}`, `{display}`, `{requests}`,
/// `{window}`, `{seconds}`, `{time}`, `{status}`, `{error}`): keep them in a translation. `lang`
/// is the page's language tag. Texts named `error.CODE` replace the management API's message
/// for that error code on the page.
///
/// ```
/// use formbox_auth::dashboard::PageText;
///
/// let text = PageText::english()
///     .set("lang", "fr")?
///     .set("create.open", "Créer une clé d'API")?;
/// assert_eq!(text.get("create.open"), Some("Créer une clé d'API"));
/// assert!(PageText::english().set("create.opne", "typo").is_err());
/// # Ok::<(), formbox_auth::dashboard::UnknownTextKey>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct PageText {
    /// In the order of [`ENGLISH`], one entry per key.
    texts: Vec<Cow<'static, str>>,
}

impl PageText {
    /// The English texts.
    pub fn english() -> Self {
        Self {
            texts: ENGLISH
                .iter()
                .map(|(_, text)| Cow::Borrowed(*text))
                .collect(),
        }
    }

    /// Replaces the text of `key`. A key the page does not have is an error, so that a typo is
    /// not silently ignored.
    pub fn set(
        mut self,
        key: &str,
        text: impl Into<Cow<'static, str>>,
    ) -> Result<Self, UnknownTextKey> {
        let index = index_of(key).ok_or_else(|| UnknownTextKey(key.to_owned()))?;
        self.texts[index] = text.into();
        Ok(self)
    }

    /// The text of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        index_of(key).map(|index| self.texts[index].as_ref())
    }

    /// Every key, in the page's order.
    pub fn keys() -> impl Iterator<Item = &'static str> {
        ENGLISH.iter().map(|(key, _)| *key)
    }

    /// Every key with its text.
    pub(super) fn entries(&self) -> impl Iterator<Item = (&'static str, &str)> {
        Self::keys().zip(self.texts.iter().map(AsRef::as_ref))
    }
}

impl Default for PageText {
    fn default() -> Self {
        Self::english()
    }
}

impl fmt::Debug for PageText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.entries()).finish()
    }
}

fn index_of(key: &str) -> Option<usize> {
    ENGLISH.iter().position(|(known, _)| *known == key)
}

/// [`PageText::set`] was given a key the page does not have.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the page has no text `{0}` (PageText::keys lists them)")]
pub struct UnknownTextKey(String);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_unique() {
        let mut keys: Vec<_> = PageText::keys().collect();
        keys.sort_unstable();
        let before = keys.len();
        keys.dedup();
        assert_eq!(keys.len(), before);
    }

    #[test]
    fn set_replaces_only_its_key() {
        let text = PageText::english().set("row.revoke", "Widerrufen").unwrap();
        assert_eq!(text.get("row.revoke"), Some("Widerrufen"));
        assert_eq!(text.get("row.regenerate"), Some("Regenerate"));
        assert_eq!(
            PageText::english().set("nope", "x"),
            Err(UnknownTextKey("nope".into()))
        );
    }
}
