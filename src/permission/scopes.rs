//! [`Scopes`]: the set of scopes a restricted key holds, as a bitset.

use std::{fmt, str::FromStr};

use super::{InvalidScope, Level, Resource, Scope};

/// The scopes a restricted key holds: a bitset over resources, one bit to read and one to write
/// each, so that checking a scope is one `AND`. Writing a resource includes reading it.
///
/// Its text form lists each resource once, alphabetically, at the higher level held, separated
/// by spaces as OAuth scopes are: `forms:write submissions:read`.
///
/// ```
/// use formbox_auth::permission::{Resources, Scopes};
///
/// let resources = Resources::new(["forms", "submissions"])?;
/// let scopes = resources.scopes(["submissions:read", "forms:write"])?;
/// assert!(scopes.holds(resources.scope("forms:read")?));
/// assert!(!scopes.holds(resources.scope("submissions:write")?));
/// assert_eq!(scopes.to_string(), "forms:write submissions:read");
/// assert_eq!(scopes.iter().count(), 2);
/// # Ok::<(), formbox_auth::permission::InvalidScope>(())
/// ```
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Scopes {
    /// Indexed by [`Level`]: the resources each level is held for. Every write bit is also a
    /// read bit.
    held: [u128; 2],
}

impl Scopes {
    /// No scope at all: a key that can do nothing until scopes are added.
    pub const fn new() -> Self {
        Self { held: [0; 2] }
    }

    /// Adds `scope` (and reading its resource, if it is a write scope).
    pub fn insert(&mut self, scope: Scope) {
        let bit = scope.resource().bit();
        self.held[Level::Read as usize] |= bit;
        if scope.level() == Level::Write {
            self.held[Level::Write as usize] |= bit;
        }
    }

    /// The set with `scope` added.
    #[must_use]
    pub fn with(mut self, scope: Scope) -> Self {
        self.insert(scope);
        self
    }

    /// Whether the set holds `scope`: the resource at that level, or written when read is asked.
    #[inline]
    pub fn holds(&self, scope: Scope) -> bool {
        self.held[scope.level() as usize] & scope.resource().bit() != 0
    }

    /// Whether every scope of `other` is held here.
    pub fn contains(&self, other: &Scopes) -> bool {
        self.first_missing(other).is_none()
    }

    /// The first scope of `other` (alphabetically) this set does not hold.
    pub fn first_missing(&self, other: &Scopes) -> Option<Scope> {
        other.iter().find(|scope| !self.holds(*scope))
    }

    /// Whether the set holds no scope.
    pub const fn is_empty(&self) -> bool {
        self.held[Level::Read as usize] == 0
    }

    /// Whether any scope writes.
    pub const fn writes_any(&self) -> bool {
        self.held[Level::Write as usize] != 0
    }

    /// Its scopes, each resource once at the higher level held, alphabetically by resource.
    pub fn iter(&self) -> impl Iterator<Item = Scope> + use<> {
        let [read, write] = self.held;
        let mut scopes: Vec<Scope> = bits(read)
            .filter_map(Resource::from_index)
            .map(|resource| {
                let level = if write & resource.bit() != 0 {
                    Level::Write
                } else {
                    Level::Read
                };
                Scope::new(resource, level)
            })
            .collect();
        scopes.sort_unstable();
        scopes.into_iter()
    }

    /// Each scope's text form, in [`iter`](Self::iter)'s order: what JSON lists.
    #[cfg(feature = "serde")]
    pub(crate) fn texts(&self) -> Vec<String> {
        self.iter().map(|scope| scope.to_string()).collect()
    }
}

/// The index of every set bit.
fn bits(mut mask: u128) -> impl Iterator<Item = u32> {
    std::iter::from_fn(move || {
        if mask == 0 {
            return None;
        }
        let index = mask.trailing_zeros();
        mask &= mask - 1;
        Some(index)
    })
}

