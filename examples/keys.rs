//! Operator command line for keys, in the same stores the example server uses.
//!
//! ```text
//! cargo run --example keys -- [--store SPEC] create --org ORG --name NAME --permission full_access|read_only|restricted [--scope SCOPE]... [--expires-at UNIX_SECONDS] [--rate-limit N/SECONDS]
//! cargo run --example keys -- [--store SPEC] ensure --org ORG --name NAME --permission full_access|read_only|restricted [--scope SCOPE]...
//! cargo run --example keys -- [--store SPEC] list --org ORG [--limit N] [--cursor CURSOR] [--all]
//! cargo run --example keys -- [--store SPEC] update --org ORG --id KEY_ID [--name NAME] [--expires-at UNIX_SECONDS|none] [--rate-limit N/SECONDS|none] [--permission P [--scope SCOPE]...]
//! cargo run --example keys -- [--store SPEC] revoke --org ORG --id KEY_ID
//! cargo run --example keys -- [--store SPEC] regenerate --org ORG --id KEY_ID [--grace SECONDS]
//! cargo run --example keys -- [--store SPEC] revoke-leaked KEY...
//! ```
//!
//! `--help` describes every command and flag. The plaintext of a key is printed once, by
//! `create`, `regenerate`, and `ensure` when it creates the key.
//!
//! `ensure` gives an organization its first key (`KeyManager::ensure_key`): it creates the key
//! unless the organization has an active one with that name and permission, and prints
//! `created: KEY_ID` and the key, or `exists: KEY_ID` without it; both exit with 0.
//!
//! `--permission restricted` keys hold only their scopes, one `--scope` each: `forms:read`,
//! `submissions:write` (writing includes reading), over the resources the example server
//! declares (`support/resources.rs`: `forms`, `submissions`, `api_keys`). `list` shows them:
//! `restricted(forms:read submissions:write)`.
//!
//! `--rate-limit 600/60` gives a key its own rate limit: at most 600 requests per 60 seconds.
//! `update` changes what it is given in one write: `none` removes the expiry or the rate limit.
//!
//! With `--invalidation redis:URL`, every change is announced on Redis, where servers started
//! with the same flag hear it at once: without it, such a server sees a change made here only
//! when its cached copy expires (PostgreSQL's own `NOTIFY` reaches only servers listening on
//! PostgreSQL).
//!
//! `list` prints one page of keys, newest first (50 unless `--limit` says otherwise, at most
//! 100), and, when more follow, a last line `next page: --cursor CURSOR` to pass to the next
//! `list`. `--all` follows the cursors to the last key.

#[path = "support/args.rs"]
mod args;
#[path = "support/rate_limit.rs"]
mod rate_limit;
#[path = "support/resources.rs"]
mod resources;
#[path = "support/store.rs"]
mod store;

use std::{
    error::Error,
    time::{Duration, SystemTime},
};

use args::{Args, Flag};
use formbox_auth::{
    Access, Authenticator, KeyManager, OrganizationId,
    lifecycle::{EnsuredKey, KeyChanges, KeyInfo, KeyPage, LeakOutcome, NewKey},
    permission::{InvalidScope, Resources, Scopes},
    rate_limit::RateLimit,
    store::ListCursor,
};

/// A command: its name, what follows its flags, what it does, and its flags.
struct Command {
    name: &'static str,
    words: &'static str,
    about: &'static str,
    flags: &'static [Flag],
}

const ORG: Flag = Flag::new("org", "ORG", "the organization (required)");
const ID: Flag = Flag::new("id", "KEY_ID", "the key's id (required)");
const NAME: Flag = Flag::new("name", "NAME", "the key's name (required)");
const PERMISSION: Flag = Flag::new(
    "permission",
    "full_access|read_only|restricted",
    "what the key may do (required); restricted: only its --scope",
);
const SCOPE: Flag = Flag::new(
    "scope",
    "SCOPE",
    "RESOURCE:read or RESOURCE:write over forms, submissions or api_keys, for a restricted \
     key; repeat for more",
);
const RATE_LIMIT: Flag = Flag::new(
    "rate-limit",
    "N/SECONDS",
    "at most N requests per SECONDS seconds; none removes it (update)",
);
const EXPIRES_AT: Flag = Flag::new(
    "expires-at",
    "UNIX_SECONDS",
    "when the key stops working; none removes it (update)",
);

