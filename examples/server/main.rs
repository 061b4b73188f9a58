//! The example server: `cargo run --example server -- [--addr HOST:PORT] [--store SPEC]
//! [--limiter memory|redis:URL] [--scanning-keys FILE]`.
//!
//! It makes sure the demo organization has keys (printing them when it creates them), then serves
//! `/health`, `/v1/me`, `/v1/forms`, the key management API under `/v1/api-keys`, its OpenAPI
//! description at `/openapi.json`, and the Settings › API Keys page at `/settings/api-keys`,
//! until Ctrl-C. It prints a one-time sign-in link for the page (`dashboard: ...`).
//!
//! Keys with a rate limit of their own are limited: in this process by default, or with
//! `--limiter redis:redis://HOST:PORT` through Redis, one budget per key for every instance.
//!
//! With `--scanning-keys FILE`, GitHub's secret scanning public keys saved in FILE (the JSON of
//! `https://api.github.com/meta/public_keys/secret_scanning`), it also serves
//! `POST /secret-scanning/github`, where GitHub reports leaked keys to be revoked.

mod app;
#[path = "../support/args.rs"]
mod args;
mod dashboard;
#[path = "../support/limiter.rs"]
mod limiter;
#[path = "../support/store.rs"]
mod store;

use std::{error::Error, time::Duration};

use formbox_auth::{Authenticator, KeyManager, SecretScanning, StaticPublicKeys};
use tokio::net::TcpListener;

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let args = args::Args::parse(std::env::args().skip(1))?;
    args.only(&["addr", "store", "limiter", "scanning-keys"])?;
    let addr = args.get("addr").unwrap_or("127.0.0.1:3000");
    let store = store::open_store(args.get("store").unwrap_or(store::DEFAULT_STORE)).await?;
    let manager = KeyManager::from_authenticator(Authenticator::from_shared(store));
    let limits = limiter::open_limiter(args.get("limiter").unwrap_or(limiter::DEFAULT_LIMITER))?;
    // Read before serving, so that a missing or malformed key list stops the server at once.
    let scanning_keys = args
        .get("scanning-keys")
        .map(StaticPublicKeys::from_file)
        .transpose()?;

    for (permission, key) in app::ensure_demo_keys(&manager).await? {
        println!("{permission} key: {key}");
    }
    let flusher = manager.spawn_usage_flusher(Duration::from_secs(10));
    let listener = TcpListener::bind(addr).await?;
    println!("listening on http://{}", listener.local_addr()?);
    let dashboard = dashboard::Dashboard::new(manager.clone());
    let token = dashboard.sign_in_token(app::DEMO_ORGANIZATION.into())?;
    println!(
        "dashboard: http://{}/dashboard/sign-in?token={token}",
        listener.local_addr()?
    );

    // GitHub signs its reports instead of presenting an API key: the route sits outside the
    // API-key layer that `app::app` puts on its own routes.
    let secret_scanning = scanning_keys.map(|keys| SecretScanning::new(manager.clone(), keys));
    let state = app::AppState::new(manager).with_rate_limits(limits);
    let mut app = app::app(state).merge(dashboard.router());
    if let Some(secret_scanning) = secret_scanning {
        app = app.nest("/secret-scanning/github", secret_scanning.router());
    }
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown_signal())
        .await?;
    flusher.shutdown().await;
    Ok(())
}

/// Ctrl-C, or SIGTERM as process managers send.
async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
