//! The crate's layering, checked from its source.
//!
//! `src/lib.rs` declares the top-level modules lowest first, and each module imports only from
//! modules declared before it, so the crate reads bottom-up and no change to a low module can
//! need a high one. Inside a module that is a directory, its files import each other without
//! cycles. Code imports items from their defining module, never through the root's re-exports,
//! and the root re-exports few names. These tests read `src/` (comments and strings dropped) and
//! say, for each breach, where it is and what to change.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;

/// The top-level modules, lowest first: each may import only from the modules before it.
/// `src/lib.rs` declares its modules in exactly this order (checked below), so the two move
/// together.
const ORDER: &[&str] = &[
    "clock",
    "key",
    "permission",
    "record",
    "context",
    "axum",
    "secret",
    "events",
    "rejection",
    "store",
    "metrics",
    "authenticator",
    "rate_limit",
    "policy",
    "middleware",
    "grpc",
    "lifecycle",
    "management",
    "dashboard",
    "secret_scanning",
    "testing",
];

/// At most this many names at the crate root: with the default features, and with all of them.
const MAX_ROOT_NAMES_DEFAULT: usize = 20;
const MAX_ROOT_NAMES_ALL: usize = 30;

#[test]
fn lib_rs_declares_the_modules_in_the_documented_order() {
    let declared = declared_modules(&tokenize(&read("src/lib.rs")));
    assert_eq!(
        declared, ORDER,
        "src/lib.rs must declare its modules in the order of ORDER in tests/it/architecture.rs \
         (lowest first); a new or moved module changes both"
    );
}

#[test]
fn no_module_imports_a_module_above_it() {
    let source = Source::load();
    let mut violations = Vec::new();
    for (file, import) in source.imports() {
        let (from, to) = (top_module(file), &import.path[0]);
        let (Some(from_rank), Some(to_rank)) = (rank(from), rank(to)) else {
            continue;
        };
        if to_rank > from_rank {
            violations.push(format!(
                "src/{file}:{} imports crate::{to}, which is above {from} in src/lib.rs's order \
                 ({from} may import only: {})",
                import.line,
                ORDER[..from_rank].join(", "),
            ));
        }
    }
    let hint = match layered_order(&source.module_graph()) {
        Ok(order) => format!("An order with none of these: {}", order.join(", ")),
        Err(cycle) => format!(
            "No order fits until this cycle is broken: {}",
            cycle.join(" -> ")
        ),
    };
    violations.dedup(); // one line per import, not per name a grouped `use` brings in
    assert!(violations.is_empty(), "{}\n{hint}", violations.join("\n"));
}

#[test]
fn code_imports_items_from_their_module_not_from_the_crate_root() {
    let source = Source::load();
    // `#[macro_export]` macros live at the root and have no other path.
    let macros = exported_macros(&source);
    let root_uses = &source.uses["lib.rs"];
    let mut violations = Vec::new();
    for (file, import) in source.imports() {
        let name = &import.path[0];
        if rank(name).is_some() || macros.contains(name) {
            continue;
        }
        let home = root_uses
            .get(name)
            .map_or("its defining module".to_owned(), |path| {
                format!("crate::{}", path.join("::"))
            });
        violations.push(format!(
            "src/{file}:{} imports crate::{name} from the crate root: import it from {home}",
            import.line
        ));
    }
    violations.dedup();
    assert!(violations.is_empty(), "{}", violations.join("\n"));
}

#[test]
fn top_level_modules_import_each_other_without_cycles() {
    let cycles = cycles(&Source::load().module_graph());
    assert!(
        cycles.is_empty(),
        "import cycles between top-level modules:\n{}",
        cycles.join("\n")
    );
}

#[test]
fn files_of_a_module_import_each_other_without_cycles() {
    let source = Source::load();
    // A file depends on the file defining what it uses; a `pub use` re-export is the module's
    // facade, not a use, so `mod.rs` re-exporting its children is no edge.
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (file, import) in source.imports().filter(|(_, import)| !import.reexport) {
        let target = source.defining_file(&import.path, 0);
        if target != file && top_module(&target) == top_module(file) {
            graph.entry(file.to_owned()).or_default().insert(target);
        }
    }
    let cycles = cycles(&graph);
    assert!(
        cycles.is_empty(),
        "import cycles between the files of a module:\n{}",
        cycles.join("\n")
    );
}

