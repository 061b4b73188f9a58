//! The scanner rules shipped in `docs/secret-scanning/` (a GitHub custom pattern, a gitleaks rule,
//! a detect-secrets plugin): each finds generated keys in surrounding text, and together with the
//! checksum refuses every near miss. The expressions are read out of the files themselves, so a
//! rule cannot drift from what the tests check.

use std::{
    fs,
    io::Write,
    path::Path,
    process::{Command, Stdio},
};

use formbox_auth::KeyFormat;
use regex::{Regex, RegexBuilder};

const KEYS: usize = 1_000;
const NEAR_MISSES: usize = 10_000;
const DOCS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/secret-scanning");

/// Ways a key appears in files: assignments, headers, JSON, shell, URLs.
const CONTEXTS: &[(&str, &str)] = &[
    ("", ""),
    ("API_KEY=\"", "\""),
    ("FORMBOX_API_KEY=", ""),
    ("export FORMBOX_KEY='", "';"),
    ("api-key: ", "\r\n"),
    ("{\"api_key\":\"", "\"}"),
    ("curl -H \"api-key: ", "\" https://api.example.com/v1/forms"),
    ("https://example.com/hook?key=", "&v=1"),
    ("    key: ", "  # production\n"),
    ("(", ")"),
    ("<code>", "</code>"),
    ("clé : ", " ."),
];

/// One scanner rule, compiled in the dialect of the tool that runs it.
struct Rule {
    name: &'static str,
    regex: Regex,
}

impl Rule {
    /// The keys the rule reports in `text`: the capture group when the rule has one (GitHub's
    /// before/secret/after patterns), else the whole match.
    fn find<'t>(&self, text: &'t str) -> Vec<&'t str> {
        self.regex
            .captures_iter(text)
            .map(|caps| caps.get(1).unwrap_or_else(|| caps.get(0).unwrap()).as_str())
            .collect()
    }
}

fn read(file: &str) -> String {
    fs::read_to_string(Path::new(DOCS).join(file)).unwrap_or_else(|e| panic!("{file}: {e}"))
}

