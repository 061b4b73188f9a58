//! Which permission a request needs.

use std::{fmt, sync::Arc};

use http::{Method, Request};

use crate::permission::{Level, Permission, Required, Resource, Scope};

/// Decides the permission a request needs before the layer lets it through.
///
/// [`PermissionPolicy`] is the default. Any `Fn(&Request<B>) -> Permission` closure works too:
///
/// ```
/// use formbox_auth::{ApiKeyAuthLayer, MemoryStore, Permission};
/// use axum::http::Request;
///
/// // GraphQL-style: only the query endpoint is readable with a read-only key.
/// let layer = ApiKeyAuthLayer::new(MemoryStore::new()).with_classifier(|request: &Request<String>| {
///     if request.uri().path() == "/graphql/query" {
///         Permission::ReadOnly
///     } else {
///         Permission::FullAccess
///     }
/// });
/// ```
pub trait ClassifyPermission<B> {
    /// The permission `request` needs.
    fn required_permission(&self, request: &Request<B>) -> Permission;

    /// What `request` needs: a key with [`required_permission`](Self::required_permission),
    /// unless the classifier opens it to everyone ([`Requirement::Open`]).
    fn requirement(&self, request: &Request<B>) -> Requirement {
        Requirement::Key(self.required_permission(request))
    }
}

/// What a request needs to pass the layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Requirement {
    /// Nothing: the layer lets the request through without reading a key, and the inner
    /// service gets no [`AuthContext`](crate::AuthContext). For health checks and the like.
    Open,
    /// Any valid key, restricted ones included: for routes about the key itself, such as
    /// "who am I".
    AnyKey,
    /// A key with at least this preset. A restricted key never passes.
    Key(Permission),
    /// A key holding this scope: a restricted key that has it, `full_access`, or `read_only`
    /// for a `:read` scope.
    Scope(Scope),
}

impl Requirement {
    /// The preset a key needs for it; the lowest one for an open request, which a key
    /// presented anyway would need.
    pub const fn permission(self) -> Permission {
        match self {
            Self::Open | Self::AnyKey => Permission::ReadOnly,
            Self::Key(permission) => permission,
            Self::Scope(scope) => scope.level().preset(),
        }
    }

    /// What a key must hold; `None` for an open request and for any key.
    pub const fn required(self) -> Option<Required> {
        match self {
            Self::Open | Self::AnyKey => None,
            Self::Key(permission) => Some(Required::Permission(permission)),
            Self::Scope(scope) => Some(Required::Scope(scope)),
        }
    }
}

impl From<Permission> for Requirement {
    fn from(permission: Permission) -> Self {
        Self::Key(permission)
    }
}

impl From<Scope> for Requirement {
    fn from(scope: Scope) -> Self {
        Self::Scope(scope)
    }
}

impl<B, F> ClassifyPermission<B> for F
where
    F: Fn(&Request<B>) -> Permission,
{
    fn required_permission(&self, request: &Request<B>) -> Permission {
        self(request)
    }
}

/// The permission a request needs from its method, with per-route exceptions.
///
/// By default `GET`, `HEAD` and `OPTIONS` need `read_only` and every other method `full_access`.
/// [`route`](Self::route) overrides that for one method and path pattern with a preset or a
/// scope, [`resource`](Self::resource) makes every method of a path pattern need a scope over a
/// resource, and [`open_route`](Self::open_route) lets one through with no key at all. In a
/// pattern, a segment written `{name}` matches any one segment, and a last segment written
/// `{*name}` any number of them, none included.
///
/// ```
/// use formbox_auth::{policy::ClassifyPermission, Permission, PermissionPolicy};
/// use axum::http::{Method, Request};
///
/// let policy = PermissionPolicy::new()
///     .route(Method::POST, "/v1/forms/search", Permission::ReadOnly)
///     .route(Method::GET, "/v1/forms/{id}/export", Permission::FullAccess);
///
/// let search = Request::post("/v1/forms/search").body(()).unwrap();
/// assert_eq!(policy.required_permission(&search), Permission::ReadOnly);
/// let export = Request::get("/v1/forms/42/export").body(()).unwrap();
/// assert_eq!(policy.required_permission(&export), Permission::FullAccess);
/// let list = Request::get("/v1/forms").body(()).unwrap();
/// assert_eq!(policy.required_permission(&list), Permission::ReadOnly);
/// ```
///
/// Cloning is cheap (one reference count), whatever the number of rules: a policy kept in an
/// application's state is cloned with it, which axum does several times per request.
#[derive(Clone, Default)]
pub struct PermissionPolicy {
    /// Shared by every clone: built once, then only read.
    routes: Arc<[RouteRule]>,
}

