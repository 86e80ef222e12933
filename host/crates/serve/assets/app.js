// The assay dashboard: a page over the JSON API of `assay serve` (no build step, no
// dependencies). Views by location hash: #/runs, #/run/ID, #/compare, #/sql, #/sweeps,
// #/sweep/ID. Charts are the server's SVG (the plot code of `assay plot`).
"use strict";

const main = document.getElementById("main");
const statusLine = document.getElementById("status");
const state = {
  where: "", sort: "", desc: false, offset: 0, limit: 100, groupBy: "",
  hidden: new Set(), selected: new Set(JSON.parse(localStorage.getItem("assay.selected") || "[]")),
};
let timer = null;

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "onclick" || k === "onchange" || k === "oninput") e[k] = v;
    else if (k === "text") e.textContent = v;
    else e.setAttribute(k, v);
  }
  for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return e;
}

async function api(path) {
  const r = await fetch(path, { credentials: "same-origin" });
  const body = r.headers.get("content-type")?.includes("json") ? await r.json() : await r.text();
  if (!r.ok) throw new Error(body.error || body || r.statusText);
  return body;
}

function show(...nodes) { main.replaceChildren(...nodes); }
function fail(e) { main.append(el("p", { class: "error", text: String(e.message || e) })); }
function sqlString(s) { return "'" + String(s).replace(/'/g, "''") + "'"; }
function fmt(v) {
  if (v === null || v === undefined) return "";
  if (typeof v === "number" && !Number.isInteger(v)) return v.toPrecision(4);
  return String(v);
}
function saveSelection() { localStorage.setItem("assay.selected", JSON.stringify([...state.selected])); }
function live(fn, ms) { clearTimeout(timer); timer = setTimeout(fn, ms); }

// ---- runs table ----
async function runsView() {
  const q = new URLSearchParams({ where: state.where, sort: state.sort, desc: state.desc ? "1" : "0",
    offset: state.offset, limit: state.limit, group_by: state.groupBy });
  let data;
  try { data = await api("/api/runs?" + q); } catch (e) { show(controls()); fail(e); return; }
  const rows = data.rows;
  const columns = [];
  for (const r of rows) for (const k of Object.keys(r)) if (!columns.includes(k)) columns.push(k);
  const visible = columns.filter((c) => !state.hidden.has(c));
  const table = el("table", { id: "runs" });
  const head = el("tr", {}, el("th", { text: "✓" }));
  for (const c of visible) {
    head.append(el("th", { text: c + (state.sort === c ? (state.desc ? " ▼" : " ▲") : ""), onclick: () => {
      state.desc = state.sort === c ? !state.desc : false; state.sort = c; state.offset = 0; runsView();
    } }));
  }
  table.append(head);
  // Grouped, the server orders the whole table by the key and describes every group of it:
  // a header row per group with its number of runs and each final metric's mean ± std.
  const groups = new Map((data.groups || []).map((g) => [fmt(g.value), g]));
  let group;
  for (const r of rows) {
    if (state.groupBy && fmt(r[state.groupBy]) !== group) {
      group = fmt(r[state.groupBy]);
      const g = groups.get(group) || { runs: "?", metrics: {} };
      const tr = el("tr", { class: "group", "data-group": group }, el("td"));
      visible.forEach((c, i) => {
        const m = g.metrics[c];
        let text = "";
        if (i === 0) text = `${state.groupBy} = ${group}: ${g.runs} runs`;
        else if (m) text = `${fmt(m.mean)} ± ${fmt(m.std ?? 0)} (n ${m.n})`;
        tr.append(el("td", { text }));
      });
      table.append(tr);
    }
    const box = el("input", { type: "checkbox" });
    box.checked = state.selected.has(r.id);
    box.onchange = () => { box.checked ? state.selected.add(r.id) : state.selected.delete(r.id); saveSelection(); };
    const tr = el("tr", { "data-run": r.id }, el("td", {}, box));
    for (const c of visible) {
      const td = el("td", { text: fmt(r[c]) });
      if (c === "id") td.replaceChildren(el("a", { href: "#/run/" + r.id, text: r.id }));
      if (c === "status") td.className = "status-" + r[c];
      tr.append(td);
    }
    table.append(tr);
  }
  const chooser = el("details", {}, el("summary", { text: "columns" }));
  const list = el("div", { class: "columns" });
  for (const c of columns) {
    const b = el("input", { type: "checkbox" });
    b.checked = !state.hidden.has(c);
    b.onchange = () => { b.checked ? state.hidden.delete(c) : state.hidden.add(c); runsView(); };
    list.append(el("label", {}, b, c), el("br"));
  }
  chooser.append(list);
  const groupSelect = el("select", { onchange: (e) => { state.groupBy = e.target.value; state.offset = 0; runsView(); } },
    el("option", { value: "", text: "no grouping" }),
    ...columns.filter((c) => c.includes(".") || c === "run_name" || c === "status").map((c) => el("option", { value: c, text: c })));
  groupSelect.value = state.groupBy;
  const pager = el("span", {},
    el("button", { text: "◀", onclick: () => { state.offset = Math.max(0, state.offset - state.limit); runsView(); } }),
    ` ${data.total ? data.offset + 1 : 0}–${data.offset + rows.length} of ${data.total} `,
    el("button", { text: "▶", onclick: () => { if (state.offset + state.limit < data.total) { state.offset += state.limit; runsView(); } } }));
  show(controls(), el("div", { class: "controls" }, pager, "group by", groupSelect, chooser,
    el("button", { text: `compare selected (${state.selected.size})`, onclick: () => { location.hash = "#/compare"; } })),
    el("div", { class: "scroll" }, table));
  statusLine.textContent = `${data.total} runs · updated ${new Date().toLocaleTimeString()}`;
  if (rows.some((r) => r.status === "running")) live(runsView, 3000);
}

function controls() {
  const input = el("input", { type: "text", placeholder: "filter: SQL on runs columns, e.g. status = 'running' OR \"optimizer.lr\" > 0.01" });
  input.value = state.where;
  input.onchange = () => { state.where = input.value; state.offset = 0; runsView(); };
  return el("div", { class: "controls" }, "filter", input);
}

// ---- one run ----
async function runView(id) {
  let run;
  try { run = await api("/api/runs/" + encodeURIComponent(id)); } catch (e) { show(); fail(e); return; }
  const rec = run.record || {};
  const parts = [
    el("h2", { text: `${rec.name || ""} ${id}` }),
    el("p", {}, "status ", el("span", { id: "run-status", class: "status-" + run.status, text: run.status }),
      " · last logged step ", el("span", { id: "run-step", text: String(rec.steps_done ?? "") }), ` of ${rec.steps_total ?? ""}`,
      ` · ${rec.user || ""}@${rec.host || ""} · started ${rec.started_at || ""} · ${rec.duration_s ? rec.duration_s.toFixed(1) + " s" : ""}`),
  ];
  if (run.damage) parts.push(el("p", { class: "error", text: "damaged: " + run.damage }));
  if (rec.error) parts.push(el("p", { class: "error", text: rec.error }));
  parts.push(el("p", {}, "reproduce: ", el("code", { text: run.reproduce })));
  parts.push(el("h3", { text: "components" }),
    el("pre", { text: (rec.components || []).map((c) => JSON.stringify(c)).join("\n") }));
  parts.push(el("h3", { text: "spec" }), el("pre", { text: run.spec }));
  parts.push(el("h3", { text: "log" }), run.log
    ? el("div", {}, el("p", { text: `last lines of ${run.log.file}` }), el("pre", { id: "run-log", text: run.log.lines }))
    : el("p", { text: "(no log: the run predates run logs and ran outside a sweep)" }));
  const ck = run.checkpoints;
  parts.push(el("p", { text: ck.length > 12
    ? `${ck.length} checkpoints, at steps ${ck.slice(0, 5).join(", ")}, …, ${ck.slice(-5).join(", ")}`
    : "checkpoints at steps: " + ck.join(", ") }));
  const tables = el("div");
  for (const t of run.tables) {
    tables.append(el("button", { text: t, onclick: async () => {
      try { const d = await api(`/api/runs/${encodeURIComponent(id)}/tables/${encodeURIComponent(t)}`); tables.append(rowsTable(d.rows)); }
      catch (e) { tables.append(el("p", { class: "error", text: e.message })); }
    } }));
  }
  parts.push(el("h3", { text: "tables" }), tables, el("h3", { text: "metrics" }));
  const charts = el("div", { id: "charts" });
  parts.push(charts);
  show(...parts);
  try {
    const m = await api(`/api/runs/${encodeURIComponent(id)}/metrics`);
    const names = [...new Set(m.rows.map((r) => r.name))];
    const last = m.rows.reduce((a, r) => Math.max(a, r.step), 0);
    document.getElementById("run-step").textContent = String(Math.max(last, rec.steps_done || 0));
    for (const n of names) {
      const q = new URLSearchParams({ metrics: n, where: `id = ${sqlString(id)}`, t: Date.now() });
      charts.append(el("img", { class: "chart", alt: n, src: "/api/plot.svg?" + q }));
    }
  } catch (e) { fail(e); }
  statusLine.textContent = `run ${id} · updated ${new Date().toLocaleTimeString()}`;
  if (run.status === "running") live(() => runView(id), 3000);
}

function rowsTable(rows) {
  const t = el("table");
  if (!rows.length) return el("p", { text: "(no rows)" });
  const cols = Object.keys(rows[0]);
  t.append(el("tr", {}, ...cols.map((c) => el("th", { text: c }))));
  for (const r of rows.slice(0, 2000)) t.append(el("tr", {}, ...cols.map((c) => el("td", { text: fmt(r[c]) }))));
  return el("div", { class: "scroll" }, t);
}

// ---- compare ----
async function compareView() {
  // A link can carry the comparison: #/compare?ids=A,B&metrics=test/acc,test/loss&group_by=KEY
  const link = new URLSearchParams(location.hash.split("?")[1] || "");
  if (link.get("ids")) { state.selected = new Set(link.get("ids").split(",")); saveSelection(); }
  if (link.get("metrics")) localStorage.setItem("assay.metrics", JSON.stringify(link.get("metrics").split(",")));
  if (link.has("group_by")) localStorage.setItem("assay.group", link.get("group_by"));
  const ids = [...state.selected];
  if (!ids.length) { show(el("p", { text: "Select runs in the runs table (the ✓ column), then compare them here." })); return; }
  const where = `id IN (${ids.map(sqlString).join(", ")})`;
  let names = [];
  try {
    const d = await api("/api/query?" + new URLSearchParams({ sql: `SELECT DISTINCT name FROM metrics WHERE run_id IN (${ids.map(sqlString).join(", ")}) ORDER BY name` }));
    names = d.rows.map((r) => r.name);
  } catch (e) { show(); fail(e); return; }
  const chosen = new Set(JSON.parse(localStorage.getItem("assay.metrics") || "[]").filter((n) => names.includes(n)));
  if (!chosen.size && names.length) chosen.add(names.find((n) => n.includes("loss")) || names[0]);
  const group = el("input", { type: "text", placeholder: "group by spec keys (mean ± std), e.g. optimizer.plugin" });
  group.value = localStorage.getItem("assay.group") || "";
  const logx = el("input", { type: "checkbox" });
  const logy = el("input", { type: "checkbox" });
  const charts = el("div", { id: "charts" });
  const draw = () => {
    localStorage.setItem("assay.metrics", JSON.stringify([...chosen]));
    localStorage.setItem("assay.group", group.value);
    charts.replaceChildren(...[...chosen].map((m) => el("img", { class: "chart", alt: m, src: "/api/plot.svg?" + new URLSearchParams({
      metrics: m, where, group_by: group.value, logx: logx.checked ? "1" : "0", logy: logy.checked ? "1" : "0", t: Date.now() }) })));
  };
  const boxes = names.map((n) => {
    const b = el("input", { type: "checkbox" });
    b.checked = chosen.has(n);
    b.onchange = () => { b.checked ? chosen.add(n) : chosen.delete(n); draw(); };
    return el("label", {}, b, n, " ");
  });
  group.onchange = draw; logx.onchange = draw; logy.onchange = draw;
  const parallel = el("div", { id: "parallel" });
  show(el("p", { text: `${ids.length} runs: ${ids.join(", ")}` }),
    el("div", { class: "controls" }, el("div", { class: "columns" }, ...boxes)),
    el("div", { class: "controls" }, "group by", group, el("label", {}, logx, "log x"), el("label", {}, logy, "log y"),
      el("button", { text: "clear selection", onclick: () => { state.selected.clear(); saveSelection(); compareView(); } })),
    charts, el("h3", { text: "spec values against a final metric" }), parallel);
  draw();
  parallelView(parallel, where).catch((e) => parallel.replaceChildren(el("p", { class: "error", text: e.message })));
  live(async () => { if (location.hash.startsWith("#/compare")) compareView(); }, 10000);
}

// Parallel coordinates: one axis per spec key that differs among the runs, the last axis a
// final metric; one line per run, coloured by that metric.
async function parallelView(box, where) {
  const d = await api("/api/runs?" + new URLSearchParams({ where, limit: 1000 }));
  const rows = d.rows;
  const finals = [...new Set(rows.flatMap((r) => Object.keys(r).filter((k) => k.startsWith("final:"))))].sort();
  if (!finals.length) { box.replaceChildren(el("p", { text: "(no final metrics yet)" })); return; }
  const skip = new Set(["id", "started_at", "ended_at", "duration_s", "steps_done", "host", "user", "git_commit", "status", "run_name"]);
  const keys = Object.keys(rows[0] || {}).filter((k) => !skip.has(k) && !k.startsWith("final:") && !k.endsWith(".version")
    && new Set(rows.map((r) => JSON.stringify(r[k]))).size > 1);
  const select = el("select", {}, ...finals.map((f) => el("option", { value: f, text: f.slice(6) })));
  const saved = localStorage.getItem("assay.parallel");
  select.value = finals.includes(saved) ? saved : (finals.find((f) => f.includes("test/acc")) || finals[0]);
  const svgBox = el("div");
  const drawAxes = () => {
    localStorage.setItem("assay.parallel", select.value);
    const axes = [...keys, select.value];
    const W = Math.max(500, 170 * axes.length), H = 340, top = 30, bottom = 40;
    const x = (i) => 60 + i * (W - 120) / Math.max(1, axes.length - 1);
    const scale = axes.map((k) => {
      const vals = rows.map((r) => r[k]).filter((v) => v !== null && v !== undefined);
      if (vals.every((v) => typeof v === "number")) {
        const lo = Math.min(...vals), hi = Math.max(...vals);
        return { at: (v) => (hi > lo ? (v - lo) / (hi - lo) : 0.5), ticks: [lo, hi] };
      }
      const cats = [...new Set(vals.map(String))].sort();
      return { at: (v) => (cats.length > 1 ? cats.indexOf(String(v)) / (cats.length - 1) : 0.5), ticks: cats };
    });
    const y = (i, v) => top + (1 - scale[i].at(v)) * (H - top - bottom);
    const m = scale[axes.length - 1];
    const ns = "http://www.w3.org/2000/svg";
    const svg = document.createElementNS(ns, "svg");
    svg.setAttribute("width", W); svg.setAttribute("height", H); svg.setAttribute("class", "parallel");
    const add = (tag, attrs, text) => {
      const e = document.createElementNS(ns, tag);
      for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
      if (text !== undefined) e.textContent = text;
      svg.append(e); return e;
    };
    for (const r of rows) {
      const pts = axes.map((k, i) => (r[k] === null || r[k] === undefined ? null : `${x(i)},${y(i, r[k])}`));
      if (pts.includes(null)) continue;
      const t = m.at(r[select.value]);
      add("polyline", { points: pts.join(" "), fill: "none", "stroke-width": 1.5, opacity: 0.8,
        stroke: `hsl(${Math.round(240 * (1 - t))}, 70%, 45%)` }).append(Object.assign(document.createElementNS(ns, "title"), { textContent: r.id }));
    }
    axes.forEach((k, i) => {
      add("line", { x1: x(i), x2: x(i), y1: top, y2: H - bottom, stroke: "#333" });
      add("text", { x: x(i), y: H - 15, "text-anchor": "middle", "font-size": 12 }, k.replace(/^final:/, ""));
      const t = scale[i].ticks;
      t.forEach((v) => add("text", { x: x(i) + 4, y: y(i, v) + 4, "font-size": 10, fill: "#555" }, fmt(v)));
    });
    svgBox.replaceChildren(svg);
  };
  select.onchange = drawAxes;
  box.replaceChildren(el("div", { class: "controls" }, "metric", select,
    el("span", { text: keys.length ? `axes: ${keys.join(", ")}` : "(the runs share every spec value)" })), svgBox);
  drawAxes();
}

// ---- SQL ----
function sqlView() {
  const box = el("textarea", { rows: 8 });
  box.value = localStorage.getItem("assay.sql") || "SELECT run_name, status, count(*) AS n FROM runs GROUP BY run_name, status";
  const out = el("div");
  const link = (format) => el("a", { href: "#", text: format, onclick: (e) => {
    e.preventDefault(); location.href = "/api/query?" + new URLSearchParams({ sql: box.value, format }); } });
  const run = async () => {
    localStorage.setItem("assay.sql", box.value);
    out.replaceChildren("running…");
    try { const d = await api("/api/query?" + new URLSearchParams({ sql: box.value })); out.replaceChildren(rowsTable(d.rows)); }
    catch (e) { out.replaceChildren(el("p", { class: "error", text: e.message })); }
  };
  show(el("p", { text: "The tables of assay query: runs, metrics, final_metrics and every probe table." }), box,
    el("div", { class: "controls" }, el("button", { text: "run", onclick: run }), "download:", link("csv"), link("parquet")), out);
}

// ---- sweeps ----
async function sweepsView() {
  try {
    const d = await api("/api/sweeps");
    const t = el("table", {}, el("tr", {}, ...["sweep", "name", "created", "done", "running", "failed", "pending"].map((c) => el("th", { text: c }))));
    for (const s of d.sweeps) {
      t.append(el("tr", {}, el("td", {}, el("a", { href: "#/sweep/" + s.id, text: s.id })), el("td", { text: s.name }),
        el("td", { text: s.created_at }), ...["done", "running", "failed", "pending"].map((k) => el("td", { text: s.counts[k] }))));
    }
    show(t);
  } catch (e) { show(); fail(e); }
}

async function sweepView(id) {
  try {
    const s = await api("/api/sweeps/" + encodeURIComponent(id));
    const c = s.counts;
    const t = el("table", {}, el("tr", {}, ...["#", "run", "overrides", "state"].map((x) => el("th", { text: x }))));
    for (const e of s.entries) {
      t.append(el("tr", {}, el("td", { text: e.index }), el("td", {}, el("a", { href: "#/run/" + e.run_id, text: e.run_id })),
        el("td", { text: e.overrides.join(" ") }), el("td", { text: e.state })));
    }
    const report = el("div", { id: "report" });
    show(el("h2", { text: `sweep ${s.id}` }), el("p", { text: `${s.spec_file} · varying ${s.swept.join(", ") || "nothing"} · done ${c.done} / running ${c.running} / failed ${c.failed} / pending ${c.pending}` }), t,
      el("h3", { text: "report" }), report);
    try {
      const r = await api(`/api/sweeps/${encodeURIComponent(id)}/report`);
      report.append(el("p", { text: `final metrics grouped by ${r.keys.join(", ")}: mean, std and count over seeds` }), rowsTable(r.rows),
        el("details", {}, el("summary", { text: "the query (assay query ... --format latex for a paper)" }), el("pre", { text: r.sql })));
      for (const m of r.metrics) {
        report.append(el("img", { class: "chart", alt: m, src: "/api/plot.svg?" + new URLSearchParams({ metrics: m, where: r.where, group_by: r.keys.join(",") }) }));
      }
    } catch (e) { report.append(el("p", { text: `(no report: ${e.message})` })); }
    if (c.running > 0) live(() => sweepView(id), 3000);
  } catch (e) { show(); fail(e); }
}

function route() {
  clearTimeout(timer);
  const h = location.hash || "#/runs";
  if (h.startsWith("#/run/")) runView(decodeURIComponent(h.slice(6)));
  else if (h.startsWith("#/compare")) compareView();
  else if (h.startsWith("#/sql")) sqlView();
  else if (h.startsWith("#/sweep/")) sweepView(decodeURIComponent(h.slice(8)));
  else if (h.startsWith("#/sweeps")) sweepsView();
  else runsView();
}
window.addEventListener("hashchange", route);
route();
