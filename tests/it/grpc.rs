//! The gRPC example's server, called by a tonic client over a real connection: every rejection
//! arrives as the gRPC status a client expects, and handlers act for the key's organization.

#[path = "../../examples/grpc/app.rs"]
#[allow(dead_code)]
mod app;

use std::{
    net::SocketAddr,
    time::{Duration, SystemTime},
};

use app::proto::{
    CreateFormRequest, ListFormsRequest, ListFormsResponse, forms_client::FormsClient,
};
use formbox_auth::ApiKeyAuthLayer;
use formbox_auth::lifecycle::NewKey;
use formbox_auth::{
    Access, Authenticator, KeyFormat, KeyManager, MemoryStore, OrganizationId, Permission,
    clock::Clock,
    rate_limit::{MemoryLimiter, RateLimit, RateLimits},
    testing::{Fault, ManualClock, Method, TestStore},
};
use http_body_util::BodyExt;
use tokio::net::TcpListener;
use tokio_stream::wrappers::TcpListenerStream;
use tonic::{Code, Request, Status, codegen::http::uri::PathAndQuery, transport::Channel};
use tonic_health::pb::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};
use tower::{Service, ServiceExt};

const ORGANIZATION: &str = "org_grpc";

/// The example's server on a loopback port, with a clock and a store the test controls.
struct Server {
    addr: SocketAddr,
    manager: KeyManager,
    store: TestStore<MemoryStore>,
    clock: ManualClock,
    organization: OrganizationId,
    full: String,
    read_only: String,
}

impl Server {
    async fn start() -> Self {
        Self::start_with(None).await
    }

    async fn start_with(limits: Option<RateLimits>) -> Self {
        let store = TestStore::new(MemoryStore::new());
        let clock = ManualClock::new(SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000));
        let authenticator = Authenticator::new(store.clone()).with_clock(clock.clone());
        // The server example's declaration, which the gRPC example's `main` uses too.
        let resources = crate::app::resources::declare().unwrap();
        let forms = resources.get(crate::app::resources::FORMS).unwrap();
        let manager = KeyManager::new(authenticator).with_resources(resources);
        let mut layer = ApiKeyAuthLayer::new(manager.authenticator().clone());
        if let Some(limits) = limits {
            layer = layer.with_rate_limits(limits);
        }
        let router = app::router(app::grpc_layer(layer, forms)).await;
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(router.serve_with_incoming(TcpListenerStream::new(listener)));

        let mut server = Self {
            addr,
            manager,
            store,
            clock,
            organization: OrganizationId::from(ORGANIZATION),
            full: String::new(),
            read_only: String::new(),
        };
        server.full = server.key("full", Permission::FullAccess, None).await;
        server.read_only = server.key("read only", Permission::ReadOnly, None).await;
        server
    }

    /// A new key of the server's organization, in plaintext.
    async fn key(
        &self,
        name: &str,
        permission: impl Into<Access>,
        expires_at: Option<SystemTime>,
    ) -> String {
        let created = self
            .manager
            .create(
                &self.organization,
                NewKey::new(name, permission).expires_at(expires_at),
            )
            .await
            .unwrap();
        created.key.expose_secret().to_owned()
    }

    async fn channel(&self) -> Channel {
        Channel::from_shared(format!("http://{}", self.addr))
            .unwrap()
            .connect()
            .await
            .unwrap()
    }

    async fn client(&self) -> FormsClient<Channel> {
        FormsClient::new(self.channel().await)
    }

    async fn list(&self, keys: &[&str]) -> Result<ListFormsResponse, Status> {
        let request = with_keys(ListFormsRequest {}, keys);
        let response = self.client().await.list_forms(request).await?;
        Ok(response.into_inner())
    }

    async fn create(&self, keys: &[&str], name: &str) -> Result<app::proto::Form, Status> {
        let request = with_keys(
            CreateFormRequest {
                name: name.to_owned(),
            },
            keys,
        );
        let response = self.client().await.create_form(request).await?;
        Ok(response.into_inner())
    }

    /// Calls `/formbox.v1.Forms/DeleteForm`, which neither the policy nor the service knows.
    async fn call_unlisted(&self, key: &str) -> Result<ListFormsResponse, Status> {
        let mut grpc = tonic::client::Grpc::new(self.channel().await);
        grpc.ready().await.unwrap();
        let codec = tonic_prost::ProstCodec::<ListFormsRequest, ListFormsResponse>::default();
        let path = PathAndQuery::from_static("/formbox.v1.Forms/DeleteForm");
        let response = grpc
            .unary(with_keys(ListFormsRequest {}, &[key]), path, codec)
            .await?;
        Ok(response.into_inner())
    }
}

