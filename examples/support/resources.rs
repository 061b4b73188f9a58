//! The resources restricted keys are scoped over, declared once for the `server`, `grpc` and
//! `keys` examples: a key the command line creates in a store means the same to each server.
#![allow(dead_code)]

use formbox_auth::permission::{InvalidScope, Resource, Resources};

/// The forms API: `GET /v1/forms` reads, `POST /v1/forms` writes; gRPC's `ListForms` and
/// `CreateForm`.
pub const FORMS: &str = "forms";

/// The submissions API: `GET /v1/submissions` reads, `POST /v1/submissions` writes.
pub const SUBMISSIONS: &str = "submissions";

/// The key management API under `/v1/api-keys`: managing keys needs `api_keys:write`. The
/// crate's management API names its scopes after this resource (`management::API_KEYS`).
pub const API_KEYS: &str = "api_keys";

/// Every resource, in the order lists and `--help` show them.
pub const NAMES: [&str; 3] = [FORMS, SUBMISSIONS, API_KEYS];

/// The declaration, for the `KeyManager` and the routes' policy alike.
pub fn declare() -> Result<Resources, InvalidScope> {
    Resources::new(NAMES)
}

/// The resource `name` of `resources`; an error rather than a panic if it is not declared.
pub fn declared(resources: &Resources, name: &str) -> Result<Resource, InvalidScope> {
    resources
        .get(name)
        .ok_or_else(|| InvalidScope::Undeclared(name.to_owned()))
}
