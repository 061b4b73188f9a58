//! The Settings › API Keys page, mounted in any axum app behind the host's own sign-in.
//!
//! [`Dashboard`] serves the page, its stylesheet and script (embedded in the binary) and the
//! management API the page calls, all relative to where the host nests it. The host says who is
//! signed in through [`DashboardAccess`]; the crate checks every write's CSRF token (bound to the
//! host's session) and `Origin`, so no host can forget to. [`PageText`] holds every string the
//! page shows, for translations.
//!
//! | route, under the mount point | is |
//! |---|---|
//! | `GET /` | the page (`401` with a notice when nobody is signed in) |
//! | `GET /page.css`, `GET /page.js` | its files, with an entity tag |
//! | `/api/api-keys…` | the [`ManagementApi`] routes, for the signed-in viewer's organization |
//!
//! ```
//! use axum::Router;
//! use formbox_auth::{KeyManager, MemoryStore, OrganizationId};
//! use formbox_auth::dashboard::{Dashboard, DashboardAccess, Viewer};
//! use axum::http::request::Parts;
//!
//! #[derive(Clone)]
//! struct SignedIn;
//!
//! impl DashboardAccess for SignedIn {
//!     async fn viewer(&self, parts: &mut Parts) -> Option<Viewer> {
//!         // The host's own session lookup goes here.
//!         let session = parts.headers.get("x-session")?.to_str().ok()?;
//!         Some(Viewer::new(session, OrganizationId::from("org_1")))
//!     }
//! }
//!
//! let manager = KeyManager::new(MemoryStore::new());
//! let dashboard = Dashboard::new(manager, SignedIn)
//!     .product_name("Acme")
//!     .back_link("Back to Acme", "/");
//! let app: Router = Router::new().nest("/settings/api-keys", dashboard.router());
//! ```

mod access;
mod assets;
mod csrf;
mod gate;
mod page;
mod settings;
mod template;
mod text;

use std::{sync::Arc, time::Duration};

use axum::{Router, middleware::map_response, response::Response, routing::get};
use http::{
    HeaderMap, HeaderValue,
    header::{CACHE_CONTROL, X_CONTENT_TYPE_OPTIONS},
};

pub use access::{DashboardAccess, Viewer};
pub use text::{PageText, UnknownTextKey};

use crate::{lifecycle::manager::KeyManager, management::ManagementApi};
use assets::{SCRIPT, STYLESHEET};
use csrf::CsrfKey;
use gate::Gate;
use page::Pages;
use settings::{Label, Settings, seconds};

/// The Settings › API Keys page and the management API behind it, for the organization of
/// whoever [`DashboardAccess`] says is signed in. See the [module docs](self) for its routes.
///
/// Every write of the page must carry the CSRF token the page was served with (an HMAC of the
/// viewer's session under a secret of this dashboard) and an `Origin` naming the host it was
/// sent to. Instances behind one load balancer share a secret through
/// [`csrf_secret`](Self::csrf_secret); otherwise each draws its own.
#[derive(Debug, Clone)]
pub struct Dashboard<A> {
    manager: KeyManager,
    gate: Gate<A>,
    settings: Settings,
}

impl<A: DashboardAccess> Dashboard<A> {
    /// The page for `manager`'s keys, for the viewers `access` recognises.
    ///
    /// When `manager` declares resources ([`KeyManager::with_resources`]), the Create dialog
    /// offers a third permission, *Restricted*, with a choice of none, read or write for each.
    pub fn new(manager: KeyManager, access: A) -> Self {
        let settings = Settings {
            resources: manager.resources().clone(),
            ..Settings::default()
        };
        Self {
            manager,
            gate: Gate {
                access,
                csrf: CsrfKey::random(),
                allowed_origins: Arc::from([]),
            },
            settings,
        }
    }

    /// The product's name, in the page's title and (without a back link) its top bar.
    #[must_use]
    pub fn product_name(mut self, name: impl Into<String>) -> Self {
        self.settings.product = Some(name.into());
        self
    }

    /// A link back to the host's app, in the top bar.
    #[must_use]
    pub fn back_link(mut self, label: impl Into<String>, href: impl Into<String>) -> Self {
        self.settings.back_link = Some((label.into(), href.into()));
        self
    }