/// `message` with each of `keys` in an `api-key` metadata entry of its own.
fn with_keys<T>(message: T, keys: &[&str]) -> Request<T> {
    let mut request = Request::new(message);
    for key in keys {
        request
            .metadata_mut()
            .append("api-key", key.parse().unwrap());
    }
    request
}

/// Fails unless `outcome` is the status `code`, and returns it.
#[track_caller]
fn status_of<T: std::fmt::Debug>(outcome: Result<T, Status>, code: Code) -> Status {
    let status = outcome.expect_err("the call succeeded");
    assert_eq!(status.code(), code, "{status:?}");
    status
}

#[tokio::test]
async fn read_only_key_lists_the_forms_of_its_own_organization() {
    let server = Server::start().await;
    server.create(&[&server.full], "Contact").await.unwrap();
    let other = server
        .manager
        .create(
            &OrganizationId::from("org_other"),
            NewKey::new("other", Permission::ReadOnly),
        )
        .await
        .unwrap();

    let listed = server.list(&[&server.read_only]).await.unwrap();
    assert_eq!(listed.organization, ORGANIZATION);
    let names: Vec<_> = listed.forms.iter().map(|form| form.name.as_str()).collect();
    assert_eq!(names, ["Contact"]);

    let theirs = server.list(&[other.key.expose_secret()]).await.unwrap();
    assert_eq!(theirs.organization, "org_other");
    assert!(theirs.forms.is_empty(), "{theirs:?}");
}

#[tokio::test]
async fn read_only_key_cannot_create_a_form_and_is_told_it_needs_full_access() {
    let server = Server::start().await;
    let outcome = server.create(&[&server.read_only], "Contact").await;
    let status = status_of(outcome, Code::PermissionDenied);
    assert!(status.message().contains("full_access"), "{status:?}");
    let listed = server.list(&[&server.full]).await.unwrap();
    assert!(listed.forms.is_empty(), "the handler ran: {listed:?}");
}

#[tokio::test]
async fn a_restricted_key_is_told_the_forms_scope_each_method_needs() {
    let server = Server::start().await;
    let resources = server.manager.resources();
    let reader = resources.scopes(["forms:read"]).unwrap();
    let reader = server.key("forms reader", reader, None).await;
    let other = resources.scopes(["submissions:write"]).unwrap();
    let other = server.key("submissions writer", other, None).await;

    assert_eq!(server.list(&[&reader]).await.unwrap().forms, []);
    let status = status_of(
        server.create(&[&reader], "Contact").await,
        Code::PermissionDenied,
    );
    assert!(status.message().contains("`forms:write`"), "{status:?}");
    let status = status_of(server.list(&[&other]).await, Code::PermissionDenied);
    assert!(status.message().contains("`forms:read`"), "{status:?}");
    // A method the policy does not list needs `full_access`, which no scope holds.
    let status = status_of(server.call_unlisted(&reader).await, Code::PermissionDenied);
    assert!(status.message().contains("full_access"), "{status:?}");
}

#[tokio::test]
async fn full_access_key_creates_a_form() {
    let server = Server::start().await;
    let form = server.create(&[&server.full], "Contact").await.unwrap();
    assert_eq!((form.id, form.name.as_str()), (1, "Contact"));
    let listed = server.list(&[&server.read_only]).await.unwrap();
    assert_eq!(listed.forms, [form]);
}

#[tokio::test]
async fn a_method_the_policy_does_not_list_needs_full_access() {
    let server = Server::start().await;
    // A method the server does not have: the layer decides before any service is looked up.
    let outcome = server.call_unlisted(&server.read_only).await;
    let status = status_of(outcome, Code::PermissionDenied);
    assert!(status.message().contains("full_access"), "{status:?}");
    // A full-access key gets through the layer, to tonic's answer for a method it lacks.
    let outcome = server.call_unlisted(&server.full).await;
    status_of(outcome, Code::Unimplemented);
}

#[tokio::test]
async fn a_call_without_a_key_is_unauthenticated() {
    let server = Server::start().await;
    status_of(server.list(&[]).await, Code::Unauthenticated);
    status_of(server.create(&[], "Contact").await, Code::Unauthenticated);
}

#[tokio::test]
async fn a_malformed_key_is_unauthenticated_without_a_store_read() {
    let server = Server::start().await;
    let lookups = server.store.lookups();
    let mut typo = server.read_only.clone();
    typo.pop();
    typo.push(if server.read_only.ends_with('0') {
        '1'
    } else {
        '0'
    });
    for key in ["garbage", "fbsk_x", typo.as_str()] {
        let status = status_of(server.list(&[key]).await, Code::Unauthenticated);
        assert!(
            !status.message().contains(key),
            "echoes the key: {status:?}"
        );
    }
    assert_eq!(
        server.store.lookups(),
        lookups,
        "a malformed key reached the store"
    );
}

