//! Which permission a request needs.

use std::fmt;

use http::{Method, Request};

use crate::permission::Permission;

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
    /// A key with at least this permission.
    Key(Permission),
}

impl Requirement {
    /// The permission a key needs for it; the lowest one for an open request, which a key
    /// presented anyway would need.
    pub const fn permission(self) -> Permission {
        match self {
            Self::Open => Permission::ReadOnly,
            Self::Key(permission) => permission,
        }
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
/// [`route`](Self::route) overrides that for one method and path pattern, where a segment written
/// `{name}` matches any one segment, and [`open_route`](Self::open_route) lets one through with no
/// key at all.
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
#[derive(Clone, Default)]
pub struct PermissionPolicy {
    routes: Vec<RouteRule>,
}

#[derive(Clone)]
struct RouteRule {
    method: Method,
    segments: Vec<Segment>,
    requirement: Requirement,
}

#[derive(Clone, PartialEq, Eq)]
enum Segment {
    Literal(String),
    Any,
}

impl PermissionPolicy {
    /// The method-based policy with no exceptions.
    pub fn new() -> Self {
        Self::default()
    }

    /// Requests with `method` whose path matches `pattern` need `permission`.
    ///
    /// The first matching rule wins. A trailing `/` is ignored on both sides.
    #[must_use]
    pub fn route(self, method: Method, pattern: &str, permission: Permission) -> Self {
        self.rule(method, pattern, Requirement::Key(permission))
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
        self.rule(method, pattern, Requirement::Open)
    }

    fn rule(mut self, method: Method, pattern: &str, requirement: Requirement) -> Self {
        let segments = split(pattern)
            .map(|segment| {
                if segment.starts_with('{') && segment.ends_with('}') {
                    Segment::Any
                } else {
                    Segment::Literal(segment.to_owned())
                }
            })
            .collect();
        self.routes.push(RouteRule {
            method,
            segments,
            requirement,
        });
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
            .find(|rule| rule.method == *method && rule.matches(path))
            .map_or_else(
                || Requirement::Key(Permission::required_by(method)),
                |rule| rule.requirement,
            )
    }
}

impl RouteRule {
    fn matches(&self, path: &str) -> bool {
        let mut parts = split(path);
        let all_match = self
            .segments
            .iter()
            .all(|segment| match (segment, parts.next()) {
                (_, None) => false,
                (Segment::Any, Some(_)) => true,
                (Segment::Literal(literal), Some(part)) => literal == part,
            });
        all_match && parts.next().is_none()
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
