#!/usr/bin/env python3
"""The Settings › API Keys page (formbox_auth::dashboard) in Chromium, as a user goes through it,
on any host that mounts it: the example server, or a crate of its own with its own sign-in.

Run by scripts/browser.sh and scripts/dashboard-crate.sh, which start the host and pass:
  --base-url URL         the host, e.g. http://127.0.0.1:3201
  --page-url URL         where the host mounts the page, e.g. http://127.0.0.1:3201/settings/api-keys
  --session-cookie NAME  the cookie the host's sign-in sets, e.g. formbox_session
  --keyed-route PATH     a route behind the API-key layer where read-only keys may GET but not
                         POST, e.g. /v1/forms
  --restricted-scopes S  the scopes of the restricted key the flow creates on the page, comma
                         separated, e.g. forms:read,submissions:write (by default the first
                         declared resource at read and the second at write)
  --restricted-allows R  a request that key may make, `METHOD PATH` (e.g. 'GET /v1/forms'): it
                         answers 2xx; repeatable
  --restricted-refuses R a request it may not make, `METHOD PATH` (e.g. 'POST /v1/forms'): it
                         answers 403 insufficient_scope; repeatable
  --sign-in-once         the sign-in link works once (the example server's): check that it does
  --product NAME         the product name the host gave the page: in its title
  --back-link LABEL      the label of the host's link back to its app, in the top bar
  --chromium PATH        the browser to drive (Debian's /usr/bin/chromium)
  --screenshot PATH      where to save the page at desktop width, after the flow
  --axe-report PATH      where to write axe-core's violations by state, as JSON
and in the environment the sign-in URL (a secret when it holds a one-time token) and two keys of
the signed-in organization, one full access and one read only:
  FORMBOX_SIGN_IN, FORMBOX_FULL_KEY, FORMBOX_READ_ONLY_KEY

Each step is printed with its result; the first failure ends the run with status 1. The
restricted-key steps are skipped, saying so, when the page's data declares no resources (and the
Create dialog must then offer no Restricted choice). axe-core checks the page in each state the
flow reaches (signed out, the table, each dialog, a key shown once, the Restricted table, a
phone's width); any serious or critical violation fails the run, and in the Restricted table's
states any violation at all. A table of violations by impact is printed and written to
--axe-report.
"""

import argparse
import json
import os
import sys
import time
import traceback
import urllib.error
import urllib.request
from pathlib import Path

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect, sync_playwright

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
NAME = "CI read-only"
RESTRICTED_NAME = "CI restricted"
TIMEOUT_MS = 10_000
# The page's own English texts (formbox_auth::dashboard::PageText) the flow expects.
NAME_TAKEN_TEXT = "Another API key of this organization already has this name."
SIGNED_OUT_TITLE = "Sign in to manage API keys"
SCOPES_MISSING_TEXT = "Choose Read or Write for at least one resource."
# The options of each row of the Restricted table, in order, and the level each stands for.
LEVELS = [("None", None), ("Read", "read"), ("Write", "write")]
IMPACTS = ["minor", "moderate", "serious", "critical"]
FAILING_IMPACTS = {"serious", "critical"}
# WCAG 2's contrast for normal text (AA), for text whose contrast axe could not decide.
MIN_CONTRAST = 4.5
# The contrast of an element's text against the first opaque background at or above it, for
# elements outside any image or gradient (the page has none).
CONTRAST_JS = """element => {
  const rgba = (css) => {
    const parts = css.match(/[\\d.]+/g).map(Number);
    return { r: parts[0], g: parts[1], b: parts[2], a: parts.length > 3 ? parts[3] : 1 };
  };
  const luminance = ({ r, g, b }) => {
    const linear = (v) => (v /= 255) <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
    return 0.2126 * linear(r) + 0.7152 * linear(g) + 0.0722 * linear(b);
  };
  let node = element;
  let background = { r: 255, g: 255, b: 255, a: 1 };
  while (node) {
    const color = rgba(getComputedStyle(node).backgroundColor);
    if (color.a === 1) { background = color; break; }
    node = node.parentElement;
  }
  const text = rgba(getComputedStyle(element).color);
  // Text drawn with some transparency mixes with its background.
  const mixed = { r: text.r * text.a + background.r * (1 - text.a),
                  g: text.g * text.a + background.g * (1 - text.a),
                  b: text.b * text.a + background.b * (1 - text.a) };
  const [light, dark] = [luminance(mixed), luminance(background)].sort((x, y) => y - x);
  const hex = ({ r, g, b }) => "#" + [r, g, b].map((v) => Math.round(v).toString(16).padStart(2, "0")).join("");
  return { ratio: Math.round((light + 0.05) / (dark + 0.05) * 100) / 100,
           color: hex(mixed), background: hex(background) };
}"""
# An origin that is not the host's, for forged writes.
FOREIGN_ORIGIN = "https://attacker.example"


