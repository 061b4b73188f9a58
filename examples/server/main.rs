//! The example server: `cargo run --example server -- [--addr HOST:PORT] [--store SPEC]
//! [--invalidation postgres|redis:URL] [--limiter memory|redis:URL] [--scanning-keys FILE]
//! [--max-keys N] [--header-timeout SECS] [--idle-timeout SECS]`; `--help` lists them.
//!
//! It makes sure the demo organization has keys (printing them when it creates them), then serves
//! `/health`, `/v1/me`, `/v1/forms`, `/v1/submissions`, the key management API under
//! `/v1/api-keys`, its OpenAPI description at `/openapi.json`, and the Settings › API Keys page
//! at `/settings/api-keys` (the crate's `Dashboard`), until Ctrl-C. It prints a one-time
//! sign-in link for the page (`dashboard: ...`): the demo's stand-in for a real sign-in.
//!
//! `GET /metrics` answers the crate's metrics (requests by outcome and rejection code,
//! verification latency, cache lookups, store errors, last-used writes) in Prometheus's text
//! format, without a key, like `/health`.
//!
//! Its cache hears of keys other instances change through PostgreSQL's `LISTEN`/`NOTIFY` with a
//! `postgres:` store, or with `--invalidation redis:redis://HOST:PORT` through Redis pub/sub,
//! which holds no PostgreSQL connection open (and works for a SQLite file shared by processes).
//!
//! Keys with a rate limit of their own are limited: in this process by default, or with
//! `--limiter redis:redis://HOST:PORT` through Redis, one budget per key for every instance.
//!
//! With `--scanning-keys FILE`, GitHub's secret scanning public keys saved in FILE (the JSON of
//! `https://api.github.com/meta/public_keys/secret_scanning`), it also serves
//! `POST /secret-scanning/github`, where GitHub reports leaked keys to be revoked.
//!
//! Besides the `full_access` and `read_only` presets, keys may be `restricted` to scopes over the
//! resources `forms`, `submissions` and `api_keys` (`support/resources.rs`): each route needs
//! `RESOURCE:read` to read and `RESOURCE:write` to write, and managing keys `api_keys:write`.
//!
//! An organization has at most [`app::MAX_KEYS_PER_ORGANIZATION`] active keys (`--max-keys`).
//! Connections are served with a header-read and an idle timeout (`support/serving.rs`).

mod app;
#[path = "../support/args.rs"]
mod args;
#[path = "../support/limiter.rs"]
mod limiter;
#[path = "../support/serving.rs"]
mod serving;
mod sign_in;
#[path = "../support/store.rs"]
mod store;

use std::{error::Error, time::Duration};

use args::{Args, Flag};
use axum::{http::header, routing::get};
use formbox_auth::{
    Authenticator, KeyManager,
    dashboard::Dashboard,
    metrics::AuthMetrics,
    secret_scanning::{SecretScanning, StaticPublicKeys},
};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tokio::net::TcpListener;

/// Where the Settings › API Keys page is mounted.
const PAGE_PATH: &str = "/settings/api-keys";

