//! The layer on a plain hyper 1 server, without axum:
//! `cargo run --example hyper -- [--addr HOST:PORT] [--header-timeout SECS] [--idle-timeout SECS]`.
//!
//! The layered tower service is served by hyper-util's connection builder, HTTP/1.1 or HTTP/2,
//! through the examples' serve loop (`support/serving.rs`: timeouts, graceful shutdown); the
//! layer puts the caller's `AuthContext` into the request's extensions, where the handler reads
//! it. Keys live in memory: the two demo keys printed at start work until the process ends.
//!
//! ```text
//! curl -H "api-key: $KEY" http://127.0.0.1:3002/v1/me
//! ```

#[path = "support/args.rs"]
mod args;
#[path = "support/demo.rs"]
mod demo;
#[path = "support/serving.rs"]
mod serving;

use std::{convert::Infallible, error::Error};

use args::{Args, Flag};
use formbox_auth::ApiKeyAuthLayer;
use formbox_auth::{AuthContext, KeyManager, MemoryStore};
use http::{Request, Response, StatusCode, header};
use hyper::body::Incoming;
use tokio::net::TcpListener;
use tower::{ServiceBuilder, service_fn};

const FLAGS: [Flag; 3] = [
    Flag::new("addr", "HOST:PORT", "listen here (default 127.0.0.1:3002)"),
    serving::HEADER_TIMEOUT_FLAG,
    serving::IDLE_TIMEOUT_FLAG,
];

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    serving::init_tracing();
    let help = format!(
        "The API-key layer on a plain hyper server, keys in memory.\n\n\
         usage: hyper [FLAGS]\n\n{}",
        args::describe(&FLAGS)
    );
    let args = Args::from_env(&FLAGS, &help);
    let timeouts = serving::Timeouts::from_args(&args)?;
    let manager = KeyManager::new(MemoryStore::new());
    for (permission, key) in demo::ensure_demo_keys(&manager).await? {
        println!("{permission} key: {key}");
    }
    // One service for every connection: cloning it per connection shares the layer's state.
    let service = ServiceBuilder::new()
        .layer(ApiKeyAuthLayer::new(manager.authenticator().clone()))
        .service(service_fn(handle));

    let listener = TcpListener::bind(args.get("addr").unwrap_or("127.0.0.1:3002")).await?;
    println!("listening on http://{}", listener.local_addr()?);
    // HTTP/1.1 or HTTP/2, whichever the client speaks, until Ctrl-C or SIGTERM.
    serving::serve(listener, service, timeouts, serving::shutdown_signal()).await?;
    Ok(())
}

/// `GET /v1/me` with any key, `POST /v1/me` with a full-access one (the layer's default policy
/// decides by method): who is calling.
async fn handle(request: Request<Incoming>) -> Result<Response<String>, Infallible> {
    let response = match request.extensions().get::<AuthContext>() {
        Some(context) if request.uri().path() == "/v1/me" => Response::builder()
            .header(header::CONTENT_TYPE, "application/json")
            .body(
                serde_json::json!({
                    "organization": context.organization().as_str(),
                    "key_id": context.key_id().to_string(),
                    "permission": context.access().as_str(),
                })
                .to_string(),
            ),
        // Only reachable without the layer in front: it lets no request through without one.
        None => Response::builder()
            .status(StatusCode::INTERNAL_SERVER_ERROR)
            .body(String::new()),
        Some(_) => Response::builder()
            .status(StatusCode::NOT_FOUND)
            .body(String::new()),
    };
    Ok(response.unwrap_or_default())
}
