//! The gRPC example: `cargo run --example grpc -- [--addr HOST:PORT] [--store SPEC]
//! [--rate-limit N/SECONDS]`; `--help` lists them.
//!
//! It makes sure the demo organization has keys (printing them when it creates them), then serves
//! `formbox.v1.Forms` (`proto/formbox/v1/forms.proto`) and the standard health service over
//! gRPC until Ctrl-C or SIGTERM. Calls present their key in the `api-key` metadata entry:
//! `ListForms` needs `forms:read` (a `read_only` key holds it), `CreateForm` `forms:write` (a
//! `full_access` key holds it), and health checks no key. A `restricted` key (the `keys`
//! example's `--permission restricted --scope forms:read`) needs the scope itself; without it a
//! call is `PERMISSION_DENIED`, naming the scope.
//! With `--rate-limit 5/60`, every key may make 5 calls a minute.

mod app;
#[path = "../support/args.rs"]
mod args;
#[path = "../support/demo.rs"]
mod demo;
#[path = "../support/rate_limit.rs"]
mod rate_limit;
#[path = "../support/resources.rs"]
mod resources;
#[path = "../support/serving.rs"]
mod serving;
#[path = "../support/store.rs"]
mod store;

use std::{error::Error, time::Duration};

use args::{Args, Flag};
use formbox_auth::ApiKeyAuthLayer;
use formbox_auth::{
    Authenticator, KeyManager, Permission,
    rate_limit::{MemoryLimiter, RateLimits},
};
use tokio::net::TcpListener;
use tokio_stream::wrappers::TcpListenerStream;

/// The flags, for parsing and for `--help`.
const FLAGS: [Flag; 3] = [
    Flag::new("addr", "HOST:PORT", "listen here (default 127.0.0.1:50051)"),
    store::STORE_FLAG,
    Flag::new(
        "rate-limit",
        "N/SECONDS",
        "let every key make at most N calls per SECONDS seconds (default: no limit)",
    ),
];

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    serving::init_tracing();
    let help = format!(
        "The gRPC example: formbox.v1.Forms behind formbox-auth keys, and the health service.\n\n\
         usage: grpc [FLAGS]\n\n{}",
        args::describe(&FLAGS)
    );
    let args = Args::from_env(&FLAGS, &help);
    let addr = args.get("addr").unwrap_or("127.0.0.1:50051");
    let rate_limit = args
        .get("rate-limit")
        .map(rate_limit::parse_rate_limit)
        .transpose()?;
    let store = store::open_store(
        args.get("store").unwrap_or(store::DEFAULT_STORE),
        &store::Invalidation::Store,
    )
    .await?;
    // The HTTP example's declaration: the forms service is its `forms` resource, and a key the
    // `keys` command line restricts to `forms:read` means the same here.
    let resources = resources::declare()?;
    let forms = resources::declared(&resources, resources::FORMS)?;
    let manager = KeyManager::new(Authenticator::new(store)).with_resources(resources);

    for (permission, key) in demo::ensure_demo_keys(&manager).await? {
        println!("{permission} key: {key}");
    }
    let flusher = manager
        .authenticator()
        .spawn_usage_flusher(Duration::from_secs(10));
    let mut layer = ApiKeyAuthLayer::new(manager.authenticator().clone());
    if let Some(limit) = rate_limit {
        let limits = RateLimits::new(MemoryLimiter::new())
            .default_for(Permission::ReadOnly, limit)
            .default_for(Permission::FullAccess, limit);
        layer = layer.with_rate_limits(limits);
    }
    let listener = TcpListener::bind(addr).await?;
    println!("listening on http://{}", listener.local_addr()?);

    app::router(app::grpc_layer(layer, forms))
        .await
        .serve_with_incoming_shutdown(TcpListenerStream::new(listener), serving::shutdown_signal())
        .await?;
    flusher.shutdown().await;
    Ok(())
}