#[derive(Clone)]
struct RouteRule {
    /// `None`: every method.
    method: Option<Method>,
    segments: Vec<Segment>,
    need: Need,
}

/// What a rule asks of the requests it matches.
#[derive(Clone, Copy)]
enum Need {
    Fixed(Requirement),
    /// Reading the resource for the safe methods, writing it for the others.
    Resource(Resource),
}

#[derive(Clone, PartialEq, Eq)]
enum Segment {
    Literal(String),
    Any,
    /// Any number of segments; only last.
    Rest,
}

impl PermissionPolicy {
    /// The method-based policy with no exceptions.
    pub fn new() -> Self {
        Self::default()
    }

    /// Requests with `method` whose path matches `pattern` need `requirement`: a
    /// [`Permission`] or a [`Scope`].
    ///
    /// The first matching rule wins. A trailing `/` is ignored on both sides.
    ///
    /// ```
    /// use formbox_auth::{policy::{ClassifyPermission, Requirement}, permission::Resources, PermissionPolicy};
    /// use axum::http::{Method, Request};
    ///
    /// let resources = Resources::new(["forms"])?;
    /// let export = resources.scope("forms:read")?;
    /// let policy = PermissionPolicy::new().route(Method::POST, "/v1/forms/{id}/export", export);
    /// let request = Request::post("/v1/forms/7/export").body(()).unwrap();
    /// assert_eq!(policy.requirement(&request), Requirement::Scope(export));
    /// # Ok::<(), formbox_auth::permission::InvalidScope>(())
    /// ```
    #[must_use]
    pub fn route(self, method: Method, pattern: &str, requirement: impl Into<Requirement>) -> Self {
        self.rule(Some(method), pattern, Need::Fixed(requirement.into()))
    }

    /// Requests with any method whose path matches `pattern` need a scope over `resource`:
    /// `RESOURCE:read` for `GET`, `HEAD` and `OPTIONS`, `RESOURCE:write` for the others. Preset
    /// keys pass as before (`read_only` reads, `full_access` writes).
    ///
    /// ```
    /// use formbox_auth::{policy::{ClassifyPermission, Requirement}, permission::Resources, PermissionPolicy};
    /// use axum::http::{Method, Request};
    ///
    /// let resources = Resources::new(["forms"])?;
    /// let forms = resources.get("forms").unwrap();
    /// let policy = PermissionPolicy::new().resource("/v1/forms/{*rest}", forms);
    ///
    /// let list = Request::get("/v1/forms").body(()).unwrap();
    /// assert_eq!(policy.requirement(&list), Requirement::Scope(forms.read()));
    /// let create = Request::post("/v1/forms/7/fields").body(()).unwrap();
    /// assert_eq!(policy.requirement(&create), Requirement::Scope(forms.write()));
    /// # Ok::<(), formbox_auth::permission::InvalidScope>(())
    /// ```
    #[must_use]
    pub fn resource(self, pattern: &str, resource: Resource) -> Self {
        self.rule(None, pattern, Need::Resource(resource))
    }

    /// Requests with `method` whose path matches `pattern` need no key: the layer lets them
    /// through without an [`AuthContext`](crate::AuthContext).
    ///
    /// ```
    /// use formbox_auth::{policy::{ClassifyPermission, Requirement}, PermissionPolicy};
    /// use axum::http::{Method, Request};
    ///
    /// let policy = PermissionPolicy::new().open_route(Method::GET, "/health");
    /// let probe = Request::get("/health").body(()).unwrap();
    /// assert_eq!(policy.requirement(&probe), Requirement::Open);
    /// ```
    #[must_use]
    pub fn open_route(self, method: Method, pattern: &str) -> Self {
        self.rule(Some(method), pattern, Need::Fixed(Requirement::Open))
    }

