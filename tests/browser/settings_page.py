#!/usr/bin/env python3
"""The Settings › API Keys page of the example server, in Chromium, as a user goes through it.

Run by scripts/browser.sh, which starts the server and passes:
  --base-url URL         the server, e.g. http://127.0.0.1:3201
  --chromium PATH        the browser to drive (Debian's /usr/bin/chromium)
  --screenshot PATH      where to save the page at desktop width, after the flow
and in the environment the sign-in link and the demo keys the server printed:
  FORMBOX_SIGN_IN, FORMBOX_FULL_KEY, FORMBOX_READ_ONLY_KEY

Each step is printed with its result; the first failure ends the run with status 1.
"""

import argparse
import json
import os
import sys
import time
import traceback
import urllib.error
import urllib.request

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
TIMEOUT_MS = 10_000


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


def display_of(key):
    """The display form the page shows for a key: `fbsk_<id>_…`."""
    prefix, key_id, _ = key.split("_", 2)
    return f"{prefix}_{key_id}_"


def check(condition, message):
    if not condition:
        raise AssertionError(message)


class Scenario:
    def __init__(self, args):
        self.base = args.base_url.rstrip("/")
        self.sign_in = os.environ["FORMBOX_SIGN_IN"]
        self.full_key = os.environ["FORMBOX_FULL_KEY"]
        self.read_only_key = os.environ["FORMBOX_READ_ONLY_KEY"]
        self.screenshot = args.screenshot
        self.page_errors = []
        self.foreign_requests = []
        self.created_key = None
        self.regenerated_key = None
        self.session_cookie = None

    # Locators and requests

    def on_console(self, message):
        # A refused script or style is a bug in the page, not only a console line.
        if message.type == "error" and "Content Security Policy" in message.text:
            self.page_errors.append(message.text)

    def on_request(self, request):
        if not request.url.startswith(self.base + "/"):
            self.foreign_requests.append(request.url)

    def rows(self):
        return self.page.get_by_role("row")

    def row(self, text):
        return self.rows().filter(has_text=text)

    def wait_for_table(self):
        expect(self.page.get_by_role("heading", name="API Keys", exact=True)).to_be_visible()
        expect(self.row(display_of(self.full_key))).to_have_count(1)

    def api_key_status(self, key, expected, within=6.0):
        """Polls GET /v1/forms with `key` until it answers `expected` (a cache may hold the old
        answer for a few seconds); returns the last (status, body)."""
        deadline = time.monotonic() + within
        while True:
            status, body = http("GET", f"{self.base}/v1/forms", {"api-key": key})
            if status == expected or time.monotonic() >= deadline:
                return status, body
            time.sleep(0.1)

    def csrf_token(self):
        return self.page.locator('meta[name="csrf-token"]').get_attribute("content")

    def reveal_key(self, dialog):
        """The key a dialog shows once, checked for the warning, Copy and Done."""
        field = dialog.get_by_label("New API key", exact=True)
        expect(field).to_be_visible()
        key = field.input_value()
        check(key.startswith("fbsk_"), f"the dialog shows {key!r}, not a key")
        expect(dialog).to_contain_text("This key will not be shown again.")
        dialog.get_by_role("button", name="Copy", exact=True).click()
        expect(dialog.get_by_role("status")).to_have_text("Copied to the clipboard.")
        copied = self.page.evaluate("navigator.clipboard.readText()")
        check(copied == key, "the clipboard holds the key shown")
        dialog.get_by_role("button", name="Done", exact=True).click()
        expect(dialog).to_be_hidden()
        check(key not in self.page.content(), "the key is gone from the page after Done")
        return key

    # Steps

    def step_sign_in(self):
        self.page.goto(self.sign_in)
        check(self.page.url == f"{self.base}/settings/api-keys", f"landed on {self.page.url}")
        self.wait_for_table()
        for key in (self.full_key, self.read_only_key):
            expect(self.row(display_of(key))).to_have_count(1)
        expect(self.row(display_of(self.full_key))).to_contain_text("Full access")
        expect(self.row(display_of(self.read_only_key))).to_contain_text("Read only")
        cookies = [c for c in self.context.cookies() if c["name"] == "formbox_session"]
        check(len(cookies) == 1, f"one session cookie, got {cookies}")
        cookie = cookies[0]
        check(cookie["httpOnly"], "the session cookie is HttpOnly")
        check(cookie["sameSite"] == "Strict", f"SameSite is {cookie['sameSite']}")
        check(cookie["path"] == "/", f"path is {cookie['path']}")
        self.session_cookie = cookie
        status, _ = http("GET", self.sign_in)
        check(status == 401, f"the sign-in link opened a second time answered {status}")
        return "heading, 2 demo keys, cookie HttpOnly + SameSite=Strict; the link works once"

    def step_create(self):
        self.page.get_by_role("button", name="Create API key", exact=True).click()
        dialog = self.page.get_by_role("dialog", name="Create API key")
        expect(dialog).to_be_visible()
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
        self.created_key = self.reveal_key(dialog)
        row = self.row(NAME)
        expect(row).to_have_count(1)
        expect(row).to_contain_text("Read only")
        expect(row).to_contain_text(display_of(self.created_key) + "…")
        expect(row).to_contain_text("Active")
        expect(row.get_by_role("cell").filter(has_text="5 / minute")).to_have_count(1)
        expect(self.row(display_of(self.full_key))).to_contain_text("None")
        headers = {"cookie": f"formbox_session={self.session_cookie['value']}"}
        status, page = http("GET", f"{self.base}/dashboard/api/api-keys", headers)
        created = [key for key in page["data"] if key["name"] == NAME] if status == 200 else []
        check(len(created) == 1 and created[0]["rate_limit"] == {"requests": 5, "per_seconds": 60},
              f"the API lists {created or (status, page)}")
        return (f"created {display_of(self.created_key)}…, shown once, copied, listed as Read only "
                "with a rate limit of 5 / minute")

    def step_use_key(self):
        status, body = http("GET", f"{self.base}/v1/forms", {"api-key": self.created_key})
        check(status == 200, f"GET /v1/forms answered {status} {body}")
        status, body = http("POST", f"{self.base}/v1/forms", {"api-key": self.created_key}, {"name": "x"})
        check(status == 403, f"POST /v1/forms answered {status} {body}")
        check("full_access" in json.dumps(body), f"the 403 does not name full_access: {body}")
        return "GET /v1/forms 200; POST /v1/forms 403 naming full_access"

    def step_duplicate_name(self):
        # What the API says about the same request, to compare with what the page shows.
        headers = {"cookie": f"formbox_session={self.session_cookie['value']}", "x-csrf-token": self.csrf_token()}
        status, body = http("POST", f"{self.base}/dashboard/api/api-keys", headers,
                            {"name": NAME, "permission": "read_only"})
        check(status == 409 and body["error"]["code"] == "api_key_name_taken", f"the API answered {status} {body}")
        message = body["error"]["message"]

        self.page.get_by_role("button", name="Create API key", exact=True).click()
        dialog = self.page.get_by_role("dialog", name="Create API key")
        dialog.get_by_label("Name", exact=True).fill(NAME)
        dialog.get_by_role("button", name="Create", exact=True).click()
        alert = dialog.get_by_role("alert")
        expect(alert).to_have_text(message)
        expect(dialog.get_by_label("Name", exact=True)).to_be_focused()
        expect(dialog.get_by_label("New API key", exact=True)).to_be_hidden()
        dialog.get_by_role("button", name="Cancel", exact=True).click()
        expect(dialog).to_be_hidden()
        expect(self.row(NAME)).to_have_count(1)
        expect(self.row(display_of(self.full_key))).to_have_count(1)
        check(not self.page_errors, f"script errors: {self.page_errors}")
        return f"alert shows {message!r}; dialog cancelled, table intact"

    def step_regenerate(self):
        self.row(NAME).get_by_role("button", name="Regenerate", exact=True).click()
        dialog = self.page.get_by_role("dialog", name="Regenerate API key")
        expect(dialog).to_be_visible()
        grace = dialog.get_by_label("Grace period", exact=True)
        expect(grace.locator("option")).to_have_text(["None", "1 hour", "24 hours", "7 days"])
        grace.select_option(label="None")
        dialog.get_by_role("button", name="Regenerate key", exact=True).click()
        self.regenerated_key = self.reveal_key(dialog)
        check(self.regenerated_key != self.created_key, "a new key")
        check(display_of(self.regenerated_key) == display_of(self.created_key), "the same key id")
        status, body = self.api_key_status(self.created_key, 401)
        check(status == 401, f"the old key answered {status} {body}")
        status, body = http("GET", f"{self.base}/v1/forms", {"api-key": self.regenerated_key})
        check(status == 200, f"the new key answered {status} {body}")
        return "new key shown once; old key 401, new key 200"

    def step_revoke(self):
        row = self.row(NAME)
        row.get_by_role("button", name="Revoke", exact=True).click()
        dialog = self.page.get_by_role("dialog", name="Revoke API key")
        expect(dialog).to_contain_text(NAME)
        dialog.get_by_role("button", name="Revoke key", exact=True).click()
        expect(dialog).to_be_hidden()
        expect(row).to_contain_text("Revoked")
        expect(row.get_by_role("button")).to_have_count(0)
        status, body = self.api_key_status(self.regenerated_key, 401)
        check(status == 401, f"the revoked key answered {status} {body}")
        check(body["error"]["code"] == "revoked_api_key", f"the revoked key answered {body}")
        return "row shows Revoked without actions; the key answers 401 revoked_api_key"

    def step_forged_requests(self):
        url = f"{self.base}/dashboard/api/api-keys"
        cookie = {"cookie": f"formbox_session={self.session_cookie['value']}"}
        status, body = http("POST", url, cookie, {"name": "forged", "permission": "full_access"})
        check(status == 403 and body["error"]["code"] == "invalid_csrf_token",
              f"a write without the CSRF token answered {status} {body}")
        for method, payload in (("GET", None), ("POST", {"name": "by key", "permission": "full_access"})):
            status, body = http(method, url, {"api-key": self.full_key}, payload)
            check(status == 401 and body["error"]["code"] == "not_signed_in",
                  f"{method} with an API key answered {status} {body}")

        # A lost session: the page says so instead of failing silently.
        self.context.clear_cookies()
        self.page.get_by_role("button", name="Create API key", exact=True).click()
        dialog = self.page.get_by_role("dialog", name="Create API key")
        dialog.get_by_label("Name", exact=True).fill("after sign-out")
        dialog.get_by_role("button", name="Create", exact=True).click()
        expect(dialog.get_by_role("alert")).to_contain_text("not signed in")
        dialog.get_by_role("button", name="Cancel", exact=True).click()
        self.context.add_cookies([self.session_cookie])
        return "no CSRF token 403; API key 401 (GET, POST); a lost session shows an alert"

    def step_phone(self):
        self.page.set_viewport_size({"width": 375, "height": 740})
        self.page.reload()
        self.wait_for_table()
        width = self.page.evaluate("document.documentElement.scrollWidth")
        check(width <= 375, f"the page is {width} px wide at 375 px")
        expect(self.page.get_by_role("button", name="Create API key", exact=True)).to_be_visible()
        button = self.row(display_of(self.full_key)).get_by_role("button", name="Revoke", exact=True)
        button.scroll_into_view_if_needed()
        box = button.bounding_box()
        check(box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 375,
              f"a row's Revoke button lies at {box}")
        self.page.get_by_role("button", name="Create API key", exact=True).click()
        dialog = self.page.get_by_role("dialog", name="Create API key")
        box = dialog.bounding_box()
        check(box["x"] >= 0 and box["x"] + box["width"] <= 375, f"the dialog lies at {box}")
        expect(dialog.get_by_role("button", name="Create", exact=True)).to_be_in_viewport()
        dialog.get_by_role("button", name="Cancel", exact=True).click()
        width = self.page.evaluate("document.documentElement.scrollWidth")
        check(width <= 375, f"the page is {width} px wide at 375 px")
        return f"scrollWidth {width} <= 375; Create API key, row buttons and the dialog fit"

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
        self.page.screenshot(path=self.screenshot, clip={"x": 0, "y": 0, "width": 1100, "height": height})
        check(not self.page_errors, f"script errors: {self.page_errors}")
        check(not self.foreign_requests, f"requests to other origins: {self.foreign_requests}")
        return f"saved {self.screenshot}"

    def run(self, chromium):
        steps = [
            ("a. sign in: heading, demo keys, cookie attributes", self.step_sign_in),
            ("b. create a read-only key limited to 5 a minute, shown once, copied", self.step_create),
            ("c. the new key reads, and may not write", self.step_use_key),
            ("d. a taken name shows the API's error", self.step_duplicate_name),
            ("e. regenerate with no grace period", self.step_regenerate),
            ("f. revoke", self.step_revoke),
            ("g. no CSRF token, API keys and lost sessions are refused", self.step_forged_requests),
            ("h. phone width (375 x 740)", self.step_phone),
            ("i. screenshot at desktop width", self.step_screenshot),
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
        return not failed


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    parser.add_argument("--screenshot", default="target/browser/settings-api-keys.png")
    args = parser.parse_args()
    passed = Scenario(args).run(args.chromium)
    print("settings page: passed" if passed else "settings page: FAILED", flush=True)
    sys.exit(0 if passed else 1)


if __name__ == "__main__":
    main()