#[test]
fn the_root_exports_at_most_20_names_with_default_features() {
    let (default, _) = root_name_counts();
    assert!(
        default <= MAX_ROOT_NAMES_DEFAULT,
        "the crate root exports {default} names with the default features, over \
         {MAX_ROOT_NAMES_DEFAULT}: leave some in their modules (src/lib.rs's `pub use`s)"
    );
}

#[test]
fn the_root_exports_at_most_30_names_with_all_features() {
    let (_, all) = root_name_counts();
    assert!(
        all <= MAX_ROOT_NAMES_ALL,
        "the crate root exports {all} names with all features (with `#[macro_export]` macros), \
         over {MAX_ROOT_NAMES_ALL}: leave some in their modules (src/lib.rs's `pub use`s)"
    );
}

#[test]
fn the_import_parser_reads_use_trees_and_inline_paths_but_not_comments_or_strings() {
    let code = r##"
        //! [`Higher`](crate::middleware::Higher) is only a doc link.
        use crate::{key::KeyId, store::{self, cache::{CachedStore as Cache}}};
        /* crate::policy in a block comment */
        fn f<'a>(x: &'a str) -> char {
            let _ = "crate::events in a string";
            let _ = crate::clock::now();
            let _ = crate::Rejection::new(r#"crate::policy"#);
            '\''
        }
        #[cfg(test)]
        mod tests {
            use super::*;
        }
    "##;
    let imports = parse_imports(
        &["store".to_owned(), "cache".to_owned()],
        &tokenize(code),
        |_| false,
    );
    let found: Vec<(usize, String, &str)> = imports
        .iter()
        .map(|i| (i.line, i.path.join("::"), i.name.as_str()))
        .collect();
    assert_eq!(
        found,
        [
            (3, "key::KeyId".to_owned(), "KeyId"),
            (3, "store".to_owned(), "store"),
            (3, "store::cache::CachedStore".to_owned(), "Cache"),
            (7, "clock::now".to_owned(), "now"),
            (8, "Rejection::new".to_owned(), "new"),
            (13, "store::cache::*".to_owned(), "*"),
        ]
    );
}

// ---- The source tree ----

/// Every file under `src/`, by the module path it declares, with what it imports.
struct Source {
    /// Module path (`["store", "sql"]`) to file (`store/sql/mod.rs`); the root is `[]`, `lib.rs`.
    files: BTreeMap<Vec<String>, String>,
    /// File to the crate paths it names, from the root.
    imports: BTreeMap<String, Vec<Import>>,
    /// File to the names its top-level `use`s bring in, with the path each stands for.
    uses: BTreeMap<String, BTreeMap<String, Vec<String>>>,
}

impl Source {
    fn load() -> Self {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut files = BTreeMap::new();
        for file in rust_files(&root, &root) {
            let mut module: Vec<String> = file
                .trim_end_matches(".rs")
                .split('/')
                .map(str::to_owned)
                .collect();
            if matches!(module.last().map(String::as_str), Some("mod" | "lib")) {
                module.pop();
            }
            files.insert(module, file);
        }
        let mut imports = BTreeMap::new();
        for (module, file) in &files {
            let tokens = tokenize(&read(&format!("src/{file}")));
            imports.insert(
                file.clone(),
                parse_imports(module, &tokens, |m| files.contains_key(m)),
            );
        }
        let uses = imports
            .iter()
            .map(|(file, imports)| {
                let named = imports.iter().filter(|i| i.top_level_use && i.name != "*");
                (
                    file.clone(),
                    named.map(|i| (i.name.clone(), i.path.clone())).collect(),
                )
            })
            .collect();
        Source {
            files,
            imports,
            uses,
        }
    }

