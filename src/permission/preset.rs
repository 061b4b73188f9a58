//! The two permissions a key can have.

use std::{fmt, str::FromStr};

use http::Method;

/// What a key may do: everything, or only read.
///
/// ```
/// use formbox_auth::Permission;
/// use axum::http::Method;
///
/// assert_eq!(Permission::required_by(&Method::GET), Permission::ReadOnly);
/// assert_eq!(Permission::required_by(&Method::DELETE), Permission::FullAccess);
/// assert!(Permission::FullAccess.allows(Permission::ReadOnly));
/// assert!(!Permission::ReadOnly.allows(Permission::FullAccess));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum Permission {
    /// Safe methods only: `GET`, `HEAD` and `OPTIONS`.
    ReadOnly,
    /// Every method.
    FullAccess,
}

impl Permission {
    /// The permission a request with this method needs by default: `read_only` for the safe
    /// methods `GET`, `HEAD` and `OPTIONS`, `full_access` for everything else.
    pub fn required_by(method: &Method) -> Self {
        if method == Method::GET || method == Method::HEAD || method == Method::OPTIONS {
            Self::ReadOnly
        } else {
            Self::FullAccess
        }
    }

    /// Whether a key with this permission may make a request that needs `required`.
    pub fn allows(self, required: Permission) -> bool {
        self == Self::FullAccess || required == Self::ReadOnly
    }

    /// The name used in JSON and storage: `full_access` or `read_only`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::ReadOnly => "read_only",
            Self::FullAccess => "full_access",
        }
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The text is neither `full_access` nor `read_only`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a permission is `full_access` or `read_only`")]
pub struct UnknownPermission;

impl FromStr for Permission {
    type Err = UnknownPermission;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "read_only" => Ok(Self::ReadOnly),
            "full_access" => Ok(Self::FullAccess),
            _ => Err(UnknownPermission),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn safe_methods_need_read_only_and_all_others_full_access() {
        for method in [Method::GET, Method::HEAD, Method::OPTIONS] {
            assert_eq!(
                Permission::required_by(&method),
                Permission::ReadOnly,
                "{method}"
            );
        }
        let custom = Method::from_bytes(b"PURGE").unwrap();
        for method in [
            Method::POST,
            Method::PUT,
            Method::PATCH,
            Method::DELETE,
            Method::TRACE,
            Method::CONNECT,
            custom,
        ] {
            assert_eq!(
                Permission::required_by(&method),
                Permission::FullAccess,
                "{method}"
            );
        }
    }

    #[test]
    fn full_access_allows_everything_and_read_only_only_reads() {
        assert!(Permission::FullAccess.allows(Permission::FullAccess));
        assert!(Permission::FullAccess.allows(Permission::ReadOnly));
        assert!(Permission::ReadOnly.allows(Permission::ReadOnly));
        assert!(!Permission::ReadOnly.allows(Permission::FullAccess));
    }

    #[test]
    fn names_round_trip() {
        for permission in [Permission::ReadOnly, Permission::FullAccess] {
            assert_eq!(permission.as_str().parse(), Ok(permission));
        }
        assert_eq!("admin".parse::<Permission>(), Err(UnknownPermission));
    }
}
