//! Operator command line for keys, in the same stores the example server uses.
//!
//! ```text
//! cargo run --example keys -- [--store SPEC] create --org ORG --name NAME --permission full_access|read_only [--expires-at UNIX_SECONDS] [--rate-limit N/SECONDS]
//! cargo run --example keys -- [--store SPEC] list --org ORG [--limit N] [--cursor CURSOR] [--all]
//! cargo run --example keys -- [--store SPEC] update --org ORG --id KEY_ID [--name NAME] [--expires-at UNIX_SECONDS|none] [--rate-limit N/SECONDS|none]
//! cargo run --example keys -- [--store SPEC] revoke --org ORG --id KEY_ID
//! cargo run --example keys -- [--store SPEC] regenerate --org ORG --id KEY_ID [--grace SECONDS]
//! cargo run --example keys -- [--store SPEC] revoke-leaked KEY...
//! ```
//!
//! The plaintext of a key is printed once, by `create` and `regenerate`.
//!
//! `--rate-limit 600/60` gives a key its own rate limit: at most 600 requests per 60 seconds.
//! `update` changes what it is given in one write: `none` removes the expiry or the rate limit.
//!
//! `list` prints one page of keys, newest first (50 unless `--limit` says otherwise, at most
//! 100), and, when more follow, a last line `next page: --cursor CURSOR` to pass to the next
//! `list`. `--all` follows the cursors to the last key.

#[path = "support/args.rs"]
mod args;
#[path = "support/rate_limit.rs"]
mod rate_limit;
#[path = "support/store.rs"]
mod store;

use std::{
    error::Error,
    time::{Duration, SystemTime},
};

use args::Args;
use formbox_auth::{
    Authenticator, KeyManager, OrganizationId, Permission,
    lifecycle::{KeyChanges, KeyInfo, KeyPage, LeakOutcome, NewKey},
    rate_limit::RateLimit,
    store::ListCursor,
};

const USAGE: &str =
    "usage: keys [--store SPEC] <create|list|update|revoke|regenerate|revoke-leaked> [options]
  create --org ORG --name NAME --permission full_access|read_only [--expires-at UNIX_SECONDS]
         [--rate-limit N/SECONDS]
  list --org ORG [--limit N] [--cursor CURSOR] [--all]
  update --org ORG --id KEY_ID [--name NAME] [--expires-at UNIX_SECONDS|none]
         [--rate-limit N/SECONDS|none]
  revoke --org ORG --id KEY_ID
  regenerate --org ORG --id KEY_ID [--grace SECONDS]
  revoke-leaked KEY...";

#[tokio::main(flavor = "current_thread")]
async fn main() {
    if let Err(error) = run().await {
        eprintln!("error: {error}");
        std::process::exit(2);
    }
}

async fn run() -> Result<(), Box<dyn Error>> {
    let args = Args::parse_with_switches(std::env::args().skip(1), &["all"])
        .map_err(|e| format!("{e}\n{USAGE}"))?;
    let Some((command, rest)) = args.words.split_first() else {
        return Err(USAGE.into());
    };
    let store = store::open_store(args.get("store").unwrap_or(store::DEFAULT_STORE)).await?;
    let manager = KeyManager::new(Authenticator::new(store));
    match command.as_str() {
        "create" => create(&manager, &args).await,
        "list" => list(&manager, &args).await,
        "update" => update(&manager, &args).await,
        "revoke" => revoke(&manager, &args).await,
        "regenerate" => regenerate(&manager, &args).await,
        "revoke-leaked" => revoke_leaked(&manager, rest).await,
        other => Err(format!("unknown command {other:?}\n{USAGE}").into()),
    }
}

async fn create(manager: &KeyManager, args: &Args) -> Result<(), Box<dyn Error>> {
    args.only(&[
        "store",
        "org",
        "name",
        "permission",
        "expires-at",
        "rate-limit",
    ])?;
    let permission: Permission = args.require("permission")?.parse()?;
    let expires_at = args.get("expires-at").map(unix_seconds).transpose()?;
    let rate_limit = args.get("rate-limit").map(rate_limit).transpose()?;
    let key = NewKey::new(args.require("name")?, permission)
        .expires_at(expires_at)
        .rate_limit(rate_limit);
    let created = manager.create(&organization(args)?, key).await?;
    println!("{}", describe(&created.info));
    println!("key (shown once): {}", created.key.expose_secret());
    Ok(())
}

/// One page, or with `--all` every page from the cursor on.
async fn list(manager: &KeyManager, args: &Args) -> Result<(), Box<dyn Error>> {
    args.only(&["store", "org", "limit", "cursor", "all"])?;
    let org = organization(args)?;
    let all = args.has("all");
    let limit = match args.get("limit") {
        Some(limit) => limit.parse()?,
        // Fewer round trips when every page is wanted anyway.
        None if all => KeyPage::MAX_LIMIT,
        None => KeyPage::DEFAULT_LIMIT,
    };
    let mut cursor: Option<ListCursor> = args.get("cursor").map(str::parse).transpose()?;
    loop {
        let page = manager.list_page(&org, cursor.as_ref(), limit).await?;
        for info in &page.keys {
            println!("{}", describe(info));
        }
        match page.next_cursor {
            Some(next) if all => cursor = Some(next),
            Some(next) => {
                println!("next page: --cursor {next}");
                return Ok(());
            }
            None => return Ok(()),
        }
    }
}