    /// Each import of each module file (the root's own `pub use`s are not imports).
    fn imports(&self) -> impl Iterator<Item = (&str, &Import)> {
        self.imports
            .iter()
            .filter(|(file, _)| *file != "lib.rs")
            .flat_map(|(file, imports)| imports.iter().map(move |i| (file.as_str(), i)))
    }

    /// Which top-level module imports which (itself excluded).
    fn module_graph(&self) -> BTreeMap<String, BTreeSet<String>> {
        let mut graph: BTreeMap<String, BTreeSet<String>> = ORDER
            .iter()
            .map(|m| (m.to_string(), BTreeSet::new()))
            .collect();
        for (file, import) in self.imports() {
            let (from, to) = (top_module(file), &import.path[0]);
            if from != to && rank(to).is_some() {
                graph.entry(from.to_owned()).or_default().insert(to.clone());
            }
        }
        graph
    }

    /// The file that defines what `path` names: the deepest module file along it, through the
    /// `use`s that brought a name in (`store::KeyStore`, re-exported by `store/mod.rs` from
    /// `key_store`, is defined in `store/key_store.rs`).
    fn defining_file(&self, path: &[String], hops: usize) -> String {
        let mut module: Vec<String> = Vec::new();
        for (at, segment) in path.iter().enumerate() {
            let child = [&module[..], std::slice::from_ref(segment)].concat();
            if self.files.contains_key(&child) {
                module = child;
                continue;
            }
            let file = &self.files[&module];
            // A re-export naming itself would loop; a few hops cover any real chain.
            if let Some(source) = self.uses[file].get(segment).filter(|_| hops < 8) {
                return self.defining_file(&[&source[..], &path[at + 1..]].concat(), hops + 1);
            }
            return file.clone();
        }
        self.files[&module].clone()
    }
}

/// One path into the crate, from its root: `["store", "cache", "CachedStore"]`.
#[derive(Debug)]
struct Import {
    line: usize,
    path: Vec<String>,
    /// The name it brings into scope: its alias, its last segment, or `*`.
    name: String,
    /// In a `pub use` (or `pub(crate) use`): re-exported, not used.
    reexport: bool,
    /// In a `use` at the file's top level, so children of the file see the name.
    top_level_use: bool,
}

/// The crate paths in one file of module `module`: `crate::…`, `$crate::…`, `self::…`,
/// `super::…` and paths through a child module (`cache::…` in `store/mod.rs`), in `use` trees
/// and in code alike. `is_module` tells which module paths have a file.
fn parse_imports(
    module: &[String],
    tokens: &[Token],
    is_module: impl Fn(&[String]) -> bool,
) -> Vec<Import> {
    let text = |i: usize| tokens.get(i).map_or("", |t| t.text.as_str());
    let mut imports = Vec::new();
    // Inline `mod name { … }` blocks around the current token, each with its brace depth:
    // `super` inside `mod tests` is the file's own module.
    let (mut inline, mut depth) = (Vec::<(String, usize)>::new(), 0);
    let mut in_use: Option<bool> = None; // Some(is_pub) between `use` and `;`
    let mut i = 0;
    while i < tokens.len() {
        match text(i) {
            "{" => depth += 1,
            "}" => {
                depth -= 1;
                if inline.last().is_some_and(|(_, inner)| *inner > depth) {
                    inline.pop();
                }
            }
            ";" => in_use = None,
            "use" => in_use = Some(is_pub(tokens, i)),
            "mod" if text(i + 2) == "{" => inline.push((text(i + 1).to_owned(), depth + 1)),
            _ => {}
        }
        let starts_path =
            is_ident(text(i)) && text(i + 1) == "::" && (i == 0 || text(i - 1) != "::");
        if !starts_path {
            i += 1;
            continue;
        }
        let here: Vec<String> = module
            .iter()
            .cloned()
            .chain(inline.iter().map(|(n, _)| n.clone()))
            .collect();
        let (paths, next) = parse_tree(tokens, i);
        for used in paths {
            if let Some(path) =
                from_root(&here, &used.segments, &is_module).filter(|p| !p.is_empty())
            {
                imports.push(Import {
                    line: used.line,
                    path,
                    name: used.name,
                    reexport: in_use == Some(true),
                    top_level_use: in_use.is_some() && inline.is_empty() && depth == 0,
                });
            }
        }
        i = next;
    }
    imports
}