    fn rule(mut self, method: Option<Method>, pattern: &str, need: Need) -> Self {
        let mut segments: Vec<Segment> = split(pattern)
            .map(
                |segment| match segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                    Some(name) if name.starts_with('*') => Segment::Rest,
                    Some(_) => Segment::Any,
                    None => Segment::Literal(segment.to_owned()),
                },
            )
            .collect();
        // A rest segment anywhere but last would match what the segments after it name.
        if let Some(rest) = segments.iter().position(|s| *s == Segment::Rest) {
            segments.truncate(rest + 1);
        }
        let rule = RouteRule {
            method,
            segments,
            need,
        };
        // Rules are added while the policy is built, a few times at start: copying the list
        // then keeps every clone afterwards to one reference count.
        self.routes = self.routes.iter().cloned().chain([rule]).collect();
        self
    }

    /// The permission a request with this method and path needs.
    pub fn permission_for(&self, method: &Method, path: &str) -> Permission {
        self.requirement_for(method, path).permission()
    }

    /// What a request with this method and path needs.
    pub fn requirement_for(&self, method: &Method, path: &str) -> Requirement {
        self.routes
            .iter()
            .find(|rule| rule.method.as_ref().is_none_or(|m| m == method) && rule.matches(path))
            .map_or_else(
                || Requirement::Key(Permission::required_by(method)),
                |rule| match rule.need {
                    Need::Fixed(requirement) => requirement,
                    Need::Resource(resource) => {
                        Requirement::Scope(Scope::new(resource, Level::required_by(method)))
                    }
                },
            )
    }
}

impl RouteRule {
    fn matches(&self, path: &str) -> bool {
        let mut parts = split(path);
        for segment in &self.segments {
            let matched = match (segment, parts.next()) {
                (Segment::Rest, _) => return true,
                (_, None) => false,
                (Segment::Any, Some(_)) => true,
                (Segment::Literal(literal), Some(part)) => literal == part,
            };
            if !matched {
                return false;
            }
        }
        parts.next().is_none()
    }
}

fn split(path: &str) -> impl Iterator<Item = &str> {
    path.split('/').filter(|segment| !segment.is_empty())
}

impl<B> ClassifyPermission<B> for PermissionPolicy {
    fn required_permission(&self, request: &Request<B>) -> Permission {
        self.requirement(request).permission()
    }

    #[inline]
    fn requirement(&self, request: &Request<B>) -> Requirement {
        if self.routes.is_empty() {
            return Requirement::Key(Permission::required_by(request.method()));
        }
        self.requirement_for(request.method(), request.uri().path())
    }
}

