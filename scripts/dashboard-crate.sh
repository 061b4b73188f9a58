#!/usr/bin/env bash
# Builds an app outside this repository that depends on formbox-auth by path with the `dashboard`
# feature, as a host's crate would, and runs the Settings › API Keys page's browser flow
# (tests/browser/settings_page.py, with axe-core) against it. The app is its own: a toy sign-in
# (`GET /login?user=alice` sets a random `toy_session` cookie of the organization `acme`), the page
# mounted at /account/api-keys behind that sign-in (product "Acme", a link back to /), and `/things`
# and `/gadgets` behind the API-key layer, each a resource restricted keys may be scoped over
# (`things:read` to GET `/things`, `things:write` to POST), with two keys made at start (full
# access, read only). The flow creates a restricted key on the page and uses it. The script
# prints the lines a host writes to mount the page, marked `dashboard: begin` / `dashboard: end` in
# the app, and fails if they are more than 30.
#
#   scripts/dashboard-crate.sh        screenshot and axe report into target/browser/dashboard-crate*
#
# It shares the target directory ($CARGO_TARGET_DIR, or this repository's), so it rebuilds little.
# Chromium and the Python environment come as in scripts/browser.sh.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
root="$(cd "$(dirname "$0")/.." && pwd)"
crate="$(mktemp -d)"
on_exit rm -rf "$crate"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target}"
max_mount_lines=30

chromium="$(chromium_binary)"
python_bin="$("$root/scripts/python-env.sh")"

mkdir -p "$crate/src"
cat >"$crate/Cargo.toml" <<TOML
[package]
name = "acme-app"
version = "0.1.0"
edition = "2024"
publish = false

[workspace]

[dependencies]
formbox-auth = { path = "$root", features = ["dashboard"] }
axum = "0.8"
rand = { version = "0.10", default-features = false, features = ["std", "sys_rng"] }
tokio = { version = "1", features = ["macros", "rt-multi-thread", "net"] }
TOML
cat >"$crate/src/main.rs" <<'RUST'
//! Acme: an app with a sign-in of its own, its API behind API keys, and the Settings › API Keys
//! page of formbox-auth at /account/api-keys. `acme-app [HOST:PORT]` (default 127.0.0.1:0).

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use axum::{
    Router,
    extract::{Query, State},
    http::{HeaderMap, StatusCode, header},
    response::{Html, IntoResponse, Redirect, Response},
    routing::get,
};
use formbox_auth::{
    ApiKeyAuthLayer, AuthContext, KeyManager, MemoryStore, OrganizationId, Permission,
    PermissionPolicy, lifecycle::NewKey, permission::Resources,
};
use rand::{TryRng, rngs::SysRng};

// dashboard: begin
use axum::http::request::Parts;
use formbox_auth::dashboard::{Dashboard, DashboardAccess, Viewer};

#[derive(Clone)]
struct AcmeAccess(Sessions);

impl DashboardAccess for AcmeAccess {
    async fn viewer(&self, parts: &mut Parts) -> Option<Viewer> {
        let (session, organization) = self.0.signed_in(&parts.headers)?;
        Some(Viewer::new(session, organization))
    }
}
// dashboard: end

/// The toy sign-in's users and their organizations.
const USERS: &[(&str, &str)] = &[("alice", "acme")];

/// The toy sign-in's sessions: a random id in the `toy_session` cookie, and its organization.
#[derive(Clone, Default)]
struct Sessions(Arc<Mutex<HashMap<String, OrganizationId>>>);

impl Sessions {
    /// The session of the request's `toy_session` cookie, if it is one of ours.
    fn signed_in(&self, headers: &HeaderMap) -> Option<(String, OrganizationId)> {
        let cookies = headers.get_all(header::COOKIE).iter();
        let id = cookies
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(';'))
            .find_map(|pair| pair.trim().strip_prefix("toy_session="))?;
        let organization = self.0.lock().unwrap().get(id)?.clone();
        Some((id.to_owned(), organization))
    }
}

/// `GET /login?user=NAME`: signs a known user in, no password asked, and opens the page.
async fn login(
    State(sessions): State<Sessions>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let user = query.get("user").map(String::as_str);
    let Some((_, organization)) = USERS.iter().find(|(name, _)| Some(*name) == user) else {
        return (StatusCode::UNAUTHORIZED, "unknown user").into_response();
    };
    let mut bytes = [0u8; 32];
    if SysRng.try_fill_bytes(&mut bytes).is_err() {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    }
    let id: String = bytes.iter().map(|byte| format!("{byte:02x}")).collect();
    let organization = OrganizationId::from(*organization);
    sessions.0.lock().unwrap().insert(id.clone(), organization);
    let cookie = format!("toy_session={id}; HttpOnly; SameSite=Strict; Path=/");
    let redirect = Redirect::to("/account/api-keys");
    ([(header::SET_COOKIE, cookie)], redirect).into_response()
}