/// Whether the `use` at `tokens[at]` is `pub`, `pub(crate)`, `pub(super)`, ….
fn is_pub(tokens: &[Token], at: usize) -> bool {
    let mut before = at;
    if before > 0 && tokens[before - 1].text == ")" {
        while before > 0 && tokens[before - 1].text != "(" {
            before -= 1;
        }
        before = before.saturating_sub(1);
    }
    before > 0 && tokens[before - 1].text == "pub"
}

/// `path` as seen from module `here`, rewritten from the crate root; `None` for paths outside the
/// crate (`std::…`, `axum::…`, `Self::…`).
fn from_root(
    here: &[String],
    path: &[String],
    is_module: impl Fn(&[String]) -> bool,
) -> Option<Vec<String>> {
    let (base, rest) = match path[0].as_str() {
        "crate" => (&here[..0], &path[1..]),
        "self" => (here, &path[1..]),
        "super" => {
            let ups = path.iter().take_while(|s| *s == "super").count();
            (here.get(..here.len().checked_sub(ups)?)?, &path[ups..])
        }
        child if is_module(&[here, &[child.to_owned()]].concat()) => (here, path),
        _ => return None,
    };
    Some([base, rest].concat())
}

/// One path named by a use tree or written in code.
struct UsedPath {
    segments: Vec<String>,
    name: String,
    line: usize,
}

impl UsedPath {
    /// This path as an item of a `{…}` group after `prefix`: `{self}` names the prefix itself.
    fn under(mut self, prefix: &[String]) -> Self {
        if self.segments[0] == "self" && !prefix.is_empty() {
            self.segments.remove(0);
            if self.name == "self" {
                self.name = prefix[prefix.len() - 1].clone();
            }
        }
        self.segments = [prefix, &self.segments].concat();
        self
    }
}

/// The paths a use tree (or inline path) starting at `tokens[at]` names, and the index after
/// it: `a::{b, c::{self, d as e}, f::*}` names `a::b`, `a::c`, `a::c::d` (as `e`) and `a::f::*`.
/// An inline path (`crate::clock::now()`) is a tree without braces.
fn parse_tree(tokens: &[Token], mut at: usize) -> (Vec<UsedPath>, usize) {
    let text = |i: usize| tokens.get(i).map_or("", |t| t.text.as_str());
    let mut prefix: Vec<String> = Vec::new();
    loop {
        let segment = text(at);
        match segment {
            "{" => return parse_group(tokens, at, &prefix),
            "*" => prefix.push(segment.to_owned()),
            _ if is_ident(segment) => prefix.push(segment.to_owned()),
            _ => return (Vec::new(), at + 1),
        }
        let next = text(at + 2);
        let continues = matches!(next, "{" | "*") || is_ident(next);
        if segment != "*" && text(at + 1) == "::" && continues {
            at += 2;
            continue;
        }
        let (name, end) = match text(at + 1) {
            "as" => (next, at + 3),
            _ => (segment, at + 1),
        };
        let (name, line) = (name.to_owned(), tokens[at].line);
        return (
            vec![UsedPath {
                segments: prefix,
                name,
                line,
            }],
            end,
        );
    }
}

/// The paths of a use tree's `{…}` group at `tokens[open]`, each after `prefix`, and the index
/// after the group.
fn parse_group(tokens: &[Token], open: usize, prefix: &[String]) -> (Vec<UsedPath>, usize) {
    let (mut paths, mut at) = (Vec::new(), open + 1);
    while at < tokens.len() && tokens[at].text != "}" {
        let (items, next) = parse_tree(tokens, at);
        paths.extend(items.into_iter().map(|item| item.under(prefix)));
        at = next + usize::from(tokens.get(next).is_some_and(|t| t.text == ","));
    }
    (paths, at + 1)
}