const COMMANDS: &[Command] = &[
    Command {
        name: "create",
        words: "",
        about: "creates a key and prints it, the only time it is shown",
        flags: &[ORG, NAME, PERMISSION, SCOPE, EXPIRES_AT, RATE_LIMIT],
    },
    Command {
        name: "ensure",
        words: "",
        about: "creates the key unless the organization has an active one with this name and \
                permission (and scopes): prints `created: KEY_ID` and the key, or \
                `exists: KEY_ID`",
        flags: &[ORG, NAME, PERMISSION, SCOPE],
    },
    Command {
        name: "list",
        words: "",
        about: "lists keys, newest first, a page at a time",
        flags: &[
            ORG,
            Flag::new("limit", "N", "keys per page, 1 to 100 (default 50)"),
            Flag::new("cursor", "CURSOR", "the page after the one that printed it"),
            Flag::switch("all", "every page"),
        ],
    },
    Command {
        name: "update",
        words: "",
        about: "renames a key, changes its expiry, rate limit and permission, in one write",
        flags: &[
            ORG,
            ID,
            Flag::new("name", "NAME", "the new name"),
            EXPIRES_AT,
            RATE_LIMIT,
            Flag::new(
                "permission",
                "full_access|read_only|restricted",
                "the new permission; restricted: only its --scope",
            ),
            SCOPE,
        ],
    },
    Command {
        name: "revoke",
        words: "",
        about: "revokes a key",
        flags: &[ORG, ID],
    },
    Command {
        name: "regenerate",
        words: "",
        about: "gives a key a new secret and prints it, once",
        flags: &[
            ORG,
            ID,
            Flag::new(
                "grace",
                "SECONDS",
                "how long the old secret keeps working (default 0)",
            ),
        ],
    },
    Command {
        name: "revoke-leaked",
        words: " KEY...",
        about: "revokes keys from their plaintext, as a secret-scanning report delivers them",
        flags: &[],
    },
];

/// `--help`: the global flags, then each command with its own.
fn help() -> String {
    let mut help = format!(
        "Manages keys in the example server's stores, without a running server.\n\n\
         usage: keys [--store SPEC] [--invalidation SPEC] COMMAND [FLAGS]\n\n{}",
        args::describe(&[store::STORE_FLAG, store::INVALIDATION_FLAG])
    );
    for command in COMMANDS {
        help.push_str(&format!(
            "\n\n{}{}: {}",
            command.name, command.words, command.about
        ));
        if !command.flags.is_empty() {
            let flags = args::describe(command.flags);
            // Without the `--help` line that `describe` ends with: it is listed once, above.
            let flags = flags.rsplit_once('\n').map_or("", |(flags, _)| flags);
            help.push_str(&format!("\n{flags}"));
        }
    }
    help
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    if let Err(error) = run().await {
        eprintln!("error: {error}");
        std::process::exit(2);
    }
}

async fn run() -> Result<(), Box<dyn Error>> {
    let every_flag: Vec<Flag> = COMMANDS
        .iter()
        .flat_map(|command| command.flags.iter().copied())
        .chain([store::STORE_FLAG, store::INVALIDATION_FLAG])
        .collect();
    let help = help();
    let args = Args::from_env(&every_flag, &help);
    let Some((name, rest)) = args.words.split_first() else {
        return Err(format!("no command given\n\n{help}").into());
    };
    let Some(command) = COMMANDS.iter().find(|command| command.name == name) else {
        return Err(format!("unknown command {name:?}\n\n{help}").into());
    };
    let mut known = command.flags.to_vec();
    known.extend([store::STORE_FLAG, store::INVALIDATION_FLAG]);
    args.only(&known)
        .map_err(|error| format!("{error} (for {name})"))?;
    let store_spec = args.get("store").unwrap_or(store::DEFAULT_STORE);
    // A command line keeps no cache worth keeping fresh: it announces, and listens to nothing.
    let invalidation =
        store::Invalidation::parse(args.get("invalidation"), store_spec)?.announce_only();
    let store = store::open_store(store_spec, &invalidation).await?;
    // The server's declaration: a key made here holds scopes the server's routes know.
    let manager = KeyManager::new(Authenticator::new(store)).with_resources(resources::declare()?);
    match command.name {
        "create" => create(&manager, &args).await,
        "ensure" => ensure(&manager, &args).await,
        "list" => list(&manager, &args).await,
        "update" => update(&manager, &args).await,
        "revoke" => revoke(&manager, &args).await,
        "regenerate" => regenerate(&manager, &args).await,
        _ => revoke_leaked(&manager, rest).await,
    }
}