impl FromIterator<Scope> for Scopes {
    fn from_iter<I: IntoIterator<Item = Scope>>(scopes: I) -> Self {
        scopes.into_iter().fold(Self::new(), Self::with)
    }
}

impl Extend<Scope> for Scopes {
    fn extend<I: IntoIterator<Item = Scope>>(&mut self, scopes: I) {
        for scope in scopes {
            self.insert(scope);
        }
    }
}

/// The text form: scopes separated by spaces (any amount of whitespace), in any order. Like
/// [`Scope`]'s `FromStr`, for text the host controls; see there.
impl FromStr for Scopes {
    type Err = InvalidScope;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        text.split_whitespace().map(str::parse::<Scope>).collect()
    }
}

impl fmt::Display for Scopes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (position, scope) in self.iter().enumerate() {
            if position > 0 {
                f.write_str(" ")?;
            }
            write!(f, "{scope}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Scopes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set()
            .entries(self.iter().map(|scope| scope.to_string()))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// A fixed handful of names: every name a test parses keeps a place for the whole process.
    const NAMES: [&str; 6] = ["sc_a", "sc_b", "sc_c", "sc_d", "sc_e", "sc_f"];

    fn scope(text: &str) -> Scope {
        text.parse().unwrap()
    }

    #[test]
    fn writing_includes_reading_and_reading_not_writing() {
        let scopes = Scopes::new()
            .with(scope("sc_a:write"))
            .with(scope("sc_b:read"));
        assert!(scopes.holds(scope("sc_a:read")));
        assert!(scopes.holds(scope("sc_a:write")));
        assert!(scopes.holds(scope("sc_b:read")));
        assert!(!scopes.holds(scope("sc_b:write")));
        assert!(!scopes.holds(scope("sc_c:read")));
        assert!(Scopes::new().is_empty());
        assert!(scopes.writes_any());
    }

    #[test]
    fn the_text_form_is_sorted_and_names_each_resource_once() {
        let scopes: Scopes = "sc_c:read  sc_a:read sc_a:write".parse().unwrap();
        assert_eq!(scopes.to_string(), "sc_a:write sc_c:read");
        assert_eq!(format!("{scopes:?}"), r#"{"sc_a:write", "sc_c:read"}"#);
        assert_eq!("".parse::<Scopes>(), Ok(Scopes::new()));
        assert!("sc_a:read, sc_b:read".parse::<Scopes>().is_err());
    }

    #[test]
    fn first_missing_names_the_scope_the_other_set_lacks() {
        let held: Scopes = "sc_a:write sc_b:read".parse().unwrap();
        let asked: Scopes = "sc_a:read sc_b:write".parse().unwrap();
        assert_eq!(held.first_missing(&asked), Some(scope("sc_b:write")));
        assert!(!held.contains(&asked));
        assert!(held.contains(&"sc_a:read".parse().unwrap()));
        assert!(held.contains(&Scopes::new()));
    }

    fn any_scopes() -> impl Strategy<Value = Scopes> {
        proptest::collection::vec((0..NAMES.len(), any::<bool>()), 0..8).prop_map(|picks| {
            picks
                .into_iter()
                .map(|(name, write)| {
                    let level = if write { "write" } else { "read" };
                    scope(&format!("{}:{level}", NAMES[name]))
                })
                .collect()
        })
    }

    proptest! {
        #[test]
        fn the_text_form_round_trips(scopes in any_scopes()) {
            prop_assert_eq!(scopes.to_string().parse::<Scopes>(), Ok(scopes));
        }

        #[test]
        fn a_set_holds_exactly_what_it_contains(a in any_scopes(), b in any_scopes()) {
            let every_held = b.iter().all(|scope| a.holds(scope));
            prop_assert_eq!(a.contains(&b), every_held);
            let union: Scopes = a.iter().chain(b.iter()).collect();
            prop_assert!(union.contains(&a) && union.contains(&b));
        }
    }
}