/// The modules `src/lib.rs` declares (`mod x;`, `pub mod x;`), in order.
fn declared_modules(tokens: &[Token]) -> Vec<String> {
    tokens
        .windows(3)
        .filter(|w| w[0].text == "mod" && is_ident(&w[1].text) && w[2].text == ";")
        .map(|w| w[1].text.clone())
        .collect()
}

// ---- Root names ----

/// How many names the crate root exports: with the default features, and with all of them
/// (`#[macro_export]` macros included).
fn root_name_counts() -> (usize, usize) {
    let features = Features::read();
    let exports = root_exports(&tokenize(&read("src/lib.rs")));
    let count = |enabled: &BTreeSet<String>| {
        exports
            .iter()
            .filter(|(cfg, _)| cfg.as_ref().is_none_or(|c| cfg_holds(c, enabled)))
            .map(|(_, n)| n)
            .sum::<usize>()
    };
    let macros = exported_macros(&Source::load()).len();
    let (default, all) = (count(&features.default), count(&features.all) + macros);
    eprintln!("crate root names: {default} with the default features, {all} with all features");
    (default, all)
}

/// Each root `pub use` with its `#[cfg(…)]` predicate (if any) and the number of names it exports.
fn root_exports(tokens: &[Token]) -> Vec<(Option<Vec<Token>>, usize)> {
    let mut exports = Vec::new();
    let (mut cfg, mut depth, mut i) = (None, 0, 0);
    while i < tokens.len() {
        match tokens[i].text.as_str() {
            "#" if depth == 0 && tokens.get(i + 1).is_some_and(|t| t.text == "[") => {
                let end = closing(tokens, i + 1);
                if tokens[i + 2].text == "cfg" {
                    cfg = Some(tokens[i + 3..end].to_vec());
                }
                i = end + 1;
                continue;
            }
            "pub" if depth == 0 && tokens.get(i + 1).is_some_and(|t| t.text == "use") => {
                let (paths, next) = parse_tree(tokens, i + 2);
                exports.push((cfg.take(), paths.len()));
                i = next;
                continue;
            }
            "{" | "(" | "[" => depth += 1,
            "}" | ")" | "]" => depth -= 1,
            _ => {}
        }
        // An item ends at depth 0: its attributes are spent.
        if depth == 0 && matches!(tokens[i].text.as_str(), ";" | "}") {
            cfg = None;
        }
        i += 1;
    }
    exports
}

/// Whether a `cfg` predicate (`(any(feature = "a", feature = "b"))`, parentheses included)
/// holds with `enabled` features; any other cfg (`test`, `docsrs`) is off for a user's build.
fn cfg_holds(tokens: &[Token], enabled: &BTreeSet<String>) -> bool {
    fn eval(tokens: &[Token], at: usize, enabled: &BTreeSet<String>) -> (bool, usize) {
        let text = |i: usize| tokens.get(i).map_or("", |t| t.text.as_str());
        match text(at) {
            "feature" => (enabled.contains(text(at + 2).trim_matches('"')), at + 3),
            op @ ("any" | "all" | "not") => {
                let (mut values, mut i) = (Vec::new(), at + 2);
                while text(i) != ")" && i < tokens.len() {
                    let (value, next) = eval(tokens, i, enabled);
                    values.push(value);
                    i = if text(next) == "," { next + 1 } else { next };
                }
                let value = match op {
                    "any" => values.contains(&true),
                    "all" => !values.contains(&false),
                    _ => !values.first().copied().unwrap_or(false),
                };
                (value, i + 1)
            }
            _ => (false, at + 1),
        }
    }
    eval(tokens, 1, enabled).0
}

/// The `#[macro_export]` macros under `src/`: they live at the crate root.
fn exported_macros(source: &Source) -> BTreeSet<String> {
    let mut macros = BTreeSet::new();
    for file in source.files.values() {
        let tokens = tokenize(&read(&format!("src/{file}")));
        for at in (0..tokens.len()).filter(|at| tokens[*at].text == "macro_export") {
            // `#[macro_export] macro_rules! name`, doc comments and other attributes between.
            let rules = tokens[at..]
                .iter()
                .position(|t| t.text == "macro_rules")
                .map(|p| at + p);
            if let Some(name) = rules.and_then(|r| tokens.get(r + 2)) {
                macros.insert(name.text.clone());
            }
        }
    }
    macros
}

