//! Which permission a gRPC call needs, by its service and method.

use std::collections::HashMap;

use http::Request;

use crate::{
    permission::Permission,
    policy::{ClassifyPermission, Requirement},
};

/// The permission a gRPC call needs, by its path `/package.Service/Method`.
///
/// A rule for the exact method wins over one for its whole service, which wins over the
/// default: `full_access` unless [`default_permission`](Self::default_permission) changes it.
/// The health service [`GrpcPolicy::HEALTH_SERVICE`] is open (no key) unless a rule of its own says
/// otherwise. A request whose path is not a gRPC method gets the default.
///
/// ```
/// use formbox_auth::{grpc::GrpcPolicy, policy::{ClassifyPermission, Requirement}, Permission};
/// use axum::http::Request;
///
/// let policy = GrpcPolicy::new()
///     .service("formbox.v1.Forms", Permission::ReadOnly)
///     .method("/formbox.v1.Forms/CreateForm", Permission::FullAccess);
///
/// let call = |path: &str| Request::post(path).body(()).unwrap();
/// assert_eq!(policy.requirement(&call("/formbox.v1.Forms/ListForms")), Requirement::Key(Permission::ReadOnly));
/// assert_eq!(policy.requirement(&call("/formbox.v1.Forms/CreateForm")), Requirement::Key(Permission::FullAccess));
/// assert_eq!(policy.requirement(&call("/formbox.v1.Billing/Charge")), Requirement::Key(Permission::FullAccess));
/// assert_eq!(policy.requirement(&call("/grpc.health.v1.Health/Check")), Requirement::Open);
/// ```
#[derive(Debug, Clone)]
pub struct GrpcPolicy {
    /// By `package.Service/Method`, without the leading `/`.
    methods: HashMap<Box<str>, Requirement>,
    /// By `package.Service`.
    services: HashMap<Box<str>, Requirement>,
    default: Requirement,
}

impl GrpcPolicy {
    /// The standard health service (`grpc.health.v1.Health`): open in a new [`GrpcPolicy`], since
    /// load balancers and orchestrators probe it without a key.
    pub const HEALTH_SERVICE: &str = "grpc.health.v1.Health";

    /// Every method needs `full_access`, and the health service no key.
    pub fn new() -> Self {
        Self {
            methods: HashMap::new(),
            services: HashMap::from([(Self::HEALTH_SERVICE.into(), Requirement::Open)]),
            default: Requirement::Key(Permission::FullAccess),
        }
    }

    /// Every method of `service` (`package.Service`) needs `requirement`: a [`Permission`] or
    /// a [`Scope`](crate::permission::Scope).
    #[must_use]
    pub fn service(self, service: &str, requirement: impl Into<Requirement>) -> Self {
        self.service_rule(service, requirement.into())
    }

    /// Every method of `service` (`package.Service`) needs no key.
    #[must_use]
    pub fn open_service(self, service: &str) -> Self {
        self.service_rule(service, Requirement::Open)
    }

    /// The method `/package.Service/Method` (the leading `/` may be left out) needs
    /// `requirement`: a [`Permission`] or a [`Scope`](crate::permission::Scope). A restricted
    /// key without the scope is refused with `PERMISSION_DENIED` naming it.
    ///
    /// ```
    /// use formbox_auth::{grpc::GrpcPolicy, permission::Resources, policy::Requirement};
    ///
    /// let resources = Resources::new(["forms"])?;
    /// let policy = GrpcPolicy::new()
    ///     .method("/formbox.v1.Forms/CreateForm", resources.scope("forms:write")?)
    ///     .service("formbox.v1.Forms", resources.scope("forms:read")?);
    /// assert_eq!(
    ///     policy.requirement_for("/formbox.v1.Forms/CreateForm"),
    ///     Requirement::Scope(resources.scope("forms:write")?)
    /// );
    /// # Ok::<(), formbox_auth::permission::InvalidScope>(())
    /// ```
    #[must_use]
    pub fn method(self, method: &str, requirement: impl Into<Requirement>) -> Self {
        self.method_rule(method, requirement.into())
    }

    /// The method `/package.Service/Method` (the leading `/` may be left out) needs no key.
    #[must_use]
    pub fn open_method(self, method: &str) -> Self {
        self.method_rule(method, Requirement::Open)
    }

    /// Methods no rule names need `permission` instead of `full_access`.
    #[must_use]
    pub fn default_permission(mut self, permission: Permission) -> Self {
        self.default = Requirement::Key(permission);
        self
    }