/// Renames a key, changes its expiry and its rate limit, in one write; `none` removes either.
async fn update(manager: &KeyManager, args: &Args) -> Result<(), Box<dyn Error>> {
    args.only(&["store", "org", "id", "name", "expires-at", "rate-limit"])?;
    let mut changes = KeyChanges::new();
    if let Some(name) = args.get("name") {
        changes = changes.name(name);
    }
    if let Some(text) = args.get("expires-at") {
        changes = changes.expires_at(unless_none(text, unix_seconds)?);
    }
    if let Some(text) = args.get("rate-limit") {
        changes = changes.rate_limit(unless_none(text, rate_limit)?);
    }
    if changes.is_empty() {
        return Err(format!("update needs --name, --expires-at or --rate-limit\n{USAGE}").into());
    }
    let id = args.require("id")?.parse()?;
    let info = manager.update(&organization(args)?, id, changes).await?;
    println!("{}", describe(&info));
    Ok(())
}

async fn revoke(manager: &KeyManager, args: &Args) -> Result<(), Box<dyn Error>> {
    args.only(&["store", "org", "id"])?;
    let info = manager
        .revoke(&organization(args)?, args.require("id")?.parse()?)
        .await?;
    println!("{}", describe(&info));
    Ok(())
}

async fn regenerate(manager: &KeyManager, args: &Args) -> Result<(), Box<dyn Error>> {
    args.only(&["store", "org", "id", "grace"])?;
    let grace = match args.get("grace") {
        Some(seconds) => Some(Duration::from_secs(seconds.parse()?)),
        None => None,
    };
    let id = args.require("id")?.parse()?;
    let created = manager.regenerate(&organization(args)?, id, grace).await?;
    println!("{}", describe(&created.info));
    println!("key (shown once): {}", created.key.expose_secret());
    Ok(())
}

async fn revoke_leaked(manager: &KeyManager, keys: &[String]) -> Result<(), Box<dyn Error>> {
    if keys.is_empty() {
        return Err("revoke-leaked needs at least one key".into());
    }
    for (position, outcome) in manager.revoke_leaked(keys).await?.into_iter().enumerate() {
        let line = match outcome {
            LeakOutcome::Revoked {
                organization,
                key_id,
            } => format!("revoked {key_id} of {organization}"),
            LeakOutcome::AlreadyRevoked {
                organization,
                key_id,
            } => {
                format!("already revoked {key_id} of {organization}")
            }
            LeakOutcome::GraceEnded {
                organization,
                key_id,
            } => {
                format!("ended the grace period of the old secret of {key_id} of {organization}")
            }
            LeakOutcome::Unknown => "unknown key".to_owned(),
            LeakOutcome::Malformed => "not a key".to_owned(),
            _ => "unexpected outcome".to_owned(),
        };
        println!("#{}: {line}", position + 1);
    }
    Ok(())
}

fn organization(args: &Args) -> Result<OrganizationId, String> {
    args.require("org").map(OrganizationId::from)
}

/// A time given as Unix seconds.
fn unix_seconds(text: &str) -> Result<SystemTime, Box<dyn Error>> {
    let seconds = text
        .parse()
        .map_err(|_| format!("{text:?} is not Unix seconds"))?;
    Ok(SystemTime::UNIX_EPOCH + Duration::from_secs(seconds))
}

/// `--rate-limit`'s value; see [`rate_limit::parse_rate_limit`].
fn rate_limit(text: &str) -> Result<RateLimit, Box<dyn Error>> {
    Ok(rate_limit::parse_rate_limit(text)?)
}

/// `None` for the word `none`, otherwise what `parse` makes of `text`.
fn unless_none<T>(
    text: &str,
    parse: fn(&str) -> Result<T, Box<dyn Error>>,
) -> Result<Option<T>, Box<dyn Error>> {
    if text == "none" {
        Ok(None)
    } else {
        parse(text).map(Some)
    }
}

/// One line per key: display form, permission, name, state, rate limit and last use.
fn describe(info: &KeyInfo) -> String {
    let state = match (info.revoked_at, info.expires_at) {
        (Some(_), _) => "revoked".to_owned(),
        (None, Some(expires_at)) if expires_at <= SystemTime::now() => "expired".to_owned(),
        (None, Some(expires_at)) => format!("expires at {}", unix(expires_at)),
        (None, None) => "active".to_owned(),
    };
    let last_used = info.last_used_at.map_or_else(|| "never".to_owned(), unix);
    let rate_limit = info.rate_limit.map_or_else(
        || "none".to_owned(),
        |limit| format!("{}/{}", limit.requests(), limit.per_seconds()),
    );
    format!(
        "{}  {:<11}  {:?}  {state}  rate limit: {rate_limit}  last used: {last_used}",
        info.display, info.permission, info.name
    )
}

fn unix(time: SystemTime) -> String {
    time.duration_since(SystemTime::UNIX_EPOCH)
        .map_or_else(|_| "before 1970".to_owned(), |d| d.as_secs().to_string())
}
