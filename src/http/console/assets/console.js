// Ferry's web console: hash-routed pages over the API under /api/v1, plain DOM, no build step.
//
// Rules this file keeps:
// - Every value that reaches HTML goes through esc() (text and attributes alike); helpers that
//   return text never return HTML.
// - A table is built as one string and set once (a project may sync thousands of tables); a
//   filter box redraws from the data already fetched, never fetching per row.
// - A page's refresh loop ends when the route changes (`gen`); an answer for an older page is
//   dropped.
// - An endpoint this node does not have (404 "no such API path", 405, 501) makes its panel say
//   "not available" instead of breaking the page.
"use strict";

(function () {
  const API = "/api/v1";
  const TOKEN_KEY = "ferry.token";
  const RETURN_KEY = "ferry.return";
  const ENDED_KEY = "ferry.ended";
  const LATENCY_WARN_MS = 10000;
  const LATENCY_BAD_MS = 60000;
  const REFRESH_MS = 2000;
  const OBJECTS_REFRESH_MS = 5000;
  const METRICS_REFRESH_MS = 10000;
  const HOUR_MS = 3600 * 1000;

  // The legal actions of each state (src/meta/state.rs `next_state`), and delete (only a
  // created or released project may be deleted).
  const ACTIONS = {
    created: ["start", "delete"],
    running: ["pause", "stop"],
    paused: ["resume", "stop", "release"],
    failed: ["resume", "stop", "release"],
    stopped: ["release"],
    released: ["delete"],
  };
  // A connector may be reset while its project runs, is paused or failed (its store keeps the
  // changes until the project is released).
  const RESETTABLE = ["running", "paused", "failed"];
  const CONFIRM = {
    stop: "Stop the project? Its store and connectors stop; only release or delete follow.",
    release: "Release the project? Its store's retained changes are dropped.",
    delete: "Delete the project? This cannot be undone.",
  };

  // --- helpers ----------------------------------------------------------------------------

  const ESCAPES = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };
  function esc(v) {
    if (v === null || v === undefined) return "";
    return String(v).replace(/[&<>"']/g, (c) => ESCAPES[c]);
  }
  const $ = (sel, root) => (root || document).querySelector(sel);
  const $$ = (sel, root) => Array.from((root || document).querySelectorAll(sel));
  const nf = new Intl.NumberFormat("en-US");
  const DASH = "—";

  function num(v) {
    return v === null || v === undefined ? DASH : nf.format(v);
  }
  function perSecond(v) {
    return v === null || v === undefined ? DASH : nf.format(Math.round(v)) + "/s";
  }
  function bytes(v) {
    if (v === null || v === undefined) return DASH;
    const units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let i = 0;
    while (v >= 1024 && i < units.length - 1) {
      v /= 1024;
      i++;
    }
    return (i ? v.toFixed(1) : String(v)) + " " + units[i];
  }
  function duration(ms) {
    if (ms === null || ms === undefined) return DASH;
    if (ms < 1000) return Math.round(ms) + " ms";
    const s = ms / 1000;
    if (s < 60) return s.toFixed(1) + " s";
    const m = Math.floor(s / 60);
    if (m < 60) return m + " min " + Math.floor(s % 60) + " s";
    const h = Math.floor(m / 60);
    if (h < 48) return h + " h " + (m % 60) + " min";
    return Math.floor(h / 24) + " d " + (h % 24) + " h";
  }
  // A local date and time, "2026-12-06 23:17:05".
  function timeMs(ms) {
    if (!ms) return DASH;
    const d = new Date(ms);
    const p = (n) => String(n).padStart(2, "0");
    return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
  }
  function timeS(s) {
    return s ? timeMs(s * 1000) : DASH;
  }
  function ago(ms) {
    return ms ? duration(Math.max(0, Date.now() - ms)) + " ago" : "";
  }
  function position(p) {
    if (!p) return DASH;
    return `${p.file}:${p.pos}` + (p.gtid ? ` (GTID ${p.gtid})` : "");
  }
  function latencyClass(ms) {
    if (ms === null || ms === undefined) return "";
    if (ms >= LATENCY_BAD_MS) return "lat-bad";
    if (ms >= LATENCY_WARN_MS) return "lat-warn";
    return "";
  }
  function badge(state) {
    return state ? `<span class="badge ${esc(state)}">${esc(state)}</span>` : DASH;
  }
  // One <dt>/<dd> pair of a definition list; `text` is escaped, `field` names it for tests.
  function kv(label, text, field) {
    const attr = field ? ` data-field="${esc(field)}"` : "";
    return `<dt>${esc(label)}</dt><dd${attr}>${esc(text === null || text === undefined || text === "" ? DASH : text)}</dd>`;
  }
  // The same with HTML the caller built (escaped) itself.
  function kvHtml(label, html, field) {
    const attr = field ? ` data-field="${esc(field)}"` : "";
    return `<dt>${esc(label)}</dt><dd${attr}>${html}</dd>`;
  }
  function msg(kind, text) {
    return `<div class="msg ${esc(kind)}">${esc(text)}</div>`;
  }
  function path(...parts) {
    return parts.map(encodeURIComponent).join("/");
  }
  function splitList(text) {
    return text.split(/[\s,]+/).filter(Boolean);
  }
  // Unix seconds from "1764000000" or a local "YYYY-MM-DD HH:MM[:SS]"; null if neither.
  function parseTime(text) {
    const t = text.trim();
    if (/^\d+$/.test(t)) return Number(t);
    const ms = Date.parse(t.replace(" ", "T"));
    return Number.isNaN(ms) ? null : Math.floor(ms / 1000);
  }

  // --- the API ----------------------------------------------------------------------------

  function token() {
    return sessionStorage.getItem(TOKEN_KEY) || "";
  }

  // Calls the API: {status, ok, body, message}. `message` is the API's own error text with
  // the status. A 401 on any page but the login ends the session.
  async function api(method, apiPath, body, opts) {
    const headers = { Authorization: "Bearer " + token() };
    const init = { method, headers, cache: "no-store" };
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    let resp;
    try {
      resp = await fetch(API + apiPath, init);
    } catch (e) {
      return { status: 0, ok: false, body: null, message: "the node did not answer: " + e.message };
    }
    const text = await resp.text();
    let data = null;
    try {
      data = text ? JSON.parse(text) : null;
    } catch (_) {
      data = null;
    }
    let message = "";
    if (!resp.ok) {
      const said = data && typeof data.message === "string" ? data.message : text || resp.statusText;
      const code = data && data.code ? ", " + data.code : "";
      message = `${said} (HTTP ${resp.status}${code})`;
    }
    const result = { status: resp.status, ok: resp.ok, body: data, message };
    if (resp.status === 401 && !(opts && opts.login)) endSession(message);
    return result;
  }

  // True when the node has no such endpoint (an older node, or one still being built).
  function missing(r) {
    if (r.status === 405 || r.status === 501) return true;
    return r.status === 404 && (!r.body || r.body.message === "no such API path");
  }
  function notAvailable(what, r) {
    return msg("na", `${what}: not available on this node (HTTP ${r.status}).`);
  }

  function endSession(message) {
    sessionStorage.removeItem(TOKEN_KEY);
    sessionStorage.setItem(ENDED_KEY, message);
    if (!location.hash.startsWith("#/login")) location.hash = "#/login";
  }

  // --- routing ----------------------------------------------------------------------------

  let gen = 0;
  let timers = [];

  // Runs `fn` now and every `ms` while this page is shown; never two at once, not while the
  // tab is hidden.
  function every(ms, fn) {
    const mine = gen;
    let busy = false;
    let first = true;
    const tick = async () => {
      if (busy || mine !== gen || (document.hidden && !first)) return;
      busy = true;
      first = false;
      try {
        await fn();
      } finally {
        busy = false;
      }
    };
    timers.push(setInterval(tick, ms));
    tick();
  }
  const current = (mine) => mine === gen;

  function show(html) {
    $("#view").innerHTML = html;
  }
  function flash(text, kind) {
    const el = $("#flash");
    el.className = kind || "ok";
    el.textContent = text;
    el.hidden = !text;
  }
  let flashNext = null;

  function route() {
    gen++;
    timers.forEach(clearInterval);
    timers = [];
    flash("");
    if (flashNext) {
      flash(flashNext.text, flashNext.kind);
      flashNext = null;
    }
    let parts;
    try {
      parts = location.hash.replace(/^#\/?/, "").split("/").filter(Boolean).map(decodeURIComponent);
    } catch (_) {
      parts = ["?"];
    }
    const page = parts[0] || "projects";
    if (!token() && page !== "login") {
      if (location.hash && location.hash !== "#/login") sessionStorage.setItem(RETURN_KEY, location.hash);
      location.hash = "#/login";
      return;
    }
    $("#nav").hidden = !token() || page === "login";
    const navKey = page === "projects" && parts.length > 1 ? "" : page;
    $$("#nav a").forEach((a) => a.classList.toggle("active", a.dataset.nav === navKey));
    if (page === "login") return loginPage();
    if (page === "projects" && parts.length === 1) return projectsPage();
    if (page === "projects" && parts.length === 2) return projectPage(parts[1]);
    if (page === "create-project") return createPage();
    if (page === "datasources") return dataSourcesPage();
    if (page === "cluster") return clusterPage();
    show(`<h1>Not found</h1><p>No page ${esc(location.hash)}. <a href="#/projects">Projects</a></p>`);
  }

  // --- log in -----------------------------------------------------------------------------

  function loginPage() {
    const ended = sessionStorage.getItem(ENDED_KEY);
    sessionStorage.removeItem(ENDED_KEY);
    document.title = "Log in · Ferry";
    show(`<h1>Log in</h1>
      <form id="login-form" class="grid" autocomplete="off">
        <label for="login-token">Admin token</label>
        <input id="login-token" type="password" required autofocus>
        <div class="full"><button class="primary" id="login-submit" type="submit">Log in</button></div>
      </form>
      <div id="login-error" class="msg error"${ended ? "" : " hidden"}>${esc(ended ? "Logged out: " + ended : "")}</div>
      <p class="muted small">The node's <code>--admin-token</code> (or <code>&lt;data-dir&gt;/admin.token</code>); a
      viewer token only reads. It stays in this tab (sessionStorage) and goes to the API as a bearer token.</p>`);
    $("#login-form").addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const given = $("#login-token").value.trim();
      const error = $("#login-error");
      const button = $("#login-submit");
      button.disabled = true;
      sessionStorage.setItem(TOKEN_KEY, given);
      const r = await api("GET", "/cluster", undefined, { login: true });
      button.disabled = false;
      if (r.ok) {
        const back = sessionStorage.getItem(RETURN_KEY);
        sessionStorage.removeItem(RETURN_KEY);
        location.hash = back || "#/projects";
        return;
      }
      sessionStorage.removeItem(TOKEN_KEY);
      error.textContent = r.message;
      error.hidden = false;
    });
  }

  // --- projects ---------------------------------------------------------------------------

  function projectsPage() {
    const mine = gen;
    document.title = "Projects · Ferry";
    show(`<h1>Projects <a class="small" href="#/create-project">+ New project</a></h1>
      <div class="toolbar">
        <input type="search" id="projects-filter" placeholder="Filter: name, state, source, destination">
        <span id="projects-count" class="muted"></span>
      </div>
      <div id="projects-error"></div>
      <div class="table-wrap"><table id="projects">
        <thead><tr><th>Name</th><th>State</th><th class="num">Node</th><th>Source → destination</th>
        <th>Sync timestamp</th><th class="num">Latency</th><th class="num">Rows</th><th class="num">Bytes</th></tr></thead>
        <tbody></tbody></table></div>
      <p class="muted small">A running project's row turns amber when its latency passes ${LATENCY_WARN_MS / 1000} s,
      red past ${LATENCY_BAD_MS / 1000} s.</p>`);
    let projects = null;
    const filter = $("#projects-filter");
    const draw = () => {
      if (!projects) return;
      const words = filter.value.toLowerCase().split(/\s+/).filter(Boolean);
      const shown = projects.filter((p) => {
        const hay = `${p.name} ${p.state} ${p.source} ${p.destination}`.toLowerCase();
        return words.every((w) => hay.includes(w));
      });
      let html = "";
      for (const p of shown) {
        const cls = p.state === "running" ? latencyClass(p.latency_ms) : "";
        html += `<tr class="${cls}" data-project="${esc(p.name)}">
          <td><a href="#/projects/${esc(path(p.name))}">${esc(p.name)}</a></td>
          <td>${badge(p.state)}</td><td class="num">${esc(p.node ?? DASH)}</td>
          <td>${esc(p.source)} → ${esc(p.destination)}</td>
          <td>${esc(timeS(p.sync_timestamp))}</td><td class="num">${esc(duration(p.latency_ms))}</td>
          <td class="num">${esc(num(p.rows))}</td><td class="num">${esc(bytes(p.bytes))}</td></tr>`;
      }
      if (!projects.length) html = `<tr><td colspan="8" class="muted">No projects yet. <a href="#/create-project">Create one</a>.</td></tr>`;
      $("#projects tbody").innerHTML = html;
      $("#projects-count").textContent = `${shown.length} of ${projects.length}`;
    };
    filter.addEventListener("input", draw);
    every(REFRESH_MS, async () => {
      const r = await api("GET", "/projects");
      if (!current(mine)) return;
      $("#projects-error").innerHTML = r.ok ? "" : msg("error", r.message);
      if (r.ok) {
        projects = r.body;
        draw();
      }
    });
  }

  // --- one project ------------------------------------------------------------------------

  function projectPage(name) {
    const mine = gen;
    const base = "/projects/" + path(name);
    document.title = name + " · Ferry";
    show(`<h1><a href="#/projects">Projects</a> / <span id="project-name">${esc(name)}</span>
        <span id="project-state"></span></h1>
      <div id="project-actions" class="actions"></div>
      <div id="project-action-msg"></div>
      <div id="project-load-error"></div>
      <div id="project-error"></div>
      <div class="card"><dl class="kv wide" id="project-summary"></dl></div>
      <h2>Store and connectors</h2>
      <div id="project-components" class="cards"></div>
      <div id="project-reset"></div>
      <h2>Objects</h2>
      <div class="toolbar">
        <input type="search" id="objects-filter" placeholder="Filter: database.table or topic">
        <span id="objects-count" class="muted"></span>
      </div>
      <div id="objects-note"></div>
      <div class="table-wrap"><table id="objects"></table></div>`);

    let project = null;
    let metrics = null; // the last metrics answer, or {missing: r} / {error: r}
    let objects = null; // {rows, missing} once fetched
    let actionsKey = null;
    let resetKey = null;

    const draw = () => {
      if (!project) return;
      const p = project;
      $("#project-state").innerHTML = badge(p.state);
      const key = p.state;
      if (key !== actionsKey) {
        actionsKey = key;
        const legal = ACTIONS[p.state] || [];
        $("#project-actions").innerHTML = legal
          .map((a) => {
            const cls = a === "delete" || a === "stop" || a === "release" ? "danger" : "primary";
            return `<button type="button" class="${cls}" data-action="${esc(a)}">${esc(a[0].toUpperCase() + a.slice(1))}</button>`;
          })
          .join("");
      }
      $("#project-error").innerHTML =
        (p.error ? `<h2>Error</h2><pre class="error" id="project-failure">${esc(p.error)}</pre>` : "") +
        (p.last_error ? msg("error", "Last transient error (being retried): " + p.last_error) : "");
      drawSummary(p);
      drawComponents(p);
      const rk = p.state + "|" + p.connectors.map((c) => c.id).join(",");
      if (rk !== resetKey) {
        resetKey = rk;
        drawReset(p);
      }
      if (objects && objects.missing) drawObjects();
    };

    const drawSummary = (p) => {
      const rules = (p.objects || [])
        .map((o) => {
          let s = o.database + "." + (o.tables && o.tables.length ? o.tables.join(",") : "*");
          if (o.exclude && o.exclude.length) s += " except " + o.exclude.join(",");
          return s + " → " + o.topic;
        })
        .join("; ");
      let start = DASH;
      if (p.start) {
        if (p.start.from) start = p.start.from;
        else if (p.start.file) start = `${p.start.file}:${p.start.pos}`;
        else if (p.start.gtid) start = "GTID " + p.start.gtid;
        else if (p.start.timestamp) start = timeS(p.start.timestamp);
      }
      const latency = `<span class="${latencyClass(p.latency_ms)}">${esc(duration(p.latency_ms))}</span>`;
      $("#project-summary").innerHTML =
        kv("Node", p.node, "node") +
        kv("Epoch", p.epoch, "epoch") +
        kv("Source → destination", `${p.source} → ${p.destination}`) +
        kv("Format / partition", `${p.format} / ${p.partition}`) +
        kv("Objects", rules) +
        kv("Start", start) +
        kv("Sync timestamp", p.sync_timestamp ? `${timeS(p.sync_timestamp)} (${ago(p.sync_timestamp * 1000)})` : DASH, "sync_timestamp") +
        kvHtml("Latency", latency, "latency") +
        kv("Checkpoint", position(p.position), "position") +
        kv("Store position", position(p.store_position), "store_position") +
        kv("Source's end", position(p.source_position), "source_position") +
        kv("Behind", p.behind_bytes === null || p.behind_bytes === undefined ? DASH : bytes(p.behind_bytes)) +
        kv("Rows delivered", num(p.rows), "rows") +
        kv("Bytes delivered", bytes(p.bytes), "bytes") +
        kv("Rows read (this run)", num(p.rows_read), "rows_read") +
        kv("Created / updated", `${timeMs(p.created_at_ms)} / ${timeMs(p.updated_at_ms)}`);
    };

    // One figure of connector `id` at a metrics point (null when it did not run then).
    const connectorPoint = (pt, id, field) => {
      const c = pt.connectors && pt.connectors[id];
      return c && c[field] !== undefined ? c[field] : null;
    };
    // A chart's series from the metrics answer: [[at_ms, value|null], ...].
    const series = (pick) => (metrics && metrics.points ? metrics.points.map((pt) => [pt.at_ms, pick(pt)]) : []);
    const chartsHtml = (specs) => {
      if (!metrics) return `<div class="charts"><div class="muted small">Loading the last hour…</div></div>`;
      if (metrics.missing) return notAvailable("Charts of the last hour", metrics.missing);
      if (metrics.error) return msg("error", "Charts: " + metrics.error.message);
      return `<div class="charts">${specs.map((s) => chart(s[0], series(s[1]), s[2])).join("")}</div>`;
    };

    const drawComponents = (p) => {
      const comps = p.components || [];
      const store = comps.find((c) => c.kind === "store") || {};
      const st = p.store_status;
      let html = `<div class="card" data-component="store"><h3>Store</h3><dl class="kv">` +
        kv("Node", store.node ?? p.node, "node") +
        kvHtml("State", badge(store.state), "state") +
        kvHtml("Pulling", st ? badge(st.state) + (st.paused_reason ? " " + esc(st.paused_reason) : "") : esc(DASH), "pulling") +
        kv("Position", position(p.store_position), "position") +
        kv("Source time", timeS(p.store_timestamp), "timestamp") +
        kv("Delay", duration(p.store_delay_ms), "delay") +
        kv("Rows read", num(p.rows_read), "rows_read") +
        kv("Pull rate", st ? `${perSecond(st.rows_per_s)} rows, ${bytes(st.bytes_per_s)}/s` : DASH, "rate");
      if (st && st.retained) {
        const r = st.retained;
        html += kv("Retained", `${timeS(r.oldest_timestamp)} … ${timeS(r.newest_timestamp)} (${bytes(r.bytes)})`, "retained");
      }
      if (st && st.stopped_tables && Object.keys(st.stopped_tables).length) {
        const items = Object.entries(st.stopped_tables).map(([t, why]) => `<div><b>${esc(t)}</b>: ${esc(why)}</div>`);
        html += kvHtml("Stopped tables", items.join(""), "stopped_tables");
      }
      if (st && st.xa_prepared) html += kv("XA prepared", JSON.stringify(st.xa_prepared), "xa_prepared");
      const fs = p.full_sync;
      if (fs) {
        const eta = fs.state === "copying" && fs.eta_s !== null ? `, ${duration(fs.eta_s * 1000)} left` : "";
        html += kv("Full sync", `${fs.state}: ${num(fs.copied_rows)} of ~${num(fs.estimated_rows)} rows, ` +
          `${fs.tables_done}/${fs.tables.length} tables, ${num(fs.rows_per_s)} rows/s${eta}`, "full_sync");
      }
      html += `</dl>` +
        chartsHtml([
          ["Rows/s pulled", (pt) => pt.store_rows_per_s, perSecond],
          ["Bytes/s pulled", (pt) => pt.store_bytes_per_s, (v) => bytes(v) + "/s"],
        ]) + `</div>`;
      for (const c of p.connectors || []) {
        const comp = comps.find((x) => x.kind === "connector" && x.id === `${p.name}/connector/${c.id}`) || {};
        const live = c.live;
        let liveHtml;
        if (live === undefined) liveHtml = kvHtml("Live figures", msg("na", "not available on this node"), "live");
        else if (live === null) liveHtml = kv("Live figures", "none (not running)", "live");
        else {
          liveHtml =
            kv("Rate", `${perSecond(live.rows_per_s)} rows, ${bytes(live.bytes_per_s)}/s`, "rate") +
            kv("Latency p50 / p95 / p99", `${duration(live.latency_p50_ms)} / ${duration(live.latency_p95_ms)} / ${duration(live.latency_p99_ms)}`, "percentiles") +
            kv("Retries", num(live.retries), "retries") +
            (live.last_error ? kvHtml("Last error", `<span class="finding-bad">${esc(live.last_error)}</span>`, "last_error") : "");
        }
        const node = live && live.node !== undefined && live.node !== null ? live.node : comp.node;
        html += `<div class="card" data-connector="${esc(c.id)}"><h3>Connector ${esc(c.id)}</h3><dl class="kv">` +
          kv("Node", node, "node") +
          kvHtml("State", badge(comp.state), "state") +
          kv("Destination", `${c.destination} (${c.format}, ${c.partition})`, "destination") +
          (c.topic ? kv("Topic", c.topic, "topic") : "") +
          kv("Checkpoint", position(c.position), "position") +
          kv("Sync timestamp", timeS(c.sync_timestamp), "sync_timestamp") +
          kvHtml("Latency", `<span class="${latencyClass(c.latency_ms)}">${esc(duration(c.latency_ms))}</span>`, "latency") +
          kv("Rows", num(c.rows), "rows") +
          kv("Bytes", bytes(c.bytes), "bytes") +
          liveHtml +
          `</dl>` +
          chartsHtml([
            ["Latency", (pt) => connectorPoint(pt, c.id, "latency_ms") ?? connectorPoint(pt, c.id, "latency_p99_ms"), duration],
            ["Rows/s delivered", (pt) => connectorPoint(pt, c.id, "rows_per_s"), perSecond],
            ["Bytes/s delivered", (pt) => connectorPoint(pt, c.id, "bytes_per_s"), (v) => bytes(v) + "/s"],
          ]) + `</div>`;
      }
      $("#project-components").innerHTML = html;
    };

    const drawReset = (p) => {
      const el = $("#project-reset");
      if (!RESETTABLE.includes(p.state) || !p.connectors.length) {
        el.innerHTML = "";
        return;
      }
      const options = p.connectors.map((c) => `<option value="${esc(c.id)}">${esc(c.id)}</option>`).join("");
      el.innerHTML = `<h2>Reset a connector</h2>
        <form id="reset-form" class="toolbar">
          <label for="reset-connector">Connector</label><select id="reset-connector">${options}</select>
          <label for="reset-time">resend from</label>
          <input id="reset-time" placeholder="YYYY-MM-DD HH:MM:SS or unix seconds" required>
          <button type="submit">Reset</button>
        </form>
        <div id="reset-msg"></div>
        <p class="muted small">Resends every transaction committed at or after that time, from what the store retains.</p>`;
      $("#reset-form").addEventListener("submit", async (ev) => {
        ev.preventDefault();
        const out = $("#reset-msg");
        const ts = parseTime($("#reset-time").value);
        if (ts === null) {
          out.innerHTML = msg("error", "Give a time as YYYY-MM-DD HH:MM:SS (local) or unix seconds.");
          return;
        }
        const id = $("#reset-connector").value;
        if (!confirm(`Reset connector ${id} to ${timeS(ts)}? Everything committed since is sent again.`)) return;
        const r = await api("POST", `${base}/connectors/${path(id)}/reset`, { timestamp: ts });
        if (!current(mine)) return;
        out.innerHTML = r.ok
          ? msg("ok", `Connector ${id} continues after ${position(r.body.position)} (committed ${timeS(r.body.commit_timestamp)}), epoch ${r.body.epoch}.`)
          : msg("error", r.message);
      });
    };

    const drawObjects = () => {
      if (!objects) return;
      const words = $("#objects-filter").value.toLowerCase().split(/\s+/).filter(Boolean);
      const rows = objects.missing ? (project ? project.tables || [] : []) : objects.rows;
      const shown = rows.filter((o) => {
        const hay = `${o.database}.${o.table} ${o.topic || ""}`.toLowerCase();
        return words.every((w) => hay.includes(w));
      });
      let html;
      if (objects.missing) {
        html = `<thead><tr><th>Database</th><th>Table</th><th>Topic</th><th class="num">Rows delivered</th></tr></thead><tbody>`;
        for (const o of shown) {
          html += `<tr data-table="${esc(o.database + "." + o.table)}"><td>${esc(o.database)}</td><td>${esc(o.table)}</td>
            <td>${esc(o.topic || DASH)}</td><td class="num" data-field="rows">${esc(num(o.rows))}</td></tr>`;
        }
      } else {
        html = `<thead><tr><th>Database</th><th>Table</th><th>Topic</th><th class="num">Rows delivered</th>
          <th class="num">Inserted</th><th class="num">Updated</th><th class="num">Deleted</th><th>Last change</th></tr></thead><tbody>`;
        for (const o of shown) {
          html += `<tr data-table="${esc(o.database + "." + o.table)}"><td>${esc(o.database)}</td><td>${esc(o.table)}</td>
            <td>${esc(o.topic || DASH)}</td><td class="num" data-field="rows">${esc(num(o.rows))}</td>
            <td class="num" data-field="inserted">${esc(num(o.inserted))}</td>
            <td class="num" data-field="updated">${esc(num(o.updated))}</td><td class="num" data-field="deleted">${esc(num(o.deleted))}</td>
            <td>${esc(o.last_change_ms ? timeMs(o.last_change_ms) + " (" + ago(o.last_change_ms) + ")" : DASH)}</td></tr>`;
        }
      }
      if (!rows.length) html += `<tr><td colspan="8" class="muted">No tables yet.</td></tr>`;
      $("#objects").innerHTML = html + "</tbody>";
      $("#objects-count").textContent = `${shown.length} of ${rows.length} tables`;
    };
    $("#objects-filter").addEventListener("input", drawObjects);

    $("#project-actions").addEventListener("click", async (ev) => {
      const button = ev.target.closest("button[data-action]");
      if (!button) return;
      const action = button.dataset.action;
      if (CONFIRM[action] && !confirm(CONFIRM[action])) return;
      $$("#project-actions button").forEach((b) => (b.disabled = true));
      const out = $("#project-action-msg");
      out.innerHTML = "";
      const r = action === "delete" ? await api("DELETE", base) : await api("POST", `${base}/${action}`, {});
      if (!current(mine)) return;
      $$("#project-actions button").forEach((b) => (b.disabled = false));
      if (!r.ok) {
        out.innerHTML = msg("error", r.message);
        return;
      }
      if (action === "delete") {
        flashNext = { text: `Deleted project ${name}.`, kind: "ok" };
        location.hash = "#/projects";
        return;
      }
      out.innerHTML = msg("ok", `${action}: the project is ${r.body.state} now.`);
      // The action's answer has no live figures: keep the last ones until the next refresh.
      project = Object.assign({}, project, { state: r.body.state, error: r.body.error, epoch: r.body.epoch, components: r.body.components });
      draw();
    });

    every(REFRESH_MS, async () => {
      const r = await api("GET", base);
      if (!current(mine)) return;
      $("#project-load-error").innerHTML = r.ok ? "" : msg("error", r.message);
      if (r.ok) {
        project = r.body;
        draw();
      }
    });
    every(OBJECTS_REFRESH_MS, async () => {
      const r = await api("GET", `${base}/objects`);
      if (!current(mine)) return;
      if (r.ok) {
        objects = { rows: (r.body && r.body.objects) || [] };
        $("#objects-note").innerHTML =
          r.body && r.body.source_listed === false
            ? msg("na", "The source did not answer: only the tables with delivered changes are listed.")
            : "";
      } else if (missing(r)) {
        objects = { missing: r };
        $("#objects-note").innerHTML = notAvailable("Per-table inserts, updates and deletes", r) +
          `<p class="muted small">Showing the rows delivered per table instead.</p>`;
      } else {
        $("#objects-note").innerHTML = msg("error", "Objects: " + r.message);
        return;
      }
      drawObjects();
    });
    every(METRICS_REFRESH_MS, async () => {
      const r = await api("GET", `${base}/metrics?since=${Date.now() - HOUR_MS}`);
      if (!current(mine)) return;
      metrics = r.ok ? r.body || { points: [] } : missing(r) ? { missing: r } : { error: r };
      if (project) drawComponents(project);
    });
  }

  // An inline SVG line chart of the last hour; a null value breaks the line.
  function chart(title, points, format) {
    const W = 300;
    const H = 60;
    const to = Date.now();
    const from = to - HOUR_MS;
    const values = points.filter((p) => p[1] !== null && p[1] !== undefined && p[0] >= from).map((p) => p[1]);
    const head = (right) => `<div class="title"><span>${esc(title)}</span><span>${esc(right)}</span></div>`;
    if (!values.length) {
      return `<div class="chart" data-chart="${esc(title)}">${head("")}<div class="none">no data in the last hour</div></div>`;
    }
    let max = 0;
    for (const v of values) if (v > max) max = v;
    const scale = max > 0 ? max : 1;
    const segments = [];
    let seg = [];
    for (const [at, v] of points) {
      if (at < from) continue;
      if (v === null || v === undefined) {
        if (seg.length) segments.push(seg);
        seg = [];
        continue;
      }
      const x = (((at - from) / HOUR_MS) * W).toFixed(1);
      const y = (H - 1 - (v / scale) * (H - 4)).toFixed(1);
      seg.push(`${x},${y}`);
    }
    if (seg.length) segments.push(seg);
    // A lone point still shows: a short flat stroke ending at it.
    const lines = segments
      .map((s) => (s.length === 1 ? [s[0].replace(/^[\d.]+/, (x) => Math.max(0, Number(x) - 3).toFixed(1)), s[0]] : s))
      .map((s) => `<polyline points="${esc(s.join(" "))}"></polyline>`)
      .join("");
    const last = values[values.length - 1];
    return `<div class="chart" data-chart="${esc(title)}">${head(`now ${format(last)} · max ${format(max)}`)}
      <svg viewBox="0 0 ${W} ${H}" preserveAspectRatio="none" role="img" aria-label="${esc(title)}, last hour">
      <line class="axis" x1="0" y1="${H - 0.5}" x2="${W}" y2="${H - 0.5}"></line>${lines}</svg></div>`;
  }

  // --- create a project -------------------------------------------------------------------

  function createPage() {
    const mine = gen;
    document.title = "New project · Ferry";
    show(`<h1>New project</h1>
      <div id="create-load-error"></div>
      <form id="create-form" class="grid" autocomplete="off">
        <label for="create-name">Name</label><input id="create-name" required placeholder="shop-sync">
        <label for="create-source">Source (MySQL/MariaDB)</label><select id="create-source" required></select>
        <label for="create-destination">Destination (Kafka)</label><select id="create-destination" required></select>
        <div class="full">
          <label>Databases and tables (globs: <code>shop_*</code>, <code>user_?</code>; no tables: every table)</label>
          <table class="rules" id="create-rules"><thead><tr><th>Database</th><th>Tables</th><th>Exclude</th>
            <th>Topic</th><th></th></tr></thead><tbody></tbody></table>
          <button type="button" id="create-add-rule">+ Rule</button>
        </div>
        <label for="create-format">Format</label>
        <select id="create-format"><option value="default">default (OMS)</option><option value="canal">canal</option>
          <option value="debezium">debezium</option></select>
        <label for="create-partition">Partition rule</label>
        <select id="create-partition"><option value="hash">hash (by primary key)</option>
          <option value="table">table</option><option value="one">one (partition 0)</option></select>
        <label for="create-sync">Sync</label>
        <select id="create-sync"><option value="incremental">changes only</option>
          <option value="full,incremental">existing rows, then changes</option></select>
        <label for="create-start">Start position</label>
        <select id="create-start"><option value="now">now</option><option value="filepos">binlog file and position</option>
          <option value="gtid">GTID</option><option value="timestamp">time</option></select>
        <label class="start-filepos" for="create-start-file">Binlog file</label>
        <input class="start-filepos" id="create-start-file" placeholder="bin.000003">
        <label class="start-filepos" for="create-start-pos">Position</label>
        <input class="start-filepos" id="create-start-pos" type="number" min="4" placeholder="4">
        <label class="start-gtid" for="create-start-gtid">GTID</label>
        <input class="start-gtid" id="create-start-gtid" placeholder="0-1-1234">
        <label class="start-timestamp" for="create-start-time">Time</label>
        <input class="start-timestamp" id="create-start-time" placeholder="YYYY-MM-DD HH:MM:SS or unix seconds">
        <label for="create-partitions">Topic partitions</label>
        <input id="create-partitions" type="number" min="1" max="10000" placeholder="4">
        <label for="create-and-start">Start after creating</label>
        <span><input type="checkbox" id="create-and-start" checked></span>
        <div class="full actions">
          <button type="button" id="create-preview">Preview tables</button>
          <button type="submit" class="primary" id="create-submit">Create project</button>
        </div>
      </form>
      <div id="create-error"></div>
      <div id="create-preview-out"></div>`);

    const ruleRow = (r) => `<tr>
      <td><input class="rule-database" value="${esc(r.database || "")}" placeholder="shop"></td>
      <td><input class="rule-tables" value="${esc(r.tables || "")}" placeholder="orders, user_*"></td>
      <td><input class="rule-exclude" value="${esc(r.exclude || "")}" placeholder="tmp_*"></td>
      <td><input class="rule-topic" value="${esc(r.topic || "")}" placeholder="{database}.{table}"></td>
      <td><button type="button" class="link rule-remove">remove</button></td></tr>`;
    const rules = $("#create-rules tbody");
    rules.innerHTML = ruleRow({});
    $("#create-add-rule").addEventListener("click", () => rules.insertAdjacentHTML("beforeend", ruleRow({})));
    rules.addEventListener("click", (ev) => {
      if (ev.target.classList.contains("rule-remove") && rules.rows.length > 1) ev.target.closest("tr").remove();
    });
    const startKind = $("#create-start");
    const showStart = () => {
      for (const k of ["filepos", "gtid", "timestamp"]) $$(".start-" + k).forEach((el) => (el.hidden = startKind.value !== k));
    };
    startKind.addEventListener("change", showStart);
    showStart();

    (async () => {
      const r = await api("GET", "/datasources");
      if (!current(mine)) return;
      if (!r.ok) {
        $("#create-load-error").innerHTML = msg("error", "Data sources: " + r.message);
        return;
      }
      const opts = (type) =>
        r.body.filter((d) => d.type === type).map((d) => `<option value="${esc(d.name)}">${esc(d.name)}</option>`).join("");
      $("#create-source").innerHTML = opts("mysql");
      // Any data source but the source itself is a destination: Kafka first, then databases.
      $("#create-destination").innerHTML = ["kafka", "oceanbase", "mysql"].map(opts).join("");
      if (!opts("mysql") || r.body.length < 2) {
        $("#create-load-error").innerHTML = msg("na", "A project needs a MySQL/MariaDB source and a destination (Kafka or a database).") +
          `<p><a href="#/datasources">Add data sources</a></p>`;
      }
    })();

    // The objects rules from the form, or an error text.
    const objectRules = () => {
      const out = [];
      for (const tr of rules.rows) {
        const database = $(".rule-database", tr).value.trim();
        const tables = splitList($(".rule-tables", tr).value);
        const exclude = splitList($(".rule-exclude", tr).value);
        const topic = $(".rule-topic", tr).value.trim();
        if (!database) {
          if (tables.length || exclude.length || topic) return "Every rule needs a database.";
          continue;
        }
        const rule = { database, tables, exclude };
        if (topic) rule.topic = topic;
        out.push(rule);
      }
      return out.length ? out : "Give at least one database.";
    };
    const errorOut = $("#create-error");

    $("#create-preview").addEventListener("click", async () => {
      const objects = objectRules();
      const out = $("#create-preview-out");
      if (typeof objects === "string") {
        errorOut.innerHTML = msg("error", objects);
        return;
      }
      errorOut.innerHTML = "";
      out.innerHTML = `<p class="muted">Listing the matching tables…</p>`;
      const source = $("#create-source").value;
      const r = await api("POST", `/datasources/${path(source)}/tables`, { objects });
      if (!current(mine)) return;
      if (!r.ok) {
        out.innerHTML = missing(r) ? notAvailable("The table preview", r) : msg("error", r.message);
        return;
      }
      const tables = (r.body && r.body.tables) || [];
      const noKey = tables.filter((t) => !t.has_primary_key).map((t) => `${t.database}.${t.table}`);
      let html = `<h2>Matching tables</h2><p id="preview-count">${esc(num(tables.length))} table(s) match.</p>`;
      if (noKey.length && $("#create-partition").value === "hash") {
        html += msg("error", `Without a primary key (the "hash" rule refuses them): ${noKey.join(", ")}`);
      }
      html += `<div class="table-wrap"><table id="preview"><thead><tr><th>Database</th><th>Table</th><th>Topic</th>
        <th>Primary key</th></tr></thead><tbody>`;
      for (const t of tables) {
        html += `<tr data-table="${esc(t.database + "." + t.table)}"><td>${esc(t.database)}</td><td>${esc(t.table)}</td>
          <td>${esc(t.topic || DASH)}</td><td>${t.has_primary_key ? badge("yes") : badge("no")}</td></tr>`;
      }
      out.innerHTML = html + "</tbody></table></div>";
    });

    $("#create-form").addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const objects = objectRules();
      if (typeof objects === "string") {
        errorOut.innerHTML = msg("error", objects);
        return;
      }
      const name = $("#create-name").value.trim();
      const body = {
        name,
        source: $("#create-source").value,
        destination: $("#create-destination").value,
        objects,
        format: $("#create-format").value,
        partition: $("#create-partition").value,
      };
      body.sync = $("#create-sync").value.split(",");
      const kind = startKind.value;
      if (kind === "now") body.start = { from: "now" };
      else if (kind === "filepos") body.start = { file: $("#create-start-file").value.trim(), pos: Number($("#create-start-pos").value) };
      else if (kind === "gtid") body.start = { gtid: $("#create-start-gtid").value.trim() };
      else {
        const ts = parseTime($("#create-start-time").value);
        if (ts === null) {
          errorOut.innerHTML = msg("error", "Start time: give YYYY-MM-DD HH:MM:SS (local) or unix seconds.");
          return;
        }
        body.start = { timestamp: ts };
      }
      const partitions = $("#create-partitions").value.trim();
      if (partitions) body.options = { topic_partitions: Number(partitions) };
      const submit = $("#create-submit");
      submit.disabled = true;
      const r = await api("POST", "/projects", body);
      if (!current(mine)) return;
      submit.disabled = false;
      if (!r.ok) {
        errorOut.innerHTML = msg("error", r.message);
        return;
      }
      let note = { text: `Created project ${name}.`, kind: "ok" };
      if ($("#create-and-start").checked) {
        const s = await api("POST", `/projects/${path(name)}/start`, {});
        if (!current(mine)) return;
        note = s.ok ? { text: `Created and started project ${name}.`, kind: "ok" } : { text: `Created project ${name}, but start failed: ${s.message}`, kind: "error" };
      }
      flashNext = note;
      location.hash = "#/projects/" + path(name);
    });
  }

  // --- data sources -----------------------------------------------------------------------

  function dataSourcesPage() {
    const mine = gen;
    document.title = "Data sources · Ferry";
    show(`<h1>Data sources</h1>
      <div id="ds-error"></div>
      <div class="table-wrap"><table id="datasources"><thead><tr><th>Name</th><th>Type</th><th>Address</th>
        <th>User</th><th></th></tr></thead><tbody></tbody></table></div>
      <div id="ds-check"></div>
      <h2>Add a data source</h2>
      <form id="ds-form" class="grid" autocomplete="off">
        <label for="ds-type">Type</label>
        <select id="ds-type"><option value="mysql">MySQL / MariaDB (source or destination)</option><option value="kafka">Kafka (destination)</option><option value="oceanbase">OceanBase (destination)</option></select>
        <label for="ds-name">Name</label><input id="ds-name" required placeholder="maria">
        <label class="ds-db" for="ds-host">Host</label><input class="ds-db" id="ds-host" placeholder="10.0.0.2">
        <label class="ds-db" for="ds-port">Port</label><input class="ds-db" id="ds-port" type="number" min="1" max="65535" value="3306">
        <label class="ds-db" for="ds-user">User</label><input class="ds-db" id="ds-user" placeholder="ferry">
        <label class="ds-db" for="ds-password">Password</label><input class="ds-db" id="ds-password" type="password" autocomplete="new-password">
        <label class="ds-kafka" for="ds-bootstrap">Bootstrap servers</label>
        <input class="ds-kafka" id="ds-bootstrap" placeholder="kafka1:9092,kafka2:9092">
        <div class="full"><button type="submit" class="primary" id="ds-submit">Add and check</button></div>
      </form>
      <div id="ds-form-msg"></div>`);

    const type = $("#ds-type");
    const showType = () => {
      $$(".ds-db").forEach((el) => (el.hidden = type.value === "kafka"));
      $$(".ds-kafka").forEach((el) => (el.hidden = type.value !== "kafka"));
    };
    type.addEventListener("change", showType);
    showType();

    const load = async () => {
      const r = await api("GET", "/datasources");
      if (!current(mine)) return;
      $("#ds-error").innerHTML = r.ok ? "" : msg("error", r.message);
      if (!r.ok) return;
      let html = "";
      for (const d of r.body) {
        const address = d.type === "kafka" ? d.bootstrap_servers : `${d.host}:${d.port}`;
        html += `<tr data-datasource="${esc(d.name)}"><td>${esc(d.name)}</td><td>${esc(d.type)}</td><td>${esc(address)}</td>
          <td>${esc(d.user || DASH)}</td><td><span class="actions">
          <button type="button" data-check="${esc(d.name)}">Check</button>
          <button type="button" class="danger" data-delete="${esc(d.name)}">Delete</button></span></td></tr>`;
      }
      $("#datasources tbody").innerHTML = html || `<tr><td colspan="5" class="muted">No data sources yet.</td></tr>`;
    };

    const check = async (name) => {
      const out = $("#ds-check");
      out.innerHTML = `<h2>Check of ${esc(name)}</h2><p class="muted">Connecting…</p>`;
      const r = await api("POST", `/datasources/${path(name)}/check`);
      if (!current(mine)) return;
      if (!r.ok) {
        out.innerHTML = `<h2>Check of ${esc(name)}</h2>` + msg("error", r.message);
        return;
      }
      const findings = r.body.findings || [];
      const failed = findings.filter((f) => !f.ok).length;
      let html = `<h2>Check of ${esc(name)}</h2><div id="check-summary" class="msg ${failed ? "error" : "ok"}">${esc(
        failed ? `${failed} of ${findings.length} checks failed: fix them before a project uses ${name}.` : `All ${findings.length} checks passed.`
      )}</div><table id="findings"><thead><tr><th></th><th>Check</th><th>Found</th><th>Fix</th></tr></thead><tbody>`;
      for (const f of findings) {
        html += `<tr data-check="${esc(f.check)}"><td class="${f.ok ? "finding-ok" : "finding-bad"}">${f.ok ? "✓ ok" : "✗ failed"}</td>
          <td>${esc(f.check)}</td><td>${esc(f.message)}</td><td>${esc(f.fix || "")}</td></tr>`;
      }
      out.innerHTML = html + "</tbody></table>";
    };

    $("#datasources").addEventListener("click", async (ev) => {
      const checkButton = ev.target.closest("button[data-check]");
      if (checkButton) return check(checkButton.dataset.check);
      const del = ev.target.closest("button[data-delete]");
      if (!del) return;
      const name = del.dataset.delete;
      if (!confirm(`Delete data source ${name}?`)) return;
      const r = await api("DELETE", `/datasources/${path(name)}`);
      if (!current(mine)) return;
      $("#ds-error").innerHTML = r.ok ? msg("ok", `Deleted data source ${name}.`) : msg("error", r.message);
      load();
    });

    $("#ds-form").addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const out = $("#ds-form-msg");
      const name = $("#ds-name").value.trim();
      const body =
        type.value !== "kafka"
          ? {
              name,
              type: type.value,
              host: $("#ds-host").value.trim(),
              port: Number($("#ds-port").value),
              user: $("#ds-user").value.trim(),
              password: $("#ds-password").value,
            }
          : { name, type: "kafka", bootstrap_servers: $("#ds-bootstrap").value.trim() };
      const submit = $("#ds-submit");
      submit.disabled = true;
      out.innerHTML = `<p class="muted">Connecting to ${esc(name)}…</p>`;
      const r = await api("POST", "/datasources", body);
      if (!current(mine)) return;
      submit.disabled = false;
      if (!r.ok) {
        out.innerHTML = msg("error", r.message);
        return;
      }
      out.innerHTML = msg("ok", `Added data source ${name}.`);
      $("#ds-form").reset();
      showType();
      await load();
      await check(name);
    });

    load();
  }

  // --- cluster ----------------------------------------------------------------------------

  function clusterPage() {
    const mine = gen;
    document.title = "Cluster · Ferry";
    show(`<h1>Cluster</h1>
      <div id="cluster-error"></div>
      <div class="card"><dl class="kv" id="cluster-summary"></dl></div>
      <h2>Nodes and what runs where</h2>
      <div class="table-wrap"><table id="members"><thead><tr><th class="num">Node</th><th>Role</th><th>Alive</th>
        <th>Raft address</th><th>HTTP address</th><th>Last heartbeat</th><th class="num">Applied index</th>
        <th>Runs</th></tr></thead><tbody></tbody></table></div>`);
    every(REFRESH_MS, async () => {
      const r = await api("GET", "/cluster");
      if (!current(mine)) return;
      $("#cluster-error").innerHTML = r.ok ? "" : msg("error", r.message);
      if (!r.ok) return;
      const c = r.body;
      $("#cluster-summary").innerHTML =
        kv("Leader", c.leader === null || c.leader === undefined ? "none (no quorum?)" : "node " + c.leader, "leader") +
        kv("Term", c.term, "term") +
        kv("Commit index", num(c.commit_index), "commit_index") +
        kv("Applied index", num(c.applied_index), "applied_index") +
        kv("Answered by", "node " + c.node_id, "node_id");
      let html = "";
      for (const m of c.members || []) {
        const runs = (m.runs || [])
          .map((w) => `<div><a href="#/projects/${esc(path(w.project))}">${esc(w.project)}</a> ${esc(w.component)}
            <span class="muted">epoch ${esc(w.epoch)}</span></div>`)
          .join("");
        const beat = m.last_heartbeat_ms === null || m.last_heartbeat_ms === undefined ? DASH : duration(m.last_heartbeat_ms) + " ago";
        html += `<tr data-node="${esc(m.id)}"><td class="num">${esc(m.id)}</td><td data-field="role">${badge(m.role)}</td>
          <td>${m.alive ? badge("yes") : badge("no")}</td><td>${esc(m.raft || DASH)}</td><td>${esc(m.http || DASH)}</td>
          <td>${esc(beat)}</td><td class="num">${esc(num(m.applied_index))}</td>
          <td data-field="runs">${runs || `<span class="muted">nothing</span>`}</td></tr>`;
      }
      $("#members tbody").innerHTML = html;
    });
  }

  // --- start ------------------------------------------------------------------------------

  function init() {
    $("#logout").addEventListener("click", () => {
      sessionStorage.removeItem(TOKEN_KEY);
      location.hash = "#/login";
    });
    window.addEventListener("hashchange", route);
    route();
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
