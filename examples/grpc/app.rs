//! The gRPC example's services: the standard health service, open to anyone, and
//! `formbox.v1.Forms` behind the API-key layer.

use std::{collections::HashMap, sync::Mutex};

use formbox_auth::{
    ApiKeyAuthLayer, AuthContext, OrganizationId,
    grpc::{GrpcPolicy, GrpcRejection},
    permission::Resource,
};
use tonic::{
    Request, Response, Status,
    transport::{Server, server::Router},
};
use tower::layer::util::{Identity, Stack};

/// The code tonic-prost-build generated from `proto/formbox/v1/forms.proto`
/// (scripts/grpc-codegen.sh).
#[path = "formbox.v1.rs"]
pub mod proto;

use proto::{
    CreateFormRequest, Form, ListFormsRequest, ListFormsResponse,
    forms_server::{Forms, FormsServer},
};

/// The layer every call passes: gRPC statuses for rejections, permissions by method.
pub type GrpcAuthLayer = ApiKeyAuthLayer<GrpcPolicy, GrpcRejection>;

/// The full path of `ListForms`, the one method a `read_only` key may call: it needs
/// `forms:read`.
pub const LIST_FORMS: &str = "/formbox.v1.Forms/ListForms";

/// The full path of `CreateForm`: it needs `forms:write`, which of the presets only
/// `full_access` holds.
pub const CREATE_FORM: &str = "/formbox.v1.Forms/CreateForm";

/// Longest form name, in characters (as in the HTTP example).
const MAX_NAME_CHARS: usize = 200;

/// Makes `layer` speak gRPC: `ListForms` needs `forms:read`, `CreateForm` `forms:write` (with
/// `forms` the resource the HTTP example's `/v1/forms` is), every other method `full_access`,
/// the health service no key, and a rejection is a gRPC status rather than JSON. Preset keys
/// pass as before scopes existed: `read_only` lists, `full_access` does everything.
pub fn grpc_layer(layer: ApiKeyAuthLayer, forms: Resource) -> GrpcAuthLayer {
    // Only the forms methods are listed: a method added to the service later needs
    // `full_access` until someone decides otherwise.
    let policy = GrpcPolicy::new()
        .method(LIST_FORMS, forms.read())
        .method(CREATE_FORM, forms.write());
    layer.with_classifier(policy).with_rejection(GrpcRejection)
}

/// The server: health (reporting `formbox.v1.Forms` as serving) and the forms service, both
/// behind `layer`, which lets health checks through without a key.
pub async fn router(layer: GrpcAuthLayer) -> Router<Stack<GrpcAuthLayer, Identity>> {
    let (health, health_service) = tonic_health::server::health_reporter();
    health.set_serving::<FormsServer<FormsService>>().await;
    Server::builder()
        .layer(layer)
        .add_service(health_service)
        .add_service(FormsServer::new(FormsService::default()))
}

/// Forms in memory, per organization.
#[derive(Debug, Default)]
pub struct FormsService {
    forms: Mutex<HashMap<OrganizationId, Vec<Form>>>,
}

#[tonic::async_trait]
impl Forms for FormsService {
    async fn list_forms(
        &self,
        request: Request<ListFormsRequest>,
    ) -> Result<Response<ListFormsResponse>, Status> {
        let context = auth_context(&request)?;
        let organization = context.organization();
        let forms = self.forms.lock().unwrap_or_else(|e| e.into_inner());
        Ok(Response::new(ListFormsResponse {
            forms: forms.get(organization).cloned().unwrap_or_default(),
            organization: organization.as_str().to_owned(),
        }))
    }

    async fn create_form(
        &self,
        request: Request<CreateFormRequest>,
    ) -> Result<Response<Form>, Status> {
        // Cloned (a reference count) so that the message can be taken out of the request.
        let context = auth_context(&request)?.clone();
        let CreateFormRequest { name } = request.into_inner();
        if name.trim().is_empty() || name.chars().count() > MAX_NAME_CHARS {
            return Err(Status::invalid_argument(format!(
                "`name` must be 1 to {MAX_NAME_CHARS} characters"
            )));
        }
        let mut forms = self.forms.lock().unwrap_or_else(|e| e.into_inner());
        let list = forms.entry(context.organization().clone()).or_default();
        let form = Form {
            id: list.len() as u64 + 1,
            name,
        };
        list.push(form.clone());
        Ok(Response::new(form))
    }
}

/// Who the call authenticated as. The organization is taken from here, never from the message.
fn auth_context<T>(request: &Request<T>) -> Result<&AuthContext, Status> {
    // Only a server built without the layer gets here without a context: fail closed, and say
    // how to fix it.
    request
        .extensions()
        .get::<AuthContext>()
        .ok_or_else(|| Status::internal("no authentication context: is ApiKeyAuthLayer installed?"))
}