def http(method, url, headers=None, body=None):
    """One request with the standard library: (status, JSON body or None)."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method, headers=dict(headers or {}))
    if data is not None:
        request.add_header("content-type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, raw = error.code, error.read()
    try:
        return status, json.loads(raw) if raw else None
    except ValueError:
        return status, raw.decode(errors="replace")


def error_code(body):
    """The `error.code` of an error body, or None."""
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        return body["error"].get("code")
    return None


def display_of(key):
    """The display form the page shows for a key: `fbsk_<id>_…`."""
    prefix, key_id, _ = key.split("_", 2)
    return f"{prefix}_{key_id}_"


def request_of(spec):
    """`METHOD PATH` as (method, path)."""
    method, _, path = spec.partition(" ")
    if not method or not path.startswith("/"):
        raise argparse.ArgumentTypeError(f"{spec!r} is not `METHOD /path`")
    return method.upper(), path


def check(condition, message):
    if not condition:
        raise AssertionError(message)


class AxeRecord:
    """axe-core's violations in each state of the page, by impact."""

    def __init__(self):
        self.axe = Axe()
        self.states = []
        self.version = None

    def run(self, page, state, strict=False):
        """Runs axe on the whole document as it is now (an open modal dialog included). In a
        `strict` state a violation of any impact fails the run."""
        options = {"resultTypes": ["violations", "incomplete"]}
        response = self.axe.run(page, options=options).response
        self.version = response.get("testEngine", {}).get("version", self.version)
        violations = [
            {
                "id": violation["id"],
                "impact": violation["impact"],
                "help": violation["help"],
                "help_url": violation["helpUrl"],
                "nodes": [
                    {"target": node["target"], "html": node["html"][:300],
                     "summary": node.get("failureSummary", "")}
                    for node in violation["nodes"]
                ],
            }
            for violation in response["violations"]
        ]
        # What axe could not decide is for a person to review, but for one case it leaves open
        # in every open <dialog>: the contrast of text it finds "partially overlapping" the page
        # behind the backdrop. That is settled here against the text's own opaque background.
        review = []
        for item in response["incomplete"]:
            nodes = []
            for node in item["nodes"]:
                kept = {"target": node["target"], "summary": node.get("failureSummary", "")}
                if item["id"] == "color-contrast" and isinstance(node["target"][0], str):
                    contrast = page.locator(node["target"][0]).first.evaluate(CONTRAST_JS)
                    kept["settled"] = contrast
                    if contrast["ratio"] < MIN_CONTRAST:
                        violations.append({
                            "id": "color-contrast", "impact": "serious", "help": item["help"],
                            "help_url": item["helpUrl"],
                            "nodes": [{"target": node["target"], "html": node["html"][:300],
                                       "summary": f"contrast {contrast['ratio']}:1 of {contrast}"}],
                        })
                nodes.append(kept)
            settled = all("settled" in node for node in nodes)
            review.append({"id": item["id"], "impact": item["impact"], "help": item["help"],
                           "settled": settled, "nodes": nodes})
        counts = {impact: 0 for impact in IMPACTS}
        for violation in violations:
            counts[violation["impact"] or "minor"] += 1
        self.states.append({"state": state, "strict": strict, "counts": counts,
                            "violations": violations, "needs_review": review})

    def failing(self):
        """(state, violation) for each serious or critical violation, and for each violation of
        a strict state."""
        return [
            (state["state"], violation)
            for state in self.states
            for violation in state["violations"]
            if violation["impact"] in FAILING_IMPACTS or state["strict"]
        ]

    def table(self):
        width = max([len("state")] + [len(state["state"]) for state in self.states])
        header = "  ".join(f"{impact:>8}" for impact in IMPACTS)
        lines = [f"{'state':<{width}}  {header}  {'review':>6}  rules"]
        for state in self.states:
            counts = "  ".join(f"{state['counts'][impact]:>8}" for impact in IMPACTS)
            rules = ", ".join(f"{v['id']} ({v['impact']}, {len(v['nodes'])})" for v in state["violations"])
            review = sum(not item["settled"] for item in state["needs_review"])
            lines.append(f"{state['state']:<{width}}  {counts}  {review:>6}  {rules or '-'}")
        return "\n".join(lines)

    def write(self, path, page_url):
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        report = {"axe_core": self.version, "page_url": page_url, "impacts": IMPACTS,
                  "fails_on": sorted(FAILING_IMPACTS), "states": self.states}
        Path(path).write_text(json.dumps(report, indent=2) + "\n")