    /// What a call to `path` (`/package.Service/Method`) needs.
    pub fn requirement_for(&self, path: &str) -> Requirement {
        let method = path.strip_prefix('/').unwrap_or(path);
        let Some((service, _)) = method.rsplit_once('/') else {
            return self.default;
        };
        self.methods
            .get(method)
            .or_else(|| self.services.get(service))
            .copied()
            .unwrap_or(self.default)
    }

    fn service_rule(mut self, service: &str, requirement: Requirement) -> Self {
        let service = service.trim_matches('/');
        self.services.insert(service.into(), requirement);
        self
    }

    fn method_rule(mut self, method: &str, requirement: Requirement) -> Self {
        let method = method.strip_prefix('/').unwrap_or(method);
        self.methods.insert(method.into(), requirement);
        self
    }
}

impl Default for GrpcPolicy {
    fn default() -> Self {
        Self::new()
    }
}

impl<B> ClassifyPermission<B> for GrpcPolicy {
    fn required_permission(&self, request: &Request<B>) -> Permission {
        self.requirement(request).permission()
    }

    fn requirement(&self, request: &Request<B>) -> Requirement {
        self.requirement_for(request.uri().path())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const READ: Requirement = Requirement::Key(Permission::ReadOnly);
    const FULL: Requirement = Requirement::Key(Permission::FullAccess);

    #[test]
    fn every_method_needs_full_access_by_default() {
        let policy = GrpcPolicy::new();
        assert_eq!(policy.requirement_for("/formbox.v1.Forms/ListForms"), FULL);
        assert_eq!(policy.requirement_for("/not-grpc"), FULL);
        assert_eq!(policy.requirement_for(""), FULL);
    }

    #[test]
    fn the_health_service_is_open_until_a_rule_says_otherwise() {
        assert_eq!(
            GrpcPolicy::new().requirement_for("/grpc.health.v1.Health/Check"),
            Requirement::Open
        );
        assert_eq!(
            GrpcPolicy::new().requirement_for("/grpc.health.v1.Health/Watch"),
            Requirement::Open
        );
        let closed = GrpcPolicy::new().service(GrpcPolicy::HEALTH_SERVICE, Permission::ReadOnly);
        assert_eq!(closed.requirement_for("/grpc.health.v1.Health/Check"), READ);
    }

    #[test]
    fn a_method_rule_wins_over_its_service_rule() {
        let policy = GrpcPolicy::new()
            .method("/formbox.v1.Forms/CreateForm", Permission::FullAccess)
            .service("formbox.v1.Forms", Permission::ReadOnly)
            .open_method("formbox.v1.Forms/Ping");
        assert_eq!(policy.requirement_for("/formbox.v1.Forms/ListForms"), READ);
        assert_eq!(policy.requirement_for("/formbox.v1.Forms/CreateForm"), FULL);
        assert_eq!(
            policy.requirement_for("/formbox.v1.Forms/Ping"),
            Requirement::Open
        );
    }

    #[test]
    fn rules_match_whole_names_only() {
        let policy = GrpcPolicy::new()
            .service("formbox.v1.Forms", Permission::ReadOnly)
            .open_service("grpc.reflection.v1.ServerReflection");
        assert_eq!(policy.requirement_for("/formbox.v1.FormsAdmin/List"), FULL);
        assert_eq!(policy.requirement_for("/v1.Forms/List"), FULL);
        assert_eq!(policy.requirement_for("/formbox.v1.Forms"), FULL);
        assert_eq!(
            policy.requirement_for("/grpc.reflection.v1.ServerReflection/ServerReflectionInfo"),
            Requirement::Open
        );
    }

    proptest::proptest! {
        /// Any path gets an answer, and the precedence holds for every service and method name.
        #[test]
        fn rules_apply_by_precedence_to_any_names(
            service in "[a-zA-Z0-9_.]{1,20}",
            method in "[a-zA-Z0-9_]{1,20}",
            other in "[a-zA-Z0-9_]{1,20}",
            junk in "\\PC{0,40}",
        ) {
            proptest::prop_assume!(method != other);
            let policy = GrpcPolicy::new()
                .service(&service, Permission::ReadOnly)
                .open_method(&format!("/{service}/{method}"));
            let _ = policy.requirement_for(&junk);
            proptest::prop_assert_eq!(
                policy.requirement_for(&format!("/{service}/{method}")),
                Requirement::Open
            );
            proptest::prop_assert_eq!(policy.requirement_for(&format!("/{service}/{other}")), READ);
            proptest::prop_assert_eq!(policy.requirement_for(&format!("/{service}x/{other}")), FULL);
        }
    }

    #[test]
    fn the_default_can_be_lowered() {
        let policy = GrpcPolicy::new().default_permission(Permission::ReadOnly);
        assert_eq!(policy.requirement_for("/a.B/C"), READ);
    }
}
