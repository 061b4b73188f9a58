//! Tools for testing code that uses the crate, and for testing a [`KeyStore`](crate::KeyStore)
//! backend (feature `testing`).
//!
//! - [`key_store_conformance!`](crate::key_store_conformance) runs the behaviours in
//!   [`conformance`] against a backend: what every store must do for the crate to be correct on
//!   it.
//! - [`TestStore`] wraps any store to count its calls, inject errors, hangs and delays, or hold
//!   a call until a test lets it go.
//! - [`ManualClock`] is a clock that moves only when told, to step over expiries and grace
//!   periods without sleeping.
//!
//! ```toml
//! [dev-dependencies]
//! formbox-auth = { version = "0.1", features = ["testing"] }
//! tokio = { version = "1", features = ["macros", "rt-multi-thread"] }
//! ```

mod clock;
pub mod conformance;
mod store;

pub use clock::ManualClock;
pub use store::{Fault, Gate, Method, TestStore};