class Scenario:
    def __init__(self, args):
        self.base = args.base_url.rstrip("/")
        self.page_url = args.page_url.rstrip("/")
        self.api = f"{self.page_url}/api/api-keys"
        self.keyed_route = self.base + args.keyed_route
        self.restricted_scopes = args.restricted_scopes.split(",") if args.restricted_scopes else None
        self.restricted_allows = args.restricted_allows
        self.restricted_refuses = args.restricted_refuses
        self.cookie_name = args.session_cookie
        self.sign_in_once = args.sign_in_once
        self.product = args.product
        self.back_link = args.back_link
        self.sign_in = os.environ["FORMBOX_SIGN_IN"]
        self.full_key = os.environ["FORMBOX_FULL_KEY"]
        self.read_only_key = os.environ["FORMBOX_READ_ONLY_KEY"]
        self.screenshot = args.screenshot
        self.axe_report = args.axe_report
        self.axe = AxeRecord()
        self.page_errors = []
        self.foreign_requests = []
        self.created_key = None
        self.regenerated_key = None
        self.session_cookie = None
        # The level the restricted key got per resource, once the flow created it.
        self.restricted_levels = None
        self.restricted_key = None
        self.api_writes = 0

    # Locators and requests

    def on_console(self, message):
        # A refused script or style is a bug in the page, not only a console line.
        if message.type == "error" and "Content Security Policy" in message.text:
            self.page_errors.append(message.text)

    def on_request(self, request):
        if not request.url.startswith(self.base + "/"):
            self.foreign_requests.append(request.url)
        if request.method == "POST" and request.url == self.api:
            self.api_writes += 1

    def rows(self):
        return self.page.get_by_role("row")

    def row(self, text):
        return self.rows().filter(has_text=text)

    def create_button(self):
        return self.page.get_by_role("button", name="Create API key", exact=True)

    def wait_for_table(self):
        expect(self.page.get_by_role("heading", name="API Keys", exact=True)).to_be_visible()
        expect(self.row(display_of(self.full_key))).to_have_count(1)

    def api_key_status(self, key, expected, within=6.0):
        """Polls GET of the keyed route with `key` until it answers `expected` (a cache may hold
        the old answer for a few seconds); returns the last (status, body)."""
        deadline = time.monotonic() + within
        while True:
            status, body = http("GET", self.keyed_route, {"api-key": key})
            if status == expected or time.monotonic() >= deadline:
                return status, body
            time.sleep(0.1)

    def csrf_token(self):
        return self.page.locator('meta[name="csrf-token"]').get_attribute("content")

    def session(self):
        """The session cookie as a request header."""
        return {"cookie": f"{self.cookie_name}={self.session_cookie['value']}"}

    def is_focused(self, locator):
        return locator.evaluate("element => element === document.activeElement")

    def tab_to(self, locator, limit=30):
        """Presses Tab until `locator` has the focus; returns how many presses it took."""
        for presses in range(1, limit + 1):
            self.page.keyboard.press("Tab")
            if self.is_focused(locator):
                return presses
        raise AssertionError(f"{limit} presses of Tab never reached {locator}")

    def reveal_key(self, dialog, state):
        """The key a dialog shows once, checked for the warning, Copy and Done; axe runs on it
        as `state`."""
        field = dialog.get_by_label("New API key", exact=True)
        expect(field).to_be_visible()
        key = field.input_value()
        check(key.startswith("fbsk_"), f"the dialog shows {key!r}, not a key")
        expect(dialog).to_contain_text("This key will not be shown again.")
        self.axe.run(self.page, state)
        dialog.get_by_role("button", name="Copy", exact=True).click()
        expect(dialog.get_by_role("status")).to_have_text("Copied to the clipboard.")
        copied = self.page.evaluate("navigator.clipboard.readText()")
        check(copied == key, "the clipboard holds the key shown")
        dialog.get_by_role("button", name="Done", exact=True).click()
        expect(dialog).to_be_hidden()
        check(key not in self.page.content(), "the key is gone from the page after Done")
        return key

    # Steps

    def step_signed_out(self):
        response = self.page.goto(self.page_url)
        check(response.status == 401, f"the page answered {response.status} before sign-in")
        expect(self.page.get_by_role("heading", name=SIGNED_OUT_TITLE, exact=True)).to_be_visible()
        link = self.page.get_by_role("link", name="Sign in", exact=True)
        href = link.get_attribute("href") if link.count() else None
        self.axe.run(self.page, "signed-out notice")
        return f"401, {SIGNED_OUT_TITLE!r}, " + (f"a Sign in link to {href}" if href else "no sign-in link")

    def step_sign_in(self):
        self.page.goto(self.sign_in)
        check(self.page.url == self.page_url, f"landed on {self.page.url}, not {self.page_url}")
        self.wait_for_table()
        for key in (self.full_key, self.read_only_key):
            expect(self.row(display_of(key))).to_have_count(1)
        expect(self.row(display_of(self.full_key))).to_contain_text("Full access")
        expect(self.row(display_of(self.read_only_key))).to_contain_text("Read only")
        cookies = [c for c in self.context.cookies() if c["name"] == self.cookie_name]
        check(len(cookies) == 1, f"one {self.cookie_name} cookie, got {cookies}")
        cookie = cookies[0]
        check(cookie["httpOnly"], "the session cookie is HttpOnly")
        check(cookie["sameSite"] == "Strict", f"SameSite is {cookie['sameSite']}")
        check(cookie["path"] == "/", f"path is {cookie['path']}")
        self.session_cookie = cookie
        detail = f"heading, 2 keys, {self.cookie_name} HttpOnly + SameSite=Strict"
        if self.product:
            title = self.page.title()
            check(title.endswith(f" · {self.product}"), f"the title {title!r} does not name {self.product}")
            detail += f", title {title!r}"
        if self.back_link:
            link = self.page.get_by_role("banner").get_by_role("link", name=self.back_link, exact=True)
            expect(link).to_be_visible()
            detail += f", link {self.back_link!r} to {link.get_attribute('href')}"
        self.axe.run(self.page, "page")
        if self.sign_in_once:
            status, _ = http("GET", self.sign_in)
            check(status == 401, f"the sign-in link opened a second time answered {status}")
            detail += "; the link works once"
        return detail

    def step_keyboard(self):
        self.page.reload()
        self.wait_for_table()
        create = self.create_button()
        presses = self.tab_to(create)
        ring = create.evaluate(
            "b => b.matches(':focus-visible') && getComputedStyle(b).outlineStyle !== 'none'")
        check(ring, "Create API key has the focus but no visible focus ring")
        self.page.keyboard.press("Enter")
        dialog = self.page.get_by_role("dialog", name="Create API key")
        expect(dialog).to_be_visible()
        expect(dialog.get_by_label("Name", exact=True)).to_be_focused()
        self.page.keyboard.press("Tab")
        inside = dialog.evaluate("d => d.contains(document.activeElement)")
        check(inside, "Tab from Name left the dialog")
        self.page.keyboard.press("Escape")
        expect(dialog).to_be_hidden()
        expect(create).to_be_focused()

        row = self.row(display_of(self.full_key))
        regenerate = row.get_by_role("button", name="Regenerate", exact=True)
        to_row = self.tab_to(regenerate)
        self.page.keyboard.press("Enter")
        dialog = self.page.get_by_role("dialog", name="Regenerate API key")
        expect(dialog).to_be_visible()
        expect(dialog).to_contain_text(display_of(self.full_key))
        expect(dialog.get_by_label("Grace period", exact=True)).to_be_focused()
        self.page.keyboard.press("Escape")
        expect(dialog).to_be_hidden()
        expect(regenerate).to_be_focused()
        expect(row).to_contain_text("Active")
        return (f"Tab x{presses} to Create API key (focus ring shown), Enter: focus on Name, "
                f"Escape: back on Create API key; Tab x{to_row} to a row's Regenerate, Enter: "
                "focus on Grace period, Escape: back on that Regenerate")

    def step_create(self):
        self.create_button().click()
        dialog = self.page.get_by_role("dialog", name="Create API key")
        expect(dialog).to_be_visible()
        self.axe.run(self.page, "create dialog")
        dialog.get_by_label("Name", exact=True).fill(NAME)
        expect(dialog.get_by_role("radiogroup", name="Permission")).to_be_visible()
        expect(dialog.get_by_role("radio", name="Full access", exact=True)).not_to_be_checked()
        expect(dialog.get_by_label("Read only", exact=True)).to_be_checked()
        expect(dialog.get_by_role("group", name="Rate limit")).to_be_visible()
        requests = dialog.get_by_label("Requests", exact=True)
        expect(requests).to_have_value("")
        per = dialog.get_by_label("Per", exact=True)
        expect(per.locator("option")).to_have_text(["second", "minute", "hour", "day"])
        requests.fill("5")
        per.select_option(label="minute")
        dialog.get_by_role("button", name="Create", exact=True).click()
        self.created_key = self.reveal_key(dialog, "create: key shown once")
        row = self.row(NAME)
        expect(row).to_have_count(1)
        expect(row).to_contain_text("Read only")
        expect(row).to_contain_text(display_of(self.created_key) + "…")
        expect(row).to_contain_text("Active")
        expect(row.get_by_role("cell").filter(has_text="5 / minute")).to_have_count(1)
        expect(self.row(display_of(self.full_key))).to_contain_text("None")
        status, page = http("GET", self.api, self.session())
        created = [key for key in page["data"] if key["name"] == NAME] if status == 200 else []
        check(len(created) == 1 and created[0]["rate_limit"] == {"requests": 5, "per_seconds": 60},
              f"the API lists {created or (status, page)}")
        return (f"created {display_of(self.created_key)}…, shown once, copied, listed as Read only "
                "with a rate limit of 5 / minute")

    def step_use_key(self):
        route = self.keyed_route[len(self.base):]
        status, body = http("GET", self.keyed_route, {"api-key": self.created_key})
        check(status == 200, f"GET {route} answered {status} {body}")
        status, body = http("POST", self.keyed_route, {"api-key": self.created_key}, {"name": "x"})
        check(status == 403, f"POST {route} answered {status} {body}")
        check("full_access" in json.dumps(body), f"the 403 does not name full_access: {body}")
        return f"GET {route} 200; POST {route} 403 naming full_access"

    def declared_resources(self):
        """The resources the page's data declares, in the host's order."""
        return self.page.evaluate(
            "JSON.parse(document.getElementById('page-data').textContent).resources || []")

    def levels_for(self, resources):
        """The level the restricted key gets per resource: from --restricted-scopes, or the first
        resource at read and the second at write."""
        if not self.restricted_scopes:
            return dict(zip(resources[:2], ["read", "write"]))
        levels = {}
        for scope in self.restricted_scopes:
            name, _, level = scope.strip().partition(":")
            check(name in resources and level in ("read", "write"),
                  f"--restricted-scopes names {scope!r}; the page declares {resources}")
            levels[name] = level
        return levels

    def scope_table(self, dialog):
        return dialog.get_by_role("group", name="Resources", exact=True)

    def scope_row(self, table, resource):
        return table.get_by_role("radiogroup", name=resource, exact=True)

    def step_restricted_table(self):
        self.page.reload()
        self.wait_for_table()
        resources = self.declared_resources()
        self.create_button().click()
        dialog = self.page.get_by_role("dialog", name="Create API key")
        restricted = dialog.get_by_role("radiogroup", name="Permission").get_by_role(
            "radio", name="Restricted", exact=True)
        if not resources:
            expect(restricted).to_have_count(0)
            dialog.get_by_role("button", name="Cancel", exact=True).click()
            return "skipped: the host declares no resources (and the dialog offers no Restricted)"
        levels = self.levels_for(resources)

        # By mouse: the table shows only while Restricted is chosen, a row per resource at None.
        table = self.scope_table(dialog)
        expect(table).to_be_hidden()
        restricted.check()
        expect(table).to_be_visible()
        shown = table.get_by_role("radiogroup").evaluate_all(
            "groups => groups.map(g => document.getElementById(g.getAttribute('aria-labelledby')).textContent)")
        check(shown == resources, f"the table's rows are {shown}, not the declared {resources}")
        for resource in resources:
            radios = self.scope_row(table, resource).get_by_role("radio")
            expect(radios).to_have_count(len(LEVELS))
            for (label, _), radio in zip(LEVELS, radios.all()):
                expect(radio).to_have_accessible_name(label)
            expect(self.scope_row(table, resource).get_by_role("radio", name="None")).to_be_checked()
        dialog.get_by_role("radio", name="Full access", exact=True).check()
        expect(table).to_be_hidden()
        restricted.check()
        expect(table).to_be_visible()

        # An error the API answers about `scopes` shows on the table, not under the form. The page
        # never sends scopes the API refuses, so this answer comes from the test.
        refusal = {"error": {"code": "invalid_request", "field": "scopes",
                             "message": "`scopes`: not a scope this service declares"}}

        def refuse(route):
            if route.request.method != "POST":
                return route.continue_()
            return route.fulfill(status=400, content_type="application/json", body=json.dumps(refusal))

        dialog.get_by_label("Name", exact=True).fill(RESTRICTED_NAME)
        first = self.scope_row(table, resources[0])
        first.get_by_role("radio", name="Read", exact=True).check()
        def is_api(url):
            return url == self.api

        self.page.route(is_api, refuse)
        try:
            dialog.get_by_role("button", name="Create", exact=True).click()
            expect(table.get_by_role("alert")).to_have_text(refusal["error"]["message"])
        finally:
            self.page.unroute(is_api, refuse)
        expect(first.get_by_role("radio", name="Read", exact=True)).to_be_focused()
        expect(first).to_have_attribute("aria-invalid", "true")
        expect(dialog.locator(".js-alert")).to_be_hidden()
        dialog.get_by_role("button", name="Cancel", exact=True).click()
        expect(dialog).to_be_hidden()

        # By keyboard: Restricted by arrow key, an empty table refused without a request, then
        # every radio of every row reached with Tab and the arrow keys.
        create = self.create_button()
        expect(create).to_be_focused()
        self.page.keyboard.press("Enter")
        expect(dialog.get_by_label("Name", exact=True)).to_be_focused()
        self.page.keyboard.type(RESTRICTED_NAME)
        self.page.keyboard.press("Tab")
        expect(dialog.get_by_role("radio", name="Read only", exact=True)).to_be_focused()
        self.page.keyboard.press("ArrowDown")
        expect(restricted).to_be_focused()
        expect(restricted).to_be_checked()
        expect(table).to_be_visible()
        self.axe.run(self.page, "create dialog, Restricted table", strict=True)

        writes = self.api_writes
        submit = dialog.get_by_role("button", name="Create", exact=True)
        presses = self.tab_to(submit, limit=30 + len(resources))
        self.page.keyboard.press("Enter")
        expect(table.get_by_role("alert")).to_have_text(SCOPES_MISSING_TEXT)
        first_none = first.get_by_role("radio", name="None", exact=True)
        expect(first_none).to_be_focused()
        for resource in resources:
            expect(self.scope_row(table, resource)).to_have_attribute("aria-invalid", "true")
        check(self.api_writes == writes, "an empty table was sent to the API")
        expect(dialog.get_by_label("New API key", exact=True)).to_be_hidden()
        self.axe.run(self.page, "create dialog, Restricted with no scope", strict=True)

        ring = first_none.evaluate(
            "r => r.matches(':focus-visible') && getComputedStyle(r.labels[0]).outlineStyle !== 'none'")
        check(ring, "a row's radio has the focus but its option shows no focus ring")
        for index, resource in enumerate(resources):
            row = self.scope_row(table, resource)
            if index > 0:
                self.page.keyboard.press("Tab")
            expect(row.get_by_role("radio", name="None", exact=True)).to_be_focused()
            # Right through Read and Write, and round to None.
            for label, _ in LEVELS[1:] + LEVELS[:1]:
                self.page.keyboard.press("ArrowRight")
                radio = row.get_by_role("radio", name=label, exact=True)
                expect(radio).to_be_focused()
                expect(radio).to_be_checked()
            wanted = [label for label, level in LEVELS if level == levels.get(resource)][0]
            for _ in range([label for label, _ in LEVELS].index(wanted)):
                self.page.keyboard.press("ArrowRight")
            expect(row.get_by_role("radio", name=wanted, exact=True)).to_be_checked()
        self.tab_to(submit, limit=30)
        self.page.keyboard.press("Enter")
        self.restricted_key = self.reveal_key(dialog, "create: restricted key shown once")
        check(self.api_writes == writes + 1, f"{self.api_writes - writes} requests created the key")
        self.restricted_levels = levels
        chosen = ", ".join(f"{name} {level}" for name, level in levels.items())
        return (f"{len(resources)} rows as declared, at None, shown only with Restricted; an API "
                f"error on scopes shows on the table; by keyboard: Restricted by ArrowDown, Tab x"
                f"{presses} to Create, an empty table refused without a request (first row focused), "
                f"each row's None, Read and Write reached by Tab and ArrowRight; created with {chosen}, "
                f"shown once")

    def step_restricted_key(self):
        if self.restricted_levels is None:
            return "skipped: the host declares no resources"
        key = self.restricted_key
        expected = sorted(f"{name}:{level}" for name, level in self.restricted_levels.items())
        row = self.row(RESTRICTED_NAME)
        expect(row).to_have_count(1)
        expect(row).to_contain_text(display_of(key) + "…")
        permission = row.get_by_role("cell").filter(has=self.page.locator(".badge"))
        expect(permission.locator(".badge")).to_have_text("Restricted")
        expect(permission.get_by_role("list", name="Scopes").get_by_role("listitem")).to_have_text(expected)
        status, page = http("GET", self.api, self.session())
        listed = [k for k in page["data"] if k["name"] == RESTRICTED_NAME] if status == 200 else page
        check(len(listed) == 1 and listed[0]["permission"] == "restricted"
              and listed[0]["scopes"] == expected, f"the API lists {listed}")
        self.axe.run(self.page, "page, a restricted key listed", strict=True)

        used = []
        for method, path in self.restricted_allows:
            body = None if method in ("GET", "HEAD") else {"name": "x"}
            status, answer = http(method, self.base + path, {"api-key": key}, body)
            check(200 <= status < 300, f"{method} {path} answered {status} {answer}")
            used.append(f"{method} {path} {status}")
        for method, path in self.restricted_refuses:
            body = None if method in ("GET", "HEAD") else {"name": "x"}
            status, answer = http(method, self.base + path, {"api-key": key}, body)
            check(status == 403 and error_code(answer) == "insufficient_scope",
                  f"{method} {path} answered {status} {answer}, not 403 insufficient_scope")
            used.append(f"{method} {path} 403 insufficient_scope")
        check(used, "no --restricted-allows or --restricted-refuses to use the key on")
        return f"listed as Restricted with {', '.join(expected)} (page and API); " + "; ".join(used)

    def step_duplicate_name(self):
        # The API answers with its own message; the page shows its own (translatable) text.
        headers = {**self.session(), "x-csrf-token": self.csrf_token(), "origin": self.base}
        status, body = http("POST", self.api, headers, {"name": NAME, "permission": "read_only"})
        check(status == 409 and error_code(body) == "api_key_name_taken", f"the API answered {status} {body}")
        message = body["error"]["message"]

        self.create_button().click()
        dialog = self.page.get_by_role("dialog", name="Create API key")
        dialog.get_by_label("Name", exact=True).fill(NAME)
        dialog.get_by_role("button", name="Create", exact=True).click()
        alert = dialog.get_by_role("alert")
        expect(alert).to_have_text(NAME_TAKEN_TEXT)
        check(message != NAME_TAKEN_TEXT, "the API's message is the page's text: nothing is checked")
        name = dialog.get_by_label("Name", exact=True)
        expect(name).to_be_focused()
        expect(name).to_have_attribute("aria-invalid", "true")
        expect(dialog.get_by_label("New API key", exact=True)).to_be_hidden()
        self.axe.run(self.page, "create dialog, name taken")
        dialog.get_by_role("button", name="Cancel", exact=True).click()
        expect(dialog).to_be_hidden()
        expect(self.row(NAME)).to_have_count(1)
        expect(self.row(display_of(self.full_key))).to_have_count(1)
        check(not self.page_errors, f"script errors: {self.page_errors}")
        return f"API 409 {message!r}; the alert shows {NAME_TAKEN_TEXT!r}, Name focused and invalid"

    def step_regenerate(self):
        self.row(NAME).get_by_role("button", name="Regenerate", exact=True).click()
        dialog = self.page.get_by_role("dialog", name="Regenerate API key")
        expect(dialog).to_be_visible()
        expect(dialog).to_contain_text(NAME)
        expect(dialog).to_contain_text(display_of(self.created_key))
        self.axe.run(self.page, "regenerate dialog")
        grace = dialog.get_by_label("Grace period", exact=True)
        expect(grace.locator("option")).to_have_text(["None", "1 hour", "24 hours", "7 days"])
        grace.select_option(label="None")
        dialog.get_by_role("button", name="Regenerate key", exact=True).click()
        self.regenerated_key = self.reveal_key(dialog, "regenerate: key shown once")
        check(self.regenerated_key != self.created_key, "a new key")
        check(display_of(self.regenerated_key) == display_of(self.created_key), "the same key id")
        status, body = self.api_key_status(self.created_key, 401)
        check(status == 401, f"the old key answered {status} {body}")
        status, body = http("GET", self.keyed_route, {"api-key": self.regenerated_key})
        check(status == 200, f"the new key answered {status} {body}")
        return "new key shown once; old key 401, new key 200"

    def step_revoke(self):
        row = self.row(NAME)
        row.get_by_role("button", name="Revoke", exact=True).click()
        dialog = self.page.get_by_role("dialog", name="Revoke API key")
        expect(dialog).to_contain_text(NAME)
        # A question that cannot be undone starts on its safe answer.
        expect(dialog.get_by_role("button", name="Cancel", exact=True)).to_be_focused()
        self.axe.run(self.page, "revoke dialog")
        dialog.get_by_role("button", name="Revoke key", exact=True).click()
        expect(dialog).to_be_hidden()
        expect(row).to_contain_text("Revoked")
        expect(row.get_by_role("button")).to_have_count(0)
        # The opener is gone with the row's buttons: the focus lands on Create API key.
        expect(self.create_button()).to_be_focused()
        status, body = self.api_key_status(self.regenerated_key, 401)
        check(status == 401, f"the revoked key answered {status} {body}")
        check(error_code(body) == "revoked_api_key", f"the revoked key answered {body}")
        return ("opens on Cancel; row shows Revoked without actions, focus on Create API key; the "
                "key answers 401 revoked_api_key")

    def step_forged_requests(self):
        token = self.csrf_token()
        forged = {"name": "forged", "permission": "full_access"}
        refusals = [
            ("no CSRF token", {"origin": self.base}, "invalid_csrf_token"),
            ("a token not of this session", {"origin": self.base, "x-csrf-token": "0" * 64}, "invalid_csrf_token"),
            ("a foreign Origin", {"origin": FOREIGN_ORIGIN, "x-csrf-token": token}, "cross_origin_request"),
            ("no Origin", {"x-csrf-token": token}, "cross_origin_request"),
        ]
        for what, headers, code in refusals:
            status, body = http("POST", self.api, {**self.session(), **headers}, forged)
            check(status == 403 and error_code(body) == code,
                  f"a write with {what} answered {status} {body}, not 403 {code}")
        for method, payload in (("GET", None), ("POST", {"name": "by key", "permission": "full_access"})):
            status, body = http(method, self.api, {"api-key": self.full_key}, payload)
            check(status == 401 and error_code(body) == "not_signed_in",
                  f"{method} with an API key answered {status} {body}")
        status, page = http("GET", self.api, self.session())
        names = [key["name"] for key in page["data"]] if status == 200 else page
        check("forged" not in names and "by key" not in names, f"a refused write created a key: {names}")

        # A lost session: the page says so instead of failing silently.
        self.context.clear_cookies()
        self.create_button().click()
        dialog = self.page.get_by_role("dialog", name="Create API key")
        dialog.get_by_label("Name", exact=True).fill("after sign-out")
        dialog.get_by_role("button", name="Create", exact=True).click()
        expect(dialog.get_by_role("alert")).to_contain_text("not signed in")
        dialog.get_by_role("button", name="Cancel", exact=True).click()
        self.context.add_cookies([self.session_cookie])
        return ("403 invalid_csrf_token without the token or with a wrong one; 403 "
                "cross_origin_request from a foreign Origin or none; API key 401 (GET, POST); "
                "a lost session shows an alert")

    def step_phone(self):
        self.page.set_viewport_size({"width": 375, "height": 740})
        self.page.reload()
        self.wait_for_table()
        width = self.page.evaluate("document.documentElement.scrollWidth")
        check(width <= 375, f"the page is {width} px wide at 375 px")
        expect(self.create_button()).to_be_visible()
        button = self.row(display_of(self.full_key)).get_by_role("button", name="Revoke", exact=True)
        button.scroll_into_view_if_needed()
        box = button.bounding_box()
        check(box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 375,
              f"a row's Revoke button lies at {box}")
        self.axe.run(self.page, "page at 375 px")
        self.create_button().click()
        dialog = self.page.get_by_role("dialog", name="Create API key")
        box = dialog.bounding_box()
        check(box["x"] >= 0 and box["x"] + box["width"] <= 375, f"the dialog lies at {box}")
        expect(dialog.get_by_role("button", name="Create", exact=True)).to_be_in_viewport()
        detail = ""
        if self.restricted_levels is not None:
            dialog.get_by_role("radio", name="Restricted", exact=True).check()
            table = self.scope_table(dialog)
            expect(table).to_be_visible()
            overflow = dialog.evaluate("d => d.scrollWidth - d.clientWidth")
            check(overflow <= 0, f"the dialog scrolls sideways by {overflow} px with the Restricted table")
            for group in table.get_by_role("radiogroup").all():
                box = group.get_by_role("radio", name="Write", exact=True).bounding_box()
                check(box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 375,
                      f"a row's Write lies at {box}")
            self.axe.run(self.page, "create dialog, Restricted at 375 px", strict=True)
            detail = "; the Restricted table fits the dialog"
        dialog.get_by_role("button", name="Cancel", exact=True).click()
        width = self.page.evaluate("document.documentElement.scrollWidth")
        check(width <= 375, f"the page is {width} px wide at 375 px")
        return f"scrollWidth {width} <= 375; Create API key, row buttons and the dialog fit" + detail

    def step_screenshot(self):
        self.page.set_viewport_size({"width": 1100, "height": 700})
        self.page.reload()
        self.wait_for_table()
        expect(self.row(NAME)).to_contain_text("Revoked")
        frame = self.page.locator(".table-frame")
        scrolls = frame.evaluate("frame => frame.scrollWidth > frame.clientWidth")
        check(not scrolls, "the table is wider than its frame at 1100 px")
        # Down to the table and a margin, not the empty rest of the window.
        bottom = self.page.evaluate("Math.ceil(document.querySelector('main').getBoundingClientRect().bottom)")
        height = max(400, min(bottom, 700))
        Path(self.screenshot).parent.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=self.screenshot, clip={"x": 0, "y": 0, "width": 1100, "height": height})
        check(not self.page_errors, f"script errors: {self.page_errors}")
        check(not self.foreign_requests, f"requests to other origins: {self.foreign_requests}")
        return f"saved {self.screenshot}"

    def step_axe(self):
        failing = self.axe.failing()
        states = len(self.axe.states)
        if failing:
            lines = [f"{state}: {v['id']} ({v['impact']}) {v['help']} at "
                     + "; ".join(" ".join(node["target"]) for node in v["nodes"])
                     for state, v in failing]
            raise AssertionError(f"{len(failing)} serious or critical violations:\n  " + "\n  ".join(lines))
        total = sum(sum(state["counts"].values()) for state in self.axe.states)
        strict = sum(state["strict"] for state in self.axe.states)
        return (f"axe-core {self.axe.version}: {states} states, none serious or critical ({total} "
                f"minor or moderate); {strict} Restricted states without any")

    def run(self, chromium):
        steps = [
            ("a. signed out: the page answers with a notice", self.step_signed_out),
            ("b. sign in: heading, the keys, cookie attributes", self.step_sign_in),
            ("c. keyboard only: Create and a row's Regenerate, Escape, focus returns", self.step_keyboard),
            ("d. create a read-only key limited to 5 a minute, shown once, copied", self.step_create),
            ("e. the new key reads, and may not write", self.step_use_key),
            ("f. a restricted key: the table of resources by mouse and keyboard, shown once",
             self.step_restricted_table),
            ("g. the restricted key is listed with its scopes, and may only do what they allow",
             self.step_restricted_key),
            ("h. a taken name shows the page's own text", self.step_duplicate_name),
            ("i. regenerate with no grace period", self.step_regenerate),
            ("j. revoke", self.step_revoke),
            ("k. forged writes (no token, foreign Origin), API keys and lost sessions are refused",
             self.step_forged_requests),
            ("l. phone width (375 x 740)", self.step_phone),
            ("m. screenshot at desktop width", self.step_screenshot),
            ("n. axe-core: no serious or critical violation in any state, none at all in the "
             "Restricted table's", self.step_axe),
        ]
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_ARGS)
            self.context = browser.new_context(
                viewport={"width": 1100, "height": 700}, locale="en-US", timezone_id="UTC"
            )
            self.context.set_default_timeout(TIMEOUT_MS)
            self.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=self.base)
            self.page = self.context.new_page()
            self.page.on("pageerror", lambda error: self.page_errors.append(str(error)))
            self.page.on("console", self.on_console)
            self.page.on("request", self.on_request)
            failed = False
            for name, step in steps:
                if failed:
                    print(f"SKIP  {name}", flush=True)
                    continue
                started = time.monotonic()
                try:
                    detail = step()
                except Exception as error:  # noqa: BLE001 (any failure fails the step)
                    failed = True
                    print(f"FAIL  {name}: {error}", flush=True)
                    traceback.print_exc()
                else:
                    took = time.monotonic() - started
                    print(f"ok    {name}: {detail} ({took:.1f} s)", flush=True)
            browser.close()
        # The record, also of a failed run: what axe saw up to the failure.
        print(f"\naxe-core {self.axe.version}: violations (rules) by impact, per state; review: "
              "rules axe could not decide and this flow could not settle", flush=True)
        print(self.axe.table(), flush=True)
        self.axe.write(self.axe_report, self.page_url)
        print(f"written to {self.axe_report}", flush=True)
        return not failed


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--page-url", required=True)
    parser.add_argument("--session-cookie", required=True)
    parser.add_argument("--keyed-route", required=True)
    parser.add_argument("--restricted-scopes")
    parser.add_argument("--restricted-allows", type=request_of, action="append", default=[])
    parser.add_argument("--restricted-refuses", type=request_of, action="append", default=[])
    parser.add_argument("--sign-in-once", action="store_true")
    parser.add_argument("--product")
    parser.add_argument("--back-link")
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    parser.add_argument("--screenshot", default="target/browser/settings-api-keys.png")
    parser.add_argument("--axe-report", default="target/browser/axe.json")
    args = parser.parse_args()
    passed = Scenario(args).run(args.chromium)
    print("settings page: passed" if passed else "settings page: FAILED", flush=True)
    sys.exit(0 if passed else 1)


if __name__ == "__main__":
    main()