async fn create(manager: &KeyManager, args: &Args) -> Result<(), Box<dyn Error>> {
    let access = access(args, manager.resources())?;
    let expires_at = args.get("expires-at").map(unix_seconds).transpose()?;
    let rate_limit = args.get("rate-limit").map(rate_limit).transpose()?;
    let key = NewKey::new(args.require("name")?, access)
        .expires_at(expires_at)
        .rate_limit(rate_limit);
    let created = manager.create(&organization(args)?, key).await?;
    println!("{}", describe(&created.info));
    println!("key (shown once): {}", created.key.expose_secret());
    Ok(())
}

/// The key, created unless an active one with the name and access exists.
async fn ensure(manager: &KeyManager, args: &Args) -> Result<(), Box<dyn Error>> {
    let access = access(args, manager.resources())?;
    let ensured = manager
        .ensure_key(&organization(args)?, args.require("name")?, access)
        .await?;
    match &ensured {
        EnsuredKey::Created(created) => {
            println!("created: {}", created.info.id);
            println!("{}", describe(&created.info));
            println!("key (shown once): {}", created.key.expose_secret());
        }
        EnsuredKey::Existing(info) => {
            println!("exists: {}", info.id);
            println!("{}", describe(info));
        }
    }
    Ok(())
}

/// One page, or with `--all` every page from the cursor on.
async fn list(manager: &KeyManager, args: &Args) -> Result<(), Box<dyn Error>> {
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
    if args.get("permission").is_some() || !args.values("scope").is_empty() {
        changes = changes.access(access(args, manager.resources())?);
    }
    if changes.is_empty() {
        return Err("update needs --name, --expires-at, --rate-limit or --permission".into());
    }
    let id = args.require("id")?.parse()?;
    let info = manager.update(&organization(args)?, id, changes).await?;
    println!("{}", describe(&info));
    Ok(())
}

async fn revoke(manager: &KeyManager, args: &Args) -> Result<(), Box<dyn Error>> {
    let info = manager
        .revoke(&organization(args)?, args.require("id")?.parse()?)
        .await?;
    println!("{}", describe(&info));
    Ok(())
}

async fn regenerate(manager: &KeyManager, args: &Args) -> Result<(), Box<dyn Error>> {
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

/// What `--permission` and `--scope` say the key may do: a preset, or `restricted` to at least
/// one scope, each over a resource of `resources`.
fn access(args: &Args, resources: &Resources) -> Result<Access, String> {
    let texts = args.values("scope");
    let permission = args.require("permission")?;
    let scopes = (!texts.is_empty())
        .then(|| restricted(texts, resources))
        .transpose()?;
    Access::from_parts(permission, scopes).map_err(|error| match error {
        InvalidScope::MissingScopes | InvalidScope::Empty => {
            "--permission restricted needs at least one --scope, such as --scope forms:read"
                .to_owned()
        }
        // A preset already reaches every resource: a scope beside it would be ignored.
        InvalidScope::ScopesWithPreset(preset) => {
            format!("--scope is for --permission restricted, not {preset}")
        }
        _ => format!("--permission {permission:?}: use full_access, read_only or restricted"),
    })
}

/// Each of `texts` parsed over `resources`; an error names the `--scope` it is about.
fn restricted(texts: &[String], resources: &Resources) -> Result<Scopes, String> {
    texts
        .iter()
        .map(|text| {
            resources.scope(text).map_err(|error| {
                let declared: Vec<_> = resources.iter().map(|resource| resource.name()).collect();
                format!(
                    "--scope {text}: {error} (resources: {})",
                    declared.join(", ")
                )
            })
        })
        .collect()
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

/// One line per key: display form, permission (with a restricted key's scopes), name, state,
/// rate limit and last use.
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
    // Padded as text: `Access`'s `Display` writes its words without padding.
    let access = info.access.to_string();
    format!(
        "{}  {access:<11}  {:?}  {state}  rate limit: {rate_limit}  last used: {last_used}",
        info.display, info.name
    )
}

fn unix(time: SystemTime) -> String {
    time.duration_since(SystemTime::UNIX_EPOCH)
        .map_or_else(|_| "before 1970".to_owned(), |d| d.as_secs().to_string())
}