/// The crate's features from Cargo.toml: those `default` turns on, and all of them.
struct Features {
    default: BTreeSet<String>,
    all: BTreeSet<String>,
}

impl Features {
    fn read() -> Self {
        let manifest = read("Cargo.toml");
        let section = manifest
            .split("\n[features]\n")
            .nth(1)
            .expect("Cargo.toml has [features]");
        let mut implies: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for line in section.lines().take_while(|l| !l.starts_with('[')) {
            let Some((name, list)) = line.split_once('=').filter(|_| !line.starts_with('#')) else {
                continue;
            };
            // `"dep:x"` and `"x/feature"` are dependencies' business, not features of this crate.
            let features = list
                .split('"')
                .skip(1)
                .step_by(2)
                .filter(|f| !f.contains([':', '/']));
            implies.insert(
                name.trim().to_owned(),
                features.map(str::to_owned).collect(),
            );
        }
        let mut default = BTreeSet::new();
        let mut pending = implies["default"].clone();
        while let Some(feature) = pending.pop() {
            if default.insert(feature.clone()) {
                pending.extend(implies.get(&feature).cloned().unwrap_or_default());
            }
        }
        let all = implies.into_keys().filter(|f| f != "default").collect();
        Features { default, all }
    }
}

// ---- Graphs ----

/// Every cycle a depth-first walk of `graph` meets, as `a -> b -> a`.
fn cycles(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<String> {
    fn walk<'g>(
        node: &'g str,
        graph: &'g BTreeMap<String, BTreeSet<String>>,
        stack: &mut Vec<&'g str>,
        done: &mut BTreeSet<&'g str>,
        found: &mut Vec<String>,
    ) {
        if let Some(start) = stack.iter().position(|n| *n == node) {
            let mut cycle = stack[start..].to_vec();
            cycle.push(node);
            found.push(cycle.join(" -> "));
            return;
        }
        if !done.insert(node) {
            return;
        }
        stack.push(node);
        for next in graph.get(node).into_iter().flatten() {
            walk(next, graph, stack, done, found);
        }
        stack.pop();
    }
    let (mut done, mut found) = (BTreeSet::new(), Vec::new());
    for node in graph.keys() {
        walk(node, graph, &mut Vec::new(), &mut done, &mut found);
    }
    found
}

/// A lowest-first order in which every module imports only from modules before it, keeping
/// ORDER's order where the imports allow; or a cycle that makes one impossible.
fn layered_order(graph: &BTreeMap<String, BTreeSet<String>>) -> Result<Vec<String>, Vec<String>> {
    if let Some(cycle) = cycles(graph).first() {
        return Err(cycle.split(" -> ").map(str::to_owned).collect());
    }
    let mut order: Vec<String> = Vec::new();
    while order.len() < ORDER.len() {
        let placed = |m: &String| order.contains(m);
        let next = ORDER
            .iter()
            .map(|m| m.to_string())
            .find(|m| !placed(m) && graph.get(m).into_iter().flatten().all(&placed));
        order.push(next.expect("an acyclic graph always has a next module"));
    }
    Ok(order)
}

// ---- Reading source ----

/// The top-level module a file under `src/` belongs to: `store` for `store/sql/mod.rs`.
fn top_module(file: &str) -> &str {
    file.split('/')
        .next()
        .unwrap_or(file)
        .trim_end_matches(".rs")
}

/// The position of a top-level module in ORDER, if it is one.
fn rank(module: &str) -> Option<usize> {
    ORDER.iter().position(|m| *m == module)
}

fn read(relative: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(relative);
    fs::read_to_string(&path).unwrap_or_else(|error| panic!("reading {}: {error}", path.display()))
}

