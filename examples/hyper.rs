//! The layer on a plain hyper 1 server, without axum:
//! `cargo run --example hyper -- [--addr HOST:PORT]`.
//!
//! hyper-util's `TowerToHyperService` turns the tower stack into a hyper service; the layer puts
//! the caller's `AuthContext` into the request's extensions, where the handler reads it. Keys
//! live in memory: the two demo keys printed at start work until the process ends.
//!
//! ```text
//! curl -H "api-key: $KEY" http://127.0.0.1:3002/v1/me
//! ```

#[path = "support/args.rs"]
mod args;
#[path = "support/demo.rs"]
mod demo;

use std::{convert::Infallible, error::Error};

use formbox_auth::ApiKeyAuthLayer;
use formbox_auth::{AuthContext, KeyManager, MemoryStore};
use http::{Request, Response, StatusCode, header};
use hyper::body::Incoming;
use hyper_util::{
    rt::{TokioExecutor, TokioIo},
    server::conn::auto,
    service::TowerToHyperService,
};
use tokio::net::TcpListener;
use tower::{ServiceBuilder, service_fn};

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let args = args::Args::parse(std::env::args().skip(1))?;
    args.only(&["addr"])?;
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
    loop {
        let (stream, _) = listener.accept().await?;
        let service = TowerToHyperService::new(service.clone());
        tokio::spawn(async move {
            // HTTP/1.1 or HTTP/2, whichever the client speaks.
            let builder = auto::Builder::new(TokioExecutor::new());
            let connection = builder.serve_connection(TokioIo::new(stream), service);
            if let Err(error) = connection.await {
                eprintln!("connection ended with an error: {error}");
            }
        });
    }
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
                    "permission": context.permission(),
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