#[tokio::test]
async fn an_unknown_key_is_unauthenticated() {
    let server = Server::start().await;
    let unknown = KeyFormat::default().generate().unwrap();
    status_of(
        server.list(&[unknown.expose_secret()]).await,
        Code::Unauthenticated,
    );
}

#[tokio::test]
async fn a_revoked_key_is_unauthenticated() {
    let server = Server::start().await;
    let created = server
        .manager
        .create(
            &server.organization,
            NewKey::new("revoked", Permission::ReadOnly),
        )
        .await
        .unwrap();
    let key = created.key.expose_secret();
    server.list(&[key]).await.unwrap();
    let organization = &server.organization;
    server
        .manager
        .revoke(organization, created.info.id)
        .await
        .unwrap();
    status_of(server.list(&[key]).await, Code::Unauthenticated);
}

#[tokio::test]
async fn an_expired_key_is_unauthenticated() {
    let server = Server::start().await;
    let expiry = server.clock.now() + Duration::from_secs(60);
    let key = server
        .key("expiring", Permission::ReadOnly, Some(expiry))
        .await;
    server.list(&[&key]).await.unwrap();
    server.clock.advance(Duration::from_secs(61));
    status_of(server.list(&[&key]).await, Code::Unauthenticated);
}

#[tokio::test]
async fn two_keys_in_one_call_are_an_invalid_argument() {
    let server = Server::start().await;
    let keys = [server.read_only.as_str(), server.read_only.as_str()];
    status_of(server.list(&keys).await, Code::InvalidArgument);
    let keys = [server.full.as_str(), server.read_only.as_str()];
    status_of(server.create(&keys, "Contact").await, Code::InvalidArgument);
}

#[tokio::test]
async fn a_failing_key_store_makes_the_call_unavailable() {
    let server = Server::start().await;
    server.store.fault(Method::Get, Fault::Error);
    status_of(server.list(&[&server.read_only]).await, Code::Unavailable);
    server.store.clear_faults();
    server.list(&[&server.read_only]).await.unwrap();
}

#[tokio::test]
async fn a_key_past_its_rate_limit_is_resource_exhausted() {
    let limit = RateLimit::new(2, 60).unwrap();
    let limits = RateLimits::new(MemoryLimiter::new()).default_for(Permission::ReadOnly, limit);
    let server = Server::start_with(Some(limits)).await;
    for _ in 0..2 {
        server.list(&[&server.read_only]).await.unwrap();
    }
    let status = status_of(
        server.list(&[&server.read_only]).await,
        Code::ResourceExhausted,
    );
    // The message sends the client to `Retry-After`: it arrives as metadata.
    let retry_after = status
        .metadata()
        .get("retry-after")
        .expect("no retry-after");
    assert!(retry_after.to_str().unwrap().parse::<u64>().unwrap() > 0);
    // The budget is the key's: another key is not limited by it.
    server.list(&[&server.full]).await.unwrap();
}

#[tokio::test]
async fn a_scope_refusal_is_a_trailers_only_permission_denied_naming_the_scope() {
    let server = Server::start().await;
    let reads = server.manager.resources().scopes(["forms:read"]).unwrap();
    let reader = server.key("forms reader", reads, None).await;
    let reader = reader.as_str();
    let message = "this request needs an API key holding `forms:write`";
    let listed = server.list(&[&server.full]).await.unwrap();
    assert!(listed.forms.is_empty(), "no form yet: {listed:?}");

    // On the wire: a trailers-only response, whose headers carry the status and end the stream.
    let call = http::Request::post("/formbox.v1.Forms/CreateForm")
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .header("api-key", reader)
        .body(tonic::body::Body::empty())
        .unwrap();
    let mut channel = server.channel().await;
    let response = channel.ready().await.unwrap().call(call).await.unwrap();
    assert_eq!(response.status(), http::StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "application/grpc");
    assert_eq!(response.headers()["grpc-status"], "7");
    assert_eq!(response.headers()["grpc-message"], message);
    let body = response.into_body().collect().await.unwrap();
    assert_eq!(body.trailers(), None);
    assert!(body.to_bytes().is_empty());
    let listed = server.list(&[&server.full]).await.unwrap();
    assert!(listed.forms.is_empty(), "the handler ran: {listed:?}");
}

#[tokio::test]
async fn health_check_needs_no_key() {
    let server = Server::start().await;
    let mut health = HealthClient::new(server.channel().await);
    for service in ["", "formbox.v1.Forms"] {
        let request = HealthCheckRequest {
            service: service.to_owned(),
        };
        let response = health.check(request).await.unwrap().into_inner();
        assert_eq!(response.status(), ServingStatus::Serving, "{service:?}");
    }
}