/// The `.rs` files under `dir`, as paths relative to `root` with `/` separators.
fn rust_files(root: &Path, dir: &Path) -> Vec<String> {
    let mut files = Vec::new();
    for entry in fs::read_dir(dir).expect("src/ is readable") {
        let path = entry.expect("src/ is readable").path();
        if path.is_dir() {
            files.extend(rust_files(root, &path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            let relative = path.strip_prefix(root).expect("under src/");
            files.push(relative.to_string_lossy().replace('\\', "/"));
        }
    }
    files
}

fn is_ident(text: &str) -> bool {
    text.starts_with(|c: char| c.is_alphabetic() || c == '_')
}

/// The index of the bracket closing the one at `tokens[open]`.
fn closing(tokens: &[Token], open: usize) -> usize {
    let mut depth = 0;
    for (at, token) in tokens.iter().enumerate().skip(open) {
        match token.text.as_str() {
            "[" | "(" | "{" => depth += 1,
            "]" | ")" | "}" => depth -= 1,
            _ => {}
        }
        if depth == 0 {
            return at;
        }
    }
    tokens.len() - 1
}

#[derive(Debug, Clone)]
struct Token {
    text: String,
    line: usize,
}

/// Rust source as identifiers, `::`, single punctuation and whole string literals (kept for
/// `feature = "…"`), each with its line. Comments (doc comments too), char literals and
/// lifetimes are dropped: a doc link or a message naming a module is not an import.
fn tokenize(source: &str) -> Vec<Token> {
    let chars: Vec<char> = source.chars().collect();
    let at = |i: usize| chars.get(i).copied().unwrap_or('\0');
    let (mut tokens, mut i, mut line) = (Vec::new(), 0, 1);
    let mut push = |text: String, line: usize| tokens.push(Token { text, line });
    while i < chars.len() {
        let start = i;
        if at(i) == '/' && at(i + 1) == '/' {
            while i < chars.len() && at(i) != '\n' {
                i += 1;
            }
        } else if at(i) == '/' && at(i + 1) == '*' {
            // Block comments nest.
            let mut depth = 0;
            loop {
                match (at(i), at(i + 1)) {
                    ('/', '*') => (depth, i) = (depth + 1, i + 2),
                    ('*', '/') => (depth, i) = (depth - 1, i + 2),
                    ('\0', _) => break,
                    _ => i += 1,
                }
                if depth == 0 {
                    break;
                }
            }
        } else if let Some(end) = string_end(&chars, i) {
            i = end;
            push(chars[start..end].iter().collect(), line);
        } else if at(i) == '\'' {
            // `'x'` and `'\n'` are chars; `'a` with no closing quote is a lifetime or label.
            i += match (at(i + 1), at(i + 2)) {
                ('\\', _) => 4 + chars[i + 3..].iter().position(|c| *c == '\'').unwrap_or(0),
                (_, '\'') => 3,
                _ => 1,
            };
        } else if at(i).is_alphanumeric() || at(i) == '_' {
            while at(i).is_alphanumeric() || at(i) == '_' {
                i += 1;
            }
            push(chars[start..i].iter().collect(), line);
        } else if at(i) == ':' && at(i + 1) == ':' {
            i += 2;
            push("::".to_owned(), line);
        } else {
            i += 1;
            if !at(start).is_whitespace() {
                push(at(start).to_string(), line);
            }
        }
        line += chars[start..i].iter().filter(|c| **c == '\n').count();
    }
    tokens
}

/// Where a string literal starting at `chars[start]` ends (`"…"`, `b"…"`, `c"…"`, `r#"…"#`, …),
/// or `None` if none starts there.
fn string_end(chars: &[char], start: usize) -> Option<usize> {
    let at = |i: usize| chars.get(i).copied().unwrap_or('\0');
    let mut i = start + usize::from(matches!(at(start), 'b' | 'c'));
    let raw = at(i) == 'r';
    i += usize::from(raw);
    let hashes = (i..).take_while(|k| raw && at(*k) == '#').count();
    i += hashes;
    if at(i) != '"' {
        return None;
    }
    i += 1;
    loop {
        match at(i) {
            '\0' => return Some(chars.len()),
            '\\' if !raw => i += 2,
            '"' if (1..=hashes).all(|k| at(i + k) == '#') => return Some(i + 1 + hashes),
            _ => i += 1,
        }
    }
}