    /// Where the host signs people in: the page links to it when nobody is signed in.
    #[must_use]
    pub fn sign_in_url(mut self, url: impl Into<String>) -> Self {
        self.settings.sign_in_url = Some(url.into());
        self
    }

    /// The texts the page shows ([`PageText::english`] unless set).
    #[must_use]
    pub fn text(mut self, text: PageText) -> Self {
        self.settings.text = text;
        self
    }

    /// The grace periods offered when a key is regenerated, with their labels, the first
    /// preselected. A zero duration means none: the old secret stops at once. By default none,
    /// 1 hour, 24 hours and 7 days, labelled by the texts `grace.*` ([`PageText`]).
    ///
    /// ```
    /// # use formbox_auth::{KeyManager, MemoryStore, dashboard::{Dashboard, Viewer}};
    /// # use std::time::Duration;
    /// # #[derive(Clone)] struct Nobody;
    /// # impl formbox_auth::dashboard::DashboardAccess for Nobody {
    /// #     async fn viewer(&self, _: &mut axum::http::request::Parts) -> Option<Viewer> { None }
    /// # }
    /// let dashboard = Dashboard::new(KeyManager::new(MemoryStore::new()), Nobody)
    ///     .grace_periods([(Duration::ZERO, "None"), (Duration::from_secs(900), "15 minutes")]);
    /// ```
    #[must_use]
    pub fn grace_periods<L: Into<String>>(
        mut self,
        choices: impl IntoIterator<Item = (Duration, L)>,
    ) -> Self {
        self.settings.grace_periods = choices
            .into_iter()
            .map(|(duration, label)| (seconds(duration), Label::Own(label.into())))
            .collect();
        self
    }

    /// The expiries offered when a key is created, from now, with their labels, the first
    /// preselected. `None` means the key never expires. By default never, 30 days, 90 days and
    /// 1 year, labelled by the texts `expiry.*` ([`PageText`]).
    #[must_use]
    pub fn expiry_choices<L: Into<String>>(
        mut self,
        choices: impl IntoIterator<Item = (Option<Duration>, L)>,
    ) -> Self {
        self.settings.expiries = choices
            .into_iter()
            .map(|(duration, label)| (duration.and_then(seconds), Label::Own(label.into())))
            .collect();
        self
    }

    /// The secret CSRF tokens are derived with, shared by every instance that serves the page
    /// (from the host's secret store; 32 random bytes). Without it each dashboard draws its
    /// own, and a page served by one instance cannot write through another.
    #[must_use]
    pub fn csrf_secret(mut self, secret: [u8; 32]) -> Self {
        self.gate.csrf = CsrfKey::fixed(secret);
        self
    }

    /// Accepts writes whose `Origin` is `origin` (such as `https://app.example.com`) besides
    /// those naming the host they were sent to: for a proxy that rewrites `Host`.
    #[must_use]
    pub fn allowed_origin(mut self, origin: impl Into<String>) -> Self {
        let mut origins = self.gate.allowed_origins.to_vec();
        origins.push(origin.into());
        self.gate.allowed_origins = origins.into();
        self
    }

    /// The path browsers reach the page at, when a proxy in front changes it (say the app
    /// sees `/settings/api-keys` but browsers use `/app/settings/api-keys`). By default the
    /// page links its files and API relative to the path it was requested at.
    #[must_use]
    pub fn public_path(mut self, path: impl Into<String>) -> Self {
        self.settings.public_path = Some(path.into());
        self
    }

    /// The page's routes, relative: nest them under the path the page should have.
    pub fn router<S: Clone + Send + Sync + 'static>(self) -> Router<S> {
        let api = ManagementApi::new(self.manager)
            .with_access(self.gate.clone())
            .router()
            // A created key is in a response body: no cache may keep it.
            .layer(map_response(no_store));
        let pages = Pages {
            gate: self.gate,
            settings: Arc::new(self.settings),
        };
        Router::new()
            .route("/", get(page::page::<A>))
            .route(
                "/page.css",
                get(|h: HeaderMap| async move { STYLESHEET.respond(&h) }),
            )
            .route(
                "/page.js",
                get(|h: HeaderMap| async move { SCRIPT.respond(&h) }),
            )
            .with_state(pages)
            .nest("/api", api)
    }
}

async fn no_store(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    response
}
