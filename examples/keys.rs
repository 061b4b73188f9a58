//! Operator command line for keys, in the same stores the example server uses.
//!
//! ```text
//! cargo run --example keys -- [--store SPEC] create --org ORG --name NAME --permission full_access|read_only [--expires-at UNIX_SECONDS]
//! cargo run --example keys -- [--store SPEC] list --org ORG [--limit N] [--cursor CURSOR] [--all]
//! cargo run --example keys -- [--store SPEC] revoke --org ORG --id KEY_ID
//! cargo run --example keys -- [--store SPEC] regenerate --org ORG --id KEY_ID [--grace SECONDS]
//! cargo run --example keys -- [--store SPEC] revoke-leaked KEY...
//! ```
//!
//! The plaintext of a key is printed once, by `create` and `regenerate`.
//!
//! `list` prints one page of keys, newest first (50 unless `--limit` says otherwise, at most
//! 100), and, when more follow, a last line `next page: --cursor CURSOR` to pass to the next
//! `list`. `--all` follows the cursors to the last key.

#[path = "support/args.rs"]
mod args;
#[path = "support/store.rs"]
mod store;

use std::{
    error::Error,
    time::{Duration, SystemTime},
};

use args::Args;
use formbox_auth::{
    Authenticator, DEFAULT_PAGE_LIMIT, KeyInfo, KeyManager, LeakOutcome, ListCursor,
    MAX_PAGE_LIMIT, OrganizationId, Permission,
};

const USAGE: &str =
    "usage: keys [--store SPEC] <create|list|revoke|regenerate|revoke-leaked> [options]
  create --org ORG --name NAME --permission full_access|read_only [--expires-at UNIX_SECONDS]
  list --org ORG [--limit N] [--cursor CURSOR] [--all]
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
    let manager = KeyManager::from_authenticator(Authenticator::from_shared(store));
    match command.as_str() {
        "create" => create(&manager, &args).await,
        "list" => list(&manager, &args).await,
        "revoke" => revoke(&manager, &args).await,
        "regenerate" => regenerate(&manager, &args).await,
        "revoke-leaked" => revoke_leaked(&manager, rest).await,
        other => Err(format!("unknown command {other:?}\n{USAGE}").into()),
    }
}

async fn create(manager: &KeyManager, args: &Args) -> Result<(), Box<dyn Error>> {
    args.only(&["store", "org", "name", "permission", "expires-at"])?;
    let permission: Permission = args.require("permission")?.parse()?;
    let expires_at = match args.get("expires-at") {
        Some(seconds) => Some(SystemTime::UNIX_EPOCH + Duration::from_secs(seconds.parse()?)),
        None => None,
    };
    let org = organization(args)?;
    let created = manager
        .create(&org, args.require("name")?, permission, expires_at)
        .await?;
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
        None if all => MAX_PAGE_LIMIT,
        None => DEFAULT_PAGE_LIMIT,
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

/// One line per key: display form, permission, name and state.
fn describe(info: &KeyInfo) -> String {
    let state = match (info.revoked_at, info.expires_at) {
        (Some(_), _) => "revoked".to_owned(),
        (None, Some(expires_at)) if expires_at <= SystemTime::now() => "expired".to_owned(),
        (None, Some(expires_at)) => format!("expires at {}", unix(expires_at)),
        (None, None) => "active".to_owned(),
    };
    let last_used = info.last_used_at.map_or_else(|| "never".to_owned(), unix);
    format!(
        "{}  {:<11}  {:?}  {state}  last used: {last_used}",
        info.display, info.permission, info.name
    )
}

fn unix(time: SystemTime) -> String {
    time.duration_since(SystemTime::UNIX_EPOCH)
        .map_or_else(|_| "before 1970".to_owned(), |d| d.as_secs().to_string())
}