/// The first fenced code block after the line `label` in a markdown document.
fn block_after(doc: &str, label: &str) -> String {
    let start = doc
        .lines()
        .position(|line| line.trim() == label)
        .unwrap_or_else(|| panic!("no line {label:?}"));
    let mut lines = doc
        .lines()
        .skip(start + 1)
        .skip_while(|l| !l.starts_with("```"));
    lines
        .next()
        .unwrap_or_else(|| panic!("no code block after {label:?}"));
    lines
        .take_while(|l| !l.starts_with("```"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// GitHub matches `before`, then the secret, then `after` (Hyperscan; its classes are ASCII).
fn github_rule() -> Rule {
    let doc = read("github-custom-pattern.md");
    let format = block_after(&doc, "Secret format:");
    let before = block_after(&doc, "Before secret:");
    let after = block_after(&doc, "After secret:");
    let pattern = format!("(?:{before})({format})(?:{after})");
    Rule {
        name: "GitHub custom pattern",
        regex: Regex::new(&pattern).unwrap_or_else(|e| panic!("{pattern}: {e}")),
    }
}

/// gitleaks runs Go's RE2, whose `\b` is ASCII.
fn gitleaks_rule() -> Rule {
    let toml = read("gitleaks.toml");
    let line = toml
        .lines()
        .find_map(|l| l.strip_prefix("regex = '''"))
        .expect("a line regex = '''...'''");
    let pattern = line
        .strip_suffix("'''")
        .expect("the regex closes on its line");
    assert!(
        toml.lines().any(|l| l == r#"keywords = ["fbsk_"]"#),
        "gitleaks only runs a rule on text holding one of its keywords"
    );
    Rule {
        name: "gitleaks",
        regex: ascii(pattern),
    }
}

/// The plugin compiles its expression with `re.ASCII`, so its `\b` is ASCII as in Go.
fn detect_secrets_rule() -> Rule {
    let source = read("detect_secrets_fbsk.py");
    let pattern = source
        .lines()
        .find_map(|l| l.trim().strip_prefix("re.compile(r\""))
        .and_then(|rest| rest.split_once('"'))
        .map(|(pattern, _)| pattern)
        .expect("a denylist entry re.compile(r\"...\")");
    Rule {
        name: "detect-secrets",
        regex: ascii(pattern),
    }
}

fn ascii(pattern: &str) -> Regex {
    RegexBuilder::new(pattern)
        .unicode(false)
        .build()
        .unwrap_or_else(|e| panic!("{pattern}: {e}"))
}

fn rules() -> Vec<Rule> {
    vec![github_rule(), gitleaks_rule(), detect_secrets_rule()]
}

/// A small deterministic generator for picking mutations; the keys themselves come from the
/// operating system's CSPRNG through `KeyFormat::generate`.
struct Picker(u64);

impl Picker {
    fn below(&mut self, n: usize) -> usize {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 33) as usize % n
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }

    fn base62(&mut self) -> char {
        const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
        char::from(self.pick(ALPHABET))
    }

    fn wrap(&mut self, key: &str) -> String {
        let (before, after) = self.pick(CONTEXTS);
        format!("{before}{key}{after}")
    }
}

fn new_key() -> String {
    KeyFormat::default()
        .generate()
        .unwrap()
        .expose_secret()
        .to_owned()
}

/// Where the parts of a default-format key start: `fbsk_` (5), id (12), `_`, tail (38).
const ID: std::ops::Range<usize> = 5..17;
const TAIL: std::ops::Range<usize> = 18..56;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Miss {
    IdLonger,
    IdShorter,
    TailLonger,
    TailShorter,
    Dash,
    Plus,
    NonAsciiLetter,
    PrefixFbsx,
    PrefixUppercase,
    WordBefore,
    WordAfter,
    /// Well-formed, so the rules match it; only the checksum tells it from a key.
    WrongChecksum,
    /// A changed secret under the old checksum: the same.
    WrongSecret,
}

const MISSES: &[Miss] = &[
    Miss::IdLonger,
    Miss::IdShorter,
    Miss::TailLonger,
    Miss::TailShorter,
    Miss::Dash,
    Miss::Plus,
    Miss::NonAsciiLetter,
    Miss::PrefixFbsx,
    Miss::PrefixUppercase,
    Miss::WordBefore,
    Miss::WordAfter,
    Miss::WrongChecksum,
    Miss::WrongSecret,
];

impl Miss {
    fn matches_the_rules(self) -> bool {
        matches!(self, Miss::WrongChecksum | Miss::WrongSecret)
    }

    /// `key` changed this way, as a string that is not a key.
    fn apply(self, key: &str, picker: &mut Picker) -> String {
        let mut chars: Vec<char> = key.chars().collect();
        let inside = |picker: &mut Picker| {
            let part = if picker.below(2) == 0 { ID } else { TAIL };
            part.start + picker.below(part.len())
        };
        match self {
            Miss::IdLonger => chars.insert(ID.start + picker.below(ID.len() + 1), picker.base62()),
            Miss::IdShorter => {
                chars.remove(ID.start + picker.below(ID.len()));
            }
            Miss::TailLonger => {
                chars.insert(TAIL.start + picker.below(TAIL.len() + 1), picker.base62());
            }
            Miss::TailShorter => {
                chars.remove(TAIL.start + picker.below(TAIL.len()));
            }
            Miss::Dash => chars[inside(picker)] = '-',
            Miss::Plus => chars[inside(picker)] = '+',
            Miss::NonAsciiLetter => chars[inside(picker)] = picker.pick(&['é', 'ß', 'ж', 'Ω', 'ñ']),
            Miss::PrefixFbsx => chars[3] = 'x',
            Miss::PrefixUppercase => chars[..4].iter_mut().for_each(char::make_ascii_uppercase),
            Miss::WordBefore => {
                let word = picker.pick(&["x", "0", "_", "my_", "Z9"]);
                return format!("{word}{key}");
            }
            Miss::WordAfter => {
                let word = picker.pick(&["x", "0", "_", "_old", "Z9"]);
                return format!("{key}{word}");
            }
            Miss::WrongChecksum => {
                let at = TAIL.end - 1 - picker.below(6);
                chars[at] = other_base62(chars[at], picker);
            }
            Miss::WrongSecret => {
                let at = TAIL.start + picker.below(TAIL.len() - 6);
                chars[at] = other_base62(chars[at], picker);
            }
        }
        chars.into_iter().collect()
    }
}

fn other_base62(old: char, picker: &mut Picker) -> char {
    loop {
        let new = picker.base62();
        if new != old {
            return new;
        }
    }
}

/// The texts every rule is run on.
struct Cases {
    /// 1,000 keys, each with the text it is in.
    keys: Vec<(String, String)>,
    /// 10,000 near misses in context, each with its kind.
    misses: Vec<(Miss, String)>,
}

fn cases() -> Cases {
    let mut picker = Picker(0x5EC2_E75C_A121_0001);
    let keys = (0..KEYS)
        .map(|_| {
            let key = new_key();
            let text = picker.wrap(&key);
            (key, text)
        })
        .collect();
    let misses = (0..NEAR_MISSES)
        .map(|i| {
            let miss = MISSES[i % MISSES.len()];
            let text = miss.apply(&new_key(), &mut picker);
            (miss, picker.wrap(&text))
        })
        .collect();
    Cases { keys, misses }
}

#[test]
fn every_rule_finds_generated_keys_in_surrounding_text() {
    let Cases { keys, .. } = cases();
    for rule in rules() {
        for (key, text) in &keys {
            assert_eq!(rule.find(text), [key.as_str()], "{}: {text:?}", rule.name);
        }
    }
}

#[test]
fn every_rule_with_the_checksum_refuses_near_misses() {
    let format = KeyFormat::default();
    let Cases { misses, .. } = cases();
    for rule in rules() {
        for (miss, text) in &misses {
            let found = rule.find(text);
            if miss.matches_the_rules() {
                // By design: a regular expression cannot compute a CRC32.
                assert_eq!(found.len(), 1, "{}: {miss:?} {text:?}", rule.name);
            } else {
                assert_eq!(found, [] as [&str; 0], "{}: {miss:?} {text:?}", rule.name);
            }
            for candidate in found {
                assert!(
                    format.parse(candidate).is_err(),
                    "{}: {miss:?} {text:?} parses",
                    rule.name
                );
            }
        }
    }
}

#[test]
fn github_test_strings_match_exactly_the_documented_key() {
    let doc = read("github-custom-pattern.md");
    let rule = github_rule();
    let lines = block_after(&doc, "### Test strings");
    let lines: Vec<&str> = lines.lines().collect();
    let (hits, misses) = lines.split_at(3);
    let key = rule.find(hits[0])[0];
    assert!(
        KeyFormat::default().parse(key).is_ok(),
        "{key} is a well-formed key"
    );
    for line in hits {
        assert_eq!(rule.find(line), [key], "{line}");
    }
    for line in misses {
        assert_eq!(rule.find(line), [] as [&str; 0], "{line}");
    }
}

#[test]
fn the_rules_agree_with_the_crate_expression() {
    // The README's expression is `KeyFormat::regex`; each file adapts it to its tool's dialect.
    let expression = KeyFormat::default().regex();
    assert!(read("gitleaks.toml").contains(&format!("'''{expression}'''")));
    assert!(read("detect_secrets_fbsk.py").contains(&format!("r\"{expression}\"")));
    assert!(read("github-custom-pattern.md").contains(&expression));
}

/// Python's `re` runs the detect-secrets plugin itself, checksum filter included, on the same
/// cases; the `detect_secrets` package is stubbed with its `RegexBasedDetector` scanning loop.
/// Skipped when there is no `python3` (or `$PYTHON`).
#[test]
fn detect_secrets_plugin_in_python_agrees() {
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
    let script = r#"
import json, sys, types
base = types.ModuleType("detect_secrets.plugins.base")
class RegexBasedDetector:
    def analyze_string(self, string):
        for regex in self.denylist:
            for match in regex.findall(string):
                yield match
base.RegexBasedDetector = RegexBasedDetector
sys.modules["detect_secrets"] = types.ModuleType("detect_secrets")
sys.modules["detect_secrets.plugins"] = types.ModuleType("detect_secrets.plugins")
sys.modules["detect_secrets.plugins.base"] = base
sys.path.insert(0, sys.argv[1])
from detect_secrets_fbsk import FormboxApiKeyDetector
plugin = FormboxApiKeyDetector()
sys.stdin.reconfigure(encoding="utf-8")
sys.stdout.reconfigure(encoding="utf-8")
for line in sys.stdin:
    text = json.loads(line)
    regex = [m for r in plugin.denylist for m in r.findall(text)]
    print(json.dumps({"regex": regex, "plugin": list(plugin.analyze_string(text))}))
"#;
    let child = Command::new(&python)
        .args(["-c", script, DOCS])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn();
    let Ok(mut child) = child else {
        eprintln!("skipped: no {python}");
        return;
    };
    let Cases { keys, misses } = cases();
    let texts: Vec<&str> = keys
        .iter()
        .map(|(_, text)| text.as_str())
        .chain(misses.iter().map(|(_, text)| text.as_str()))
        .collect();
    let input: String = texts
        .iter()
        .map(|text| serde_json::to_string(text).unwrap() + "\n")
        .collect();
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let output = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    assert!(output.status.success(), "{python} failed");
    let answers: Vec<serde_json::Value> = String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(answers.len(), texts.len());

    let rule = detect_secrets_rule();
    let format = KeyFormat::default();
    for (text, answer) in texts.iter().zip(&answers) {
        let rust: Vec<&str> = rule.find(text);
        assert_eq!(answer["regex"], serde_json::json!(rust), "{text:?}");
        let keys: Vec<&str> = rust
            .into_iter()
            .filter(|c| format.parse(c).is_ok())
            .collect();
        assert_eq!(answer["plugin"], serde_json::json!(keys), "{text:?}");
    }
    for ((key, _), answer) in keys.iter().zip(&answers) {
        assert_eq!(answer["plugin"], serde_json::json!([key]));
    }
    for answer in &answers[keys.len()..] {
        assert_eq!(answer["plugin"], serde_json::json!([]));
    }
}
