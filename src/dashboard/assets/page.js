// Settings › API Keys: lists the organization's keys and creates, regenerates and revokes them
// through the management API beside the page. Everything from the server goes into the page as
// text (textContent, value, setAttribute), never as HTML. Every visible string comes from the
// server's text table (#page-data), so that the page can be translated.
"use strict";

(() => {
  const pageData = JSON.parse(document.getElementById("page-data").textContent);
  const API = pageData.api;
  const csrfToken = document.querySelector('meta[name="csrf-token"]').content;

  /** The text of `key`, with each `{part}` replaced by `parts[part]`. */
  function t(key, parts) {
    const text = pageData.text[key];
    if (typeof text !== "string") return key;
    return text.replace(/\{(\w+)\}/g, (whole, part) =>
      parts && part in parts ? String(parts[part]) : whole);
  }

  const tableBody = document.getElementById("keys-body");
  const tableState = document.getElementById("keys-state");
  const pageAlert = document.getElementById("page-alert");
  const pageStatus = document.getElementById("page-status");

  const dateFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "medium" });
  const timeFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
  const clockFormat = new Intl.DateTimeFormat(undefined, { timeStyle: "short" });
  const permissionNames = {
    full_access: t("permission.full_access"),
    read_only: t("permission.read_only"),
    restricted: t("permission.restricted"),
  };
  const permissionBadges = { full_access: "full", read_only: "read", restricted: "restricted" };
  const windowNames = { 1: t("window.1"), 60: t("window.60"), 3600: t("window.3600"), 86400: t("window.86400") };
  const countFormat = new Intl.NumberFormat(undefined);

  /** An error answered by the server (or the network), with the message to show. */
  class ApiError extends Error {
    constructor(status, code, message, field) {
      super(message);
      this.status = status;
      this.code = code;
      this.field = field;
    }
  }

  /** Calls the management API; resolves to the JSON body, or rejects with an ApiError. */
  async function api(method, path, body) {
    const headers = { accept: "application/json" };
    if (method !== "GET" && method !== "HEAD") headers["x-csrf-token"] = csrfToken;
    const init = { method, headers, credentials: "same-origin", cache: "no-store" };
    if (body !== undefined) {
      headers["content-type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    let response;
    try {
      response = await fetch(API + path, init);
    } catch {
      throw new ApiError(0, "network_error", t("error.network"));
    }
    let data = null;
    try {
      data = await response.json();
    } catch {
      data = null;
    }
    if (!response.ok) {
      const error = data && typeof data === "object" ? data.error : null;
      if (error && typeof error.message === "string") {
        // The page's own text for a known code (translated), the server's message otherwise.
        const code = String(error.code);
        const known = pageData.text["error." + code];
        throw new ApiError(response.status, code, known || error.message, error.field);
      }
      throw new ApiError(response.status, "http_error",
        t("error.http", { status: `${response.status} ${response.statusText}`.trim() }));
    }
    if (data === null || typeof data !== "object") {
      throw new ApiError(response.status, "invalid_response", t("error.invalid_response"));
    }
    return data;
  }

  function showAlert(element, error) {
    let message = error instanceof ApiError ? error.message : t("error.unexpected", { error });
    if (error instanceof ApiError && error.status === 401) {
      message += " " + t("error.reload");
    }
    element.textContent = message;
    element.hidden = false;
  }

  function clearAlert(element) {
    element.hidden = true;
    element.textContent = "";
  }

  /**
   * Takes every error off `area` (a form, or a part of one): the marks on its fields and the
   * messages shown beside them.
   */
  function clearFieldErrors(area) {
    for (const field of area.querySelectorAll("[aria-invalid]")) field.removeAttribute("aria-invalid");
    for (const message of area.querySelectorAll("[data-error-for]")) clearAlert(message);
  }

  /**
   * Marks the field an error is about and puts the focus on it. A group of choices (a fieldset,
   * such as the table of resources) is marked on each of its radio groups, and the focus goes to
   * the first group's chosen radio, where Tab would have put it.
   */
  function markInvalid(field) {
    if (field instanceof HTMLFieldSetElement) {
      const groups = field.querySelectorAll('[role="radiogroup"]');
      for (const group of groups) group.setAttribute("aria-invalid", "true");
      const first = groups.length > 0
        ? groups[0].querySelector("input:checked") || groups[0].querySelector("input")
        : null;
      if (first) first.focus();
    } else if (field && field.focus) {
      field.setAttribute("aria-invalid", "true");
      field.focus();
    }
  }

  function announce(message) {
    pageStatus.textContent = message;
  }

  function formatTime(seconds) {
    return timeFormat.format(new Date(seconds * 1000));
  }

  /**
   * A `<time>` element for unix seconds (the date, or with `withTime` the date and time; the
   * exact time in its tooltip), or a `<span>` with the text for "none".
   */
  function timeCell(seconds, none, withTime) {
    if (seconds === null || seconds === undefined) return element("span", "", none);
    const date = new Date(seconds * 1000);
    const time = document.createElement("time");
    time.dateTime = date.toISOString();
    time.title = timeFormat.format(date);
    if (withTime) {
      // Date and time may go on two lines, so that a narrow window keeps every column.
      time.className = "date-time";
      time.append(element("span", "", dateFormat.format(date)), " ",
        element("span", "", clockFormat.format(date)));
    } else {
      time.textContent = dateFormat.format(date);
    }
    return time;
  }

  function element(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  /** A key's rate limit as the table shows it: "600 / minute", or "None". */
  function rateLimitText(limit) {
    if (limit === null || limit === undefined) return t("rate_limit.none");
    const per = windowNames[limit.per_seconds] ||
      t("rate_limit.seconds", { seconds: countFormat.format(limit.per_seconds) });
    return t("rate_limit.value", { requests: countFormat.format(limit.requests), window: per });
  }

  function statusOf(key, now) {
    if (key.revoked_at !== null && key.revoked_at !== undefined) return [t("status.revoked"), "revoked"];
    if (key.expires_at !== null && key.expires_at !== undefined && key.expires_at <= now) {
      return [t("status.expired"), "expired"];
    }
    return [t("status.active"), "active"];
  }

  function cell(label, ...children) {
    const td = document.createElement("td");
    td.setAttribute("role", "cell");
    td.dataset.label = label;
    td.append(...children);
    return td;
  }

  /** A key's permission: its badge, and for a restricted key the list of its scopes under it. */
  function permissionOf(key) {
    const badge = element("span", "badge " + (permissionBadges[key.permission] || "read"),
      permissionNames[key.permission] || String(key.permission));
    if (key.permission !== "restricted" || !Array.isArray(key.scopes)) return badge;
    const scopes = element("ul", "scope-list");
    scopes.setAttribute("aria-label", t("table.scopes"));
    for (const scope of key.scopes) {
      const item = element("li", "");
      item.append(element("code", "", String(scope)));
      scopes.append(item);
    }
    // One element per cell, as the phone layout wants.
    const permission = element("div", "permission");
    permission.append(badge, scopes);
    return permission;
  }

  function renderRow(key, now) {
    const row = document.createElement("tr");
    row.setAttribute("role", "row");
    const nameId = "key-name-" + key.id;

    const name = element("span", "key-name", key.name);
    name.id = nameId;
    row.append(cell(t("column.name"), name));

    row.append(cell(t("column.permission"), permissionOf(key)));
    row.append(cell(t("column.key"), element("code", "display", key.display)));
    row.append(cell(t("column.created"), timeCell(key.created_at, t("time.unknown"), false)));
    row.append(cell(t("column.last_used"), timeCell(key.last_used_at, t("time.never"), true)));
    row.append(cell(t("column.expires"), timeCell(key.expires_at, t("time.never"), false)));
    row.append(cell(t("column.rate_limit"),
      element("span", "rate-limit", rateLimitText(key.rate_limit))));

    // One element per cell: on phones each cell is a label and one value.
    const [statusText, statusClass] = statusOf(key, now);
    row.className = statusClass;
    const status = element("div", "");
    status.append(element("span", "status-" + statusClass, statusText));
    const graceUntil = key.previous_secret_valid_until;
    if (statusClass === "active" && graceUntil !== null && graceUntil !== undefined && graceUntil > now) {
      status.append(element("span", "note", t("status.grace", { time: formatTime(graceUntil) })));
    }
    row.append(cell(t("column.status"), status));

    const actions = cell(t("column.actions"));
    actions.classList.add("row-actions");
    if (statusClass !== "revoked") {
      const regenerate = element("button", "button small", t("row.regenerate"));
      regenerate.type = "button";
      regenerate.dataset.action = "regenerate";
      regenerate.dataset.key = key.id;
      regenerate.setAttribute("aria-describedby", nameId);
      regenerate.addEventListener("click", () => openRegenerate(key));
      const revoke = element("button", "button small danger-outline", t("row.revoke"));
      revoke.type = "button";
      revoke.dataset.action = "revoke";
      revoke.dataset.key = key.id;
      revoke.setAttribute("aria-describedby", nameId);
      revoke.addEventListener("click", () => openRevoke(key));
      actions.append(regenerate, revoke);
    }
    row.append(actions);
    return row;
  }

  /** Reads every page of keys, then shows them. Keeps the table as it was if that fails. */
  async function loadKeys() {
    const keys = [];
    let cursor = null;
    try {
      // The crate caps the keys of an organization; the bound only guards against a loop.
      for (let page = 0; page < 1000; page += 1) {
        const query = new URLSearchParams({ limit: "100" });
        if (cursor) query.set("cursor", cursor);
        const result = await api("GET", "?" + query.toString());
        if (!Array.isArray(result.data)) {
          throw new ApiError(200, "invalid_response", t("error.malformed_list"));
        }
        keys.push(...result.data);
        cursor = result.next_cursor;
        if (!cursor) break;
      }
    } catch (error) {
      showAlert(pageAlert, error);
      if (tableState.dataset.loaded !== "true") tableState.textContent = t("table.failed");
      return;
    }
    clearAlert(pageAlert);
    const now = Date.now() / 1000;
    tableBody.replaceChildren(...keys.map((key) => renderRow(key, now)));
    tableState.dataset.loaded = "true";
    tableState.textContent = keys.length === 0 ? t("table.empty") : "";
    tableState.hidden = keys.length !== 0;
  }

  /**
   * One dialog: a form that calls the API, then (for keys shown once) the key with Copy and Done.
   * `submit` returns the API's answer; `prepare`, if given, sets the form up each time it opens,
   * after its fields are reset (to show or hide what depends on them).
   */
  function setUpDialog(dialog, submit, prepare) {
    const form = dialog.querySelector(".js-form");
    const alert = dialog.querySelector(".js-alert");
    const reveal = dialog.querySelector(".js-reveal");
    const keyField = dialog.querySelector(".js-key");
    const copied = dialog.querySelector(".js-copied");
    const submitButton = form.querySelector('button[type="submit"]');
    let changed = false;
    // What had the focus when the dialog opened: it gets it back when the dialog closes.
    let opener = null;

    function close() {
      dialog.close();
    }

    // Escape closes the dialog (the browser's own `cancel`), like Cancel and Done.
    dialog.addEventListener("close", async () => {
      // The key is shown once: gone from the page when its dialog closes.
      if (keyField) keyField.value = "";
      if (changed) {
        changed = false;
        await loadKeys();
      }
      restoreFocus(opener);
    });
    dialog.querySelector(".js-cancel").addEventListener("click", close);

    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      clearAlert(alert);
      clearFieldErrors(form);
      submitButton.disabled = true;
      let result;
      try {
        result = await submit(form);
      } catch (error) {
        const name = error instanceof ApiError && error.field ? String(error.field) : null;
        // A field with a place of its own for errors (the table of resources) shows them there.
        const own = name ? form.querySelector(`[data-error-for="${CSS.escape(name)}"]`) : null;
        showAlert(own || alert, error);
        markInvalid(name ? form.elements[name] : null);
        return;
      } finally {
        submitButton.disabled = false;
      }
      changed = true;
      if (reveal && result && typeof result.key === "string") {
        form.hidden = true;
        reveal.hidden = false;
        keyField.value = result.key;
        copied.textContent = "";
        reveal.querySelector(".js-copy").focus();
      } else {
        close();
      }
    });

    if (reveal) {
      reveal.querySelector(".js-copy").addEventListener("click", async () => {
        try {
          await navigator.clipboard.writeText(keyField.value);
          copied.textContent = t("reveal.copied");
        } catch {
          // No clipboard access (an insecure origin, or permission refused): select the key so
          // that the usual shortcut copies it.
          keyField.focus();
          keyField.select();
          let done = false;
          try {
            done = document.execCommand("copy");
          } catch {
            done = false;
          }
          copied.textContent = done
            ? t("reveal.copied")
            : t("reveal.selected");
        }
      });
      reveal.querySelector(".js-done").addEventListener("click", close);
    }

    /** Shows the dialog at its form, fresh. */
    return function open() {
      form.reset();
      form.hidden = false;
      clearAlert(alert);
      clearFieldErrors(form);
      if (prepare) prepare(form);
      if (reveal) {
        reveal.hidden = true;
        keyField.value = "";
        copied.textContent = "";
      }
      opener = document.activeElement;
      dialog.showModal();
      const first = form.querySelector("input, select");
      // A question without fields (revoke) starts on Cancel, the safe choice.
      (first || form.querySelector(".js-cancel")).focus();
    };
  }

  /**
   * Puts the focus back where it was before a dialog: on the same element, or, when the table
   * was drawn again, on the same button of the same key; on "Create API key" when that key has
   * no such button any more (revoked).
   */
  function restoreFocus(opener) {
    let target = opener && opener.isConnected ? opener : null;
    if (!target && opener && opener.dataset && opener.dataset.key) {
      const selector = `button[data-action="${opener.dataset.action}"][data-key="${CSS.escape(opener.dataset.key)}"]`;
      target = tableBody.querySelector(selector);
    }
    (target || document.getElementById("create-open")).focus();
  }

  /** The rate limit the Create form asks for, or null when Requests is empty. */
  function rateLimitOf(form) {
    const requests = form.elements.rate_limit;
    // A number field that holds something other than a number reads as empty: not "no limit".
    if (requests.value.trim() === "" && !requests.validity.badInput) return null;
    const count = Number(requests.value);
    if (!Number.isInteger(count) || count < 1 || count > 1000000) {
      throw new ApiError(400, "invalid_request", t("create.rate_limit_invalid"), "rate_limit");
    }
    return { requests: count, per_seconds: Number(form.elements.rate_limit_per.value) };
  }

  /**
   * The scopes the table of resources asks for, in the order the host declared them: Read is
   * `RESOURCE:read`, Write `RESOURCE:write`, None nothing. Refuses a table left all at None.
   */
  function scopesOf(form) {
    const scopes = [];
    for (const resource of pageData.resources || []) {
      const choice = form.elements["scope:" + resource];
      const level = choice ? choice.value : "none";
      if (level === "read" || level === "write") scopes.push(`${resource}:${level}`);
    }
    if (scopes.length === 0) {
      throw new ApiError(400, "invalid_request", t("create.scopes_missing"), "scopes");
    }
    return scopes;
  }

  /** Shows the table of resources while Restricted is chosen (the page has none without resources). */
  function showScopes(form) {
    const table = form.elements.scopes;
    if (!(table instanceof HTMLFieldSetElement)) return;
    const restricted = form.elements.permission.value === "restricted";
    // An error about the table goes with it.
    if (!restricted) clearFieldErrors(table);
    table.hidden = !restricted;
  }

  const createForm = document.querySelector("#create-dialog .js-form");
  createForm.addEventListener("change", (event) => {
    if (event.target.name === "permission") showScopes(createForm);
  });

  const openCreate = setUpDialog(document.getElementById("create-dialog"), async (form) => {
    const name = form.elements.name.value.trim();
    if (name === "") {
      throw new ApiError(400, "invalid_request", t("create.name_missing"), "name");
    }
    const expiresIn = form.elements.expires.value;
    const body = { name, permission: form.elements.permission.value };
    if (body.permission === "restricted") body.scopes = scopesOf(form);
    if (expiresIn !== "") body.expires_at = Math.floor(Date.now() / 1000) + Number(expiresIn);
    const rateLimit = rateLimitOf(form);
    if (rateLimit !== null) body.rate_limit = rateLimit;
    const created = await api("POST", "", body);
    announce(t("create.done", { name: created.name }));
    return created;
  }, showScopes);
  document.getElementById("create-open").addEventListener("click", openCreate);

  // The key the regenerate or revoke dialog acts on.
  let target = null;

  /** Fills the dialog's question (`{name}` in bold, `{display}` as code) for `key`. */
  function fillTarget(dialog, key, textKey) {
    target = key;
    const question = dialog.querySelector(".js-question");
    const parts = { name: element("strong", "js-name", key.name), display: element("code", "js-display", key.display) };
    const nodes = t(textKey).split(/(\{name\}|\{display\})/).map((piece) => {
      const part = piece.match(/^\{(name|display)\}$/);
      return part ? parts[part[1]] : piece;
    });
    question.replaceChildren(...nodes);
  }

  const regenerateDialog = document.getElementById("regenerate-dialog");
  const openRegenerateDialog = setUpDialog(regenerateDialog, async (form) => {
    const grace = Number(form.elements.grace.value);
    const created = await api("POST", "/" + encodeURIComponent(target.id) + "/regenerate",
      { grace_period_seconds: grace });
    announce(t("regenerate.done", { name: created.name }));
    return created;
  });
  function openRegenerate(key) {
    fillTarget(regenerateDialog, key, "regenerate.question");
    openRegenerateDialog();
  }

  const revokeDialog = document.getElementById("revoke-dialog");
  const openRevokeDialog = setUpDialog(revokeDialog, async () => {
    const revoked = await api("DELETE", "/" + encodeURIComponent(target.id));
    announce(t("revoke.done", { name: revoked.name }));
    return revoked;
  });
  function openRevoke(key) {
    fillTarget(revokeDialog, key, "revoke.question");
    openRevokeDialog();
  }

  loadKeys();
})();