impl fmt::Debug for PermissionPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PermissionPolicy")
            .field("routes", &self.routes.len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_rules_the_method_decides() {
        let policy = PermissionPolicy::new();
        assert_eq!(
            policy.permission_for(&Method::GET, "/x"),
            Permission::ReadOnly
        );
        assert_eq!(
            policy.permission_for(&Method::POST, "/x"),
            Permission::FullAccess
        );
    }

    #[test]
    fn a_rule_applies_only_to_its_method_and_path() {
        let policy =
            PermissionPolicy::new().route(Method::POST, "/v1/search", Permission::ReadOnly);
        assert_eq!(
            policy.permission_for(&Method::POST, "/v1/search"),
            Permission::ReadOnly
        );
        assert_eq!(
            policy.permission_for(&Method::POST, "/v1/search/"),
            Permission::ReadOnly
        );
        assert_eq!(
            policy.permission_for(&Method::PUT, "/v1/search"),
            Permission::FullAccess
        );
        assert_eq!(
            policy.permission_for(&Method::POST, "/v1/searches"),
            Permission::FullAccess
        );
        assert_eq!(
            policy.permission_for(&Method::POST, "/v1/search/x"),
            Permission::FullAccess
        );
        assert_eq!(
            policy.permission_for(&Method::POST, "/v1"),
            Permission::FullAccess
        );
    }

    #[test]
    fn a_placeholder_matches_exactly_one_segment() {
        let policy = PermissionPolicy::new().route(
            Method::GET,
            "/forms/{id}/export",
            Permission::FullAccess,
        );
        assert_eq!(
            policy.permission_for(&Method::GET, "/forms/7/export"),
            Permission::FullAccess
        );
        assert_eq!(
            policy.permission_for(&Method::GET, "/forms/export"),
            Permission::ReadOnly
        );
        assert_eq!(
            policy.permission_for(&Method::GET, "/forms/7/8/export"),
            Permission::ReadOnly
        );
    }

    #[test]
    fn an_open_route_needs_no_key_and_only_for_its_method() {
        let policy = PermissionPolicy::new().open_route(Method::GET, "/health");
        assert_eq!(
            policy.requirement_for(&Method::GET, "/health"),
            Requirement::Open
        );
        assert_eq!(
            policy.requirement_for(&Method::POST, "/health"),
            Requirement::Key(Permission::FullAccess)
        );
        assert_eq!(
            policy.requirement_for(&Method::GET, "/healthz"),
            Requirement::Key(Permission::ReadOnly)
        );
    }

    fn forms() -> Resource {
        crate::permission::Resources::new(["policy_forms"])
            .unwrap()
            .get("policy_forms")
            .unwrap()
    }

    #[test]
    fn a_resource_rule_needs_read_for_safe_methods_and_write_for_the_others() {
        let forms = forms();
        let policy = PermissionPolicy::new().resource("/v1/forms/{id}", forms);
        assert_eq!(
            policy.requirement_for(&Method::GET, "/v1/forms/7"),
            Requirement::Scope(forms.read())
        );
        assert_eq!(
            policy.requirement_for(&Method::DELETE, "/v1/forms/7"),
            Requirement::Scope(forms.write())
        );
        assert_eq!(
            policy.requirement_for(&Method::DELETE, "/v1/forms"),
            Requirement::Key(Permission::FullAccess)
        );
    }

    #[test]
    fn a_rest_segment_matches_any_number_of_segments_and_only_last() {
        let forms = forms();
        let policy = PermissionPolicy::new()
            .route(Method::GET, "/v1/forms/{*rest}", forms.write())
            .route(Method::GET, "/v2/{*rest}/ignored", forms.read());
        for path in [
            "/v1/forms",
            "/v1/forms/",
            "/v1/forms/7",
            "/v1/forms/7/fields/2",
        ] {
            assert_eq!(
                policy.requirement_for(&Method::GET, path),
                Requirement::Scope(forms.write()),
                "{path}"
            );
        }
        assert_eq!(
            policy.requirement_for(&Method::GET, "/v1/formsx"),
            Requirement::Key(Permission::ReadOnly)
        );
        assert_eq!(
            policy.requirement_for(&Method::GET, "/v2/anything/else"),
            Requirement::Scope(forms.read())
        );
    }

    #[test]
    fn a_route_takes_a_scope_or_a_preset() {
        let forms = forms();
        let policy = PermissionPolicy::new()
            .route(Method::POST, "/search", forms.read())
            .route(Method::GET, "/audit", Permission::FullAccess);
        assert_eq!(
            policy.requirement_for(&Method::POST, "/search"),
            Requirement::Scope(forms.read())
        );
        assert_eq!(
            policy
                .requirement_for(&Method::POST, "/search")
                .permission(),
            Permission::ReadOnly
        );
        assert_eq!(
            policy.requirement_for(&Method::GET, "/audit").required(),
            Some(Required::Permission(Permission::FullAccess))
        );
        assert_eq!(Requirement::Open.required(), None);
    }

    #[test]
    fn any_key_needs_a_valid_key_and_nothing_more() {
        let policy = PermissionPolicy::new().route(Method::GET, "/v1/me", Requirement::AnyKey);
        let requirement = policy.requirement_for(&Method::GET, "/v1/me");
        assert_eq!(requirement, Requirement::AnyKey);
        assert_eq!(requirement.required(), None);
        assert_eq!(requirement.permission(), Permission::ReadOnly);
    }

    #[test]
    fn clones_share_their_rules_and_a_rule_added_to_a_clone_stays_its_own() {
        let policy = PermissionPolicy::new().route(Method::POST, "/search", Permission::ReadOnly);
        let clone = policy.clone();
        assert!(Arc::ptr_eq(&policy.routes, &clone.routes));
        let extended = clone.route(Method::GET, "/audit", Permission::FullAccess);
        assert_eq!(
            extended.permission_for(&Method::GET, "/audit"),
            Permission::FullAccess
        );
        assert_eq!(
            extended.permission_for(&Method::POST, "/search"),
            Permission::ReadOnly
        );
        assert_eq!(
            policy.permission_for(&Method::GET, "/audit"),
            Permission::ReadOnly
        );
        assert_eq!(policy.routes.len(), 1);
    }

    #[test]
    fn the_first_matching_rule_wins() {
        let policy = PermissionPolicy::new()
            .route(Method::POST, "/a/{x}", Permission::ReadOnly)
            .route(Method::POST, "/a/b", Permission::FullAccess);
        assert_eq!(
            policy.permission_for(&Method::POST, "/a/b"),
            Permission::ReadOnly
        );
    }
}
