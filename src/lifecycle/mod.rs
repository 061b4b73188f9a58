//! Key lifecycle: [`KeyManager`](crate::KeyManager) creates, lists, renames, revokes,
//! regenerates, expires and rate-limits keys, and ensures an organization's first one; these are
//! the values it takes and answers.

mod bound;
mod changes;
mod ensure;
mod error;
mod info;
mod leak;
pub(crate) mod manager;
mod name;
mod new_key;
mod page;

pub use changes::KeyChanges;
pub use ensure::EnsuredKey;
pub use error::{ManageError, ManageResult};
pub use info::{CreatedKey, KeyInfo};
pub use leak::LeakOutcome;
pub use new_key::NewKey;
pub use page::KeyPage;