/// The flags, for parsing and for `--help`.
const FLAGS: [Flag; 8] = [
    Flag::new("addr", "HOST:PORT", "listen here (default 127.0.0.1:3000)"),
    store::STORE_FLAG,
    store::INVALIDATION_FLAG,
    Flag::new(
        "limiter",
        "SPEC",
        "where keys' rate limits are counted: memory (default) or redis:URL",
    ),
    Flag::new(
        "scanning-keys",
        "FILE",
        "GitHub's secret scanning public keys (JSON): serves POST /secret-scanning/github",
    ),
    Flag::new(
        "max-keys",
        "N",
        "the most active keys an organization may have (default 100)",
    ),
    serving::HEADER_TIMEOUT_FLAG,
    serving::IDLE_TIMEOUT_FLAG,
];

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    serving::init_tracing();
    let help = format!(
        "The example server: an API behind formbox-auth keys, their management API and the \
         Settings › API Keys page.\n\nusage: server [FLAGS]\n\n{}",
        args::describe(&FLAGS)
    );
    let args = Args::from_env(&FLAGS, &help);
    let timeouts = serving::Timeouts::from_args(&args)?;
    let max_keys = match args.get("max-keys") {
        Some(n) => n
            .parse()
            .map_err(|_| format!("--max-keys: {n:?} is not a number"))?,
        None => app::MAX_KEYS_PER_ORGANIZATION,
    };
    let addr = args.get("addr").unwrap_or("127.0.0.1:3000");
    let store_spec = args.get("store").unwrap_or(store::DEFAULT_STORE);
    let invalidation = store::Invalidation::parse(args.get("invalidation"), store_spec)
        .unwrap_or_else(|error| args::exit_usage(&error));
    let store = store::open_store(store_spec, &invalidation).await?;
    // The recorder comes first: `AuthMetrics` registers its series with the one installed
    // when it is built.
    let prometheus = install_prometheus()?;
    let authenticator = Authenticator::new(store).with_metrics(AuthMetrics::new());
    let manager = KeyManager::new(authenticator)
        .with_resources(app::resources::declare()?)
        .with_max_keys_per_organization(max_keys);
    let limits = limiter::open_limiter(args.get("limiter").unwrap_or(limiter::DEFAULT_LIMITER))?;
    // Read before serving, so that a missing or malformed key list stops the server at once.
    let scanning_keys = args
        .get("scanning-keys")
        .map(StaticPublicKeys::from_file)
        .transpose()?;

    for (permission, key) in app::ensure_demo_keys(&manager).await? {
        println!("{permission} key: {key}");
    }
    let flusher = manager
        .authenticator()
        .spawn_usage_flusher(Duration::from_secs(10));
    let listener = TcpListener::bind(addr).await?;
    println!("listening on http://{}", listener.local_addr()?);
    let sign_in = sign_in::DemoSignIn::new(PAGE_PATH);
    let token = sign_in.token(app::DEMO_ORGANIZATION.into())?;
    println!(
        "dashboard: http://{}/sign-in?token={token}",
        listener.local_addr()?
    );
    let dashboard = Dashboard::new(manager.clone(), sign_in.clone())
        .product_name("Formbox")
        .back_link("Formbox", "/");

    // GitHub signs its reports instead of presenting an API key: the route sits outside the
    // API-key layer that `app::app` puts on its own routes.
    let secret_scanning = scanning_keys.map(|keys| SecretScanning::new(manager.clone(), keys));
    let state = app::AppState::new(manager).with_rate_limits(limits);
    let mut app = app::app(state)
        .merge(sign_in.router())
        .nest(PAGE_PATH, dashboard.router());
    if let Some(secret_scanning) = secret_scanning {
        app = app.nest("/secret-scanning/github", secret_scanning.router());
    }
    // Scraped by Prometheus, which presents no API key: outside the layer, like `/health`.
    app = app.route(
        "/metrics",
        get(move || {
            let content_type = [(header::CONTENT_TYPE, "text/plain; version=0.0.4")];
            std::future::ready((content_type, prometheus.render()))
        }),
    );
    serving::serve(listener, app, timeouts, serving::shutdown_signal()).await?;
    flusher.shutdown().await;
    Ok(())
}

/// Installs the Prometheus recorder, with buckets for the verification latency (it renders
/// histograms as summaries otherwise), and keeps its histograms' windows moving.
fn install_prometheus() -> Result<PrometheusHandle, Box<dyn Error>> {
    let latency = Matcher::Full(AuthMetrics::VERIFICATION_DURATION_SECONDS.to_owned());
    let handle = PrometheusBuilder::new()
        .set_buckets_for_metric(latency, AuthMetrics::VERIFICATION_BUCKETS)?
        .install_recorder()?;
    let upkeep = handle.clone();
    tokio::spawn(async move {
        let mut every = tokio::time::interval(Duration::from_secs(5));
        loop {
            every.tick().await;
            upkeep.run_upkeep();
        }
    });
    Ok(handle)
}
