#!/usr/bin/env bash
# What formbox-auth adds to a new axum app, per feature set: the figures of the README's
# "Cargo features" table.
#
#   scripts/feature-cost.sh
#
# Each row is a fresh app in a temporary directory: axum 0.8, tokio with "full", this repository's
# Cargo.lock, the README's quick start as main.rs (a hello-world route for the row without
# formbox-auth), and formbox-auth by path with the row's dependency line. "crates" counts the
# unique name-and-version lines of `cargo tree -e normal`, the app itself included; "build" is one
# clean debug `cargo build` into the row's own target directory, after the downloads: wall-clock
# seconds, and the CPU seconds of cargo and the compilers; "load" is the one-minute load average
# as the build starts. Rows build one after the other. On a shared machine other builds add wall
# seconds to a row (the load shows which) and CPU seconds far less.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
root="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
on_exit rm -rf "$work"
export CARGO_TERM_COLOR=never

rows=(
    "axum + tokio, no formbox-auth|"
    "default-features = false, features = [\"axum\"]|default-features = false, features = [\"axum\"]"
    "default-features = false, features = [\"axum\", \"tokio\"]|default-features = false, features = [\"axum\", \"tokio\"]"
    "default features|"
    "+ serde|features = [\"serde\"]"
    "+ sqlite|features = [\"sqlite\"]"
    "+ postgres|features = [\"postgres\"]"
    "+ testing|features = [\"testing\"]"
    "+ management|features = [\"management\"]"
    "+ serde + sqlite (the former defaults)|features = [\"serde\", \"sqlite\"]"
)

quick_start="$(awk '/^## Quick start/ {q = 1} q && /^```rust/ {p = 1; next} p && /^```/ {exit} p' "$root/README.md")"
[[ -n "$quick_start" ]] || die "no quick start found in README.md"

printf '| %-56s | %6s | %5s | %5s | %4s | %s\n' "formbox-auth dependency" crates build cpu load "adds over the default features"
printf '|%s|%s|%s|%s|%s|%s\n' "$(printf -- '-%.0s' {1..58})" "--------" "-------" "-------" "------" "---"
for i in "${!rows[@]}"; do
    label="${rows[$i]%%|*}"
    spec="${rows[$i]#*|}"
    app="$work/app$i"
    mkdir -p "$app/src"
    {
        printf '[package]\nname = "app"\nversion = "0.1.0"\nedition = "2024"\npublish = false\n\n[workspace]\n\n'
        printf '[dependencies]\naxum = "0.8"\ntokio = { version = "1", features = ["full"] }\n'
        if [[ $i -gt 0 ]]; then
            printf 'formbox-auth = { path = "%s"%s }\n' "$root" "${spec:+, $spec}"
        fi
    } >"$app/Cargo.toml"
    if [[ $i -gt 0 ]]; then
        echo "$quick_start" >"$app/src/main.rs"
    else
        echo 'fn main() { let _app: axum::Router = axum::Router::new().route("/", axum::routing::get(|| async { "hi" })); }' >"$app/src/main.rs"
    fi
    cp "$root/Cargo.lock" "$app/Cargo.lock"
    (cd "$app" && cargo fetch -q)
    (cd "$app" && cargo tree -e normal --prefix none --format '{p}') | sed -e 's/ (\*)$//' -e 's/ (\/.*)$//' | sort -u >"$app/crates"
    [[ "$label" == "default features" ]] && cp "$app/crates" "$work/default-crates"
    load="$(cut -d' ' -f1 /proc/loadavg)"
    TIMEFORMAT='%R %U %S'
    { time (cd "$app" && CARGO_TARGET_DIR="$app/target" cargo build -q 2>"$app/log"); } 2>"$app/time" \
        || { cat "$app/log" >&2; exit 1; }
    read -r seconds cpu < <(awk '{ printf "%.0f %.0f\n", $1, $2 + $3 }' "$app/time")
    added=""
    if [[ -f "$work/default-crates" && "$label" != "default features" ]]; then
        added="$(comm -13 "$work/default-crates" "$app/crates" | awk '{print $1}' | head -8 | tr '\n' ' ')"
        [[ $(comm -13 "$work/default-crates" "$app/crates" | wc -l) -le 8 ]] || added+="…"
    fi
    printf '| %-56s | %6s | %4ss | %4ss | %4s | %s\n' "$label" "$(wc -l <"$app/crates")" "$seconds" "$cpu" "$load" "$added"
    rm -rf "$app/target"
done
