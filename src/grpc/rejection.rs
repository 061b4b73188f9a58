//! Rejections as gRPC statuses, for servers where every request is gRPC.

use http::Response;

use crate::{
    middleware::OnRejection,
    rejection::{Rejection, grpc::trailers_only},
};

/// Answers every rejection with a gRPC status in a trailers-only response (HTTP `200`,
/// `grpc-status`, `grpc-message`), whatever the request's content type. For tonic servers: its
/// body type is empty by default but cannot be built from JSON, so the default
/// [`JsonRejection`](crate::middleware::JsonRejection) does not fit it.
///
/// ```
/// use formbox_auth::{grpc::{GrpcPolicy, GrpcRejection}, ApiKeyAuthLayer, MemoryStore, Permission};
///
/// let layer = ApiKeyAuthLayer::new(MemoryStore::new())
///     .with_classifier(GrpcPolicy::new().service("formbox.v1.Forms", Permission::ReadOnly))
///     .with_rejection(GrpcRejection);
/// // tonic::transport::Server::builder().layer(layer).add_service(...)
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct GrpcRejection;

impl<B: Default> OnRejection<B> for GrpcRejection {
    fn on_rejection(&self, rejection: Rejection) -> Response<B> {
        trailers_only(rejection, B::default())
    }
}