/// Each organization's things (or gadgets), read with a key that may read them and added with one
/// that may write them.
type Things = Arc<Mutex<HashMap<OrganizationId, Vec<String>>>>;

async fn list_things(State(things): State<Things>, context: AuthContext) -> String {
    let things = things.lock().unwrap();
    let ours = things
        .get(context.organization())
        .cloned()
        .unwrap_or_default();
    format!("{ours:?}")
}

async fn add_thing(State(things): State<Things>, context: AuthContext, body: String) -> StatusCode {
    let mut things = things.lock().unwrap();
    things
        .entry(context.organization().clone())
        .or_default()
        .push(body);
    StatusCode::CREATED
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:0".into());
    // What restricted keys may be scoped over: each resource is the route of its name.
    let resources = Resources::new(["things", "gadgets"])?;
    let mut policy = PermissionPolicy::new();
    for resource in resources.iter() {
        policy = policy.resource(&format!("/{resource}"), resource);
    }
    let manager = KeyManager::new(MemoryStore::new()).with_resources(resources);
    let acme = OrganizationId::from("acme");
    for (permission, name) in [
        (Permission::FullAccess, "Acme backend"),
        (Permission::ReadOnly, "Acme reports"),
    ] {
        let created = manager.create(&acme, NewKey::new(name, permission)).await?;
        println!("{permission} key: {}", created.key.expose_secret());
    }

    let sessions = Sessions::default();
    let gadgets = Router::new()
        .route("/gadgets", get(list_things).post(add_thing))
        .with_state(Things::default());
    let things = Router::new()
        .route("/things", get(list_things).post(add_thing))
        .with_state(Things::default())
        .merge(gadgets)
        .layer(ApiKeyAuthLayer::new(manager.authenticator().clone()).with_policy(policy));
    let app = Router::new()
        .route("/", get(|| async { Html("<h1>Acme</h1>") }))
        .route("/login", get(login))
        .with_state(sessions.clone())
        .merge(things);

    // dashboard: begin
    let dashboard = Dashboard::new(manager, AcmeAccess(sessions))
        .product_name("Acme")
        .back_link("Back to Acme", "/")
        .sign_in_url("/login?user=alice")
        .router();
    let app = app.nest("/account/api-keys", dashboard);
    // dashboard: end

    let listener = tokio::net::TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    println!("listening on http://{addr}");
    println!("sign-in: http://{addr}/login?user=alice");
    axum::serve(listener, app).await?;
    Ok(())
}
RUST
cp "$root/Cargo.lock" "$crate/Cargo.lock"

# What a host writes to mount the page: the marked lines, blank ones and the markers left out.
mount_lines="$(awk '/\/\/ dashboard: end/ { inside = 0 } inside && NF { print } /\/\/ dashboard: begin/ { inside = 1 }' \
    "$crate/src/main.rs")"
[[ -n "$mount_lines" ]] || fail "no lines between the app's dashboard: begin and end markers"
count="$(grep -c . <<<"$mount_lines")"
say "the lines Acme writes to mount the page behind its own sign-in ($count):"
sed 's/^/    /' <<<"$mount_lines" >&2
[[ $count -le $max_mount_lines ]] || fail "mounting the page takes $count lines, more than $max_mount_lines"

say "building the app"
(cd "$crate" && cargo build -q)

log="$crate/app.log"
start_example --ready '^sign-in: ' --within 30 "$log" "$CARGO_TARGET_DIR/debug/acme-app" 127.0.0.1:0
base="$(sed -n 's/^listening on //p' "$log")"
sign_in="$(sed -n 's/^sign-in: //p' "$log")"
full="$(printed_key "$log" full_access)"
read_only="$(printed_key "$log" read_only)"
say "Acme at $base"

cd "$root"
FORMBOX_SIGN_IN="$sign_in" FORMBOX_FULL_KEY="$full" FORMBOX_READ_ONLY_KEY="$read_only" \
    "$python_bin/python" tests/browser/settings_page.py \
    --base-url "$base" --page-url "$base/account/api-keys" \
    --session-cookie toy_session --keyed-route /things \
    --restricted-scopes things:read,gadgets:write \
    --restricted-allows 'GET /things' --restricted-allows 'POST /gadgets' \
    --restricted-refuses 'POST /things' \
    --product Acme --back-link "Back to Acme" \
    --chromium "$chromium" --screenshot target/browser/dashboard-crate.png \
    --axe-report target/browser/axe-dashboard-crate.json
