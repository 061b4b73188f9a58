//! The integration tests, one binary: a module per concept, fixtures in `common`.
//!
//! One binary links axum, sqlx, redis and tonic once instead of once per file. Tests that need a
//! server (PostgreSQL in `FORMBOX_TEST_POSTGRES_URL`, Redis in `FORMBOX_TEST_REDIS_URL`) are
//! skipped or fail as each module says; `scripts/test.sh` starts both.

#[path = "../../examples/server/app.rs"]
#[allow(dead_code)]
mod app;
mod common;

mod architecture;
mod axum_extractor;
mod bad_input;
mod broken_stores;
mod cache;
mod cache_postgres;
mod concurrency;
mod conformance;
mod example_server;
mod first_key;
mod grants;
mod fuzz_regressions;
mod grpc;
mod hygiene;
mod key_format;
mod layer;
mod lifecycle;
mod management;
mod metrics;
mod migrate;
mod pagination;
mod rate_limit;
mod redaction;
mod redis_invalidation;
mod redis_limiter;
mod scanner_rules;
mod scopes;
mod secret_scanning;
mod dashboard;
mod demo_sign_in;
mod store_faults;
mod store_outage;
mod timeouts;
mod update;
