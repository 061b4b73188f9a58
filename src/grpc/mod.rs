//! gRPC: rejections as gRPC statuses, and permissions by gRPC method.
//!
//! gRPC runs over HTTP/2 with every call a `POST` to `/package.Service/Method`, so the layer
//! serves tonic (or any gRPC server built on tower) as it is. Two things differ from JSON APIs:
//!
//! - **Rejections.** A gRPC client reads the outcome from `grpc-status`, not from the HTTP
//!   status; a `401` would reach it as a transport failure. The layer answers a gRPC request
//!   (`content-type: application/grpc…`) with a trailers-only response instead: HTTP `200` and
//!   the status in `grpc-status` and `grpc-message`. [`JsonRejection`](crate::middleware::JsonRejection),
//!   the default, does so on its own; [`GrpcRejection`] does it for every request, for tonic's
//!   body type, which cannot hold a JSON body.
//!
//!   | rejection | `grpc-status` |
//!   |---|---|
//!   | missing, invalid, revoked or expired key | `UNAUTHENTICATED` (16) |
//!   | permission too low (`grpc-message` names the permission needed) | `PERMISSION_DENIED` (7) |
//!   | more than one key | `INVALID_ARGUMENT` (3) |
//!   | the key store failed | `UNAVAILABLE` (14) |
//!   | the key's rate limit is spent | `RESOURCE_EXHAUSTED` (8) |
//!
//! - **Permissions.** Every call is a `POST`, so the method-based [`PermissionPolicy`]
//!   would make every call need `full_access`. [`GrpcPolicy`] decides by service and method
//!   instead, and lets the standard health service through without a key.
//!
//! The key travels in the `api-key` metadata entry, which is the `api-key` header.
//!
//! [`PermissionPolicy`]: crate::PermissionPolicy

mod policy;
mod rejection;

pub use policy::GrpcPolicy;
pub use rejection::GrpcRejection;
