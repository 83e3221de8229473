/* The report: the same summary, plots and trial table as the dashboard, from inlined data. */
"use strict";

(function () {
  const D = window.Dialed;
  const data = JSON.parse(document.getElementById("report-data").textContent);
  const o = data.overview;
  const t = data.table;
  const PER_PAGE = 50;
  const state = {sort: 0, desc: true, filterState: "", query: "", page: 0};
  const table = document.getElementById("trial-table");
  const pager = document.getElementById("pager");

  D.renderSummary(o, o.primary);
  const last = document.getElementById("last-activity");
  if (last) last.textContent = D.fmtTime(o.last_activity);  // "ago" means little in a file
  D.renderFigures(document.getElementById("plots"), data.plots, showTrial);
  document.getElementById("table-note").textContent = t.note || "";

  function compare(a, b) {
    const x = a[state.sort];
    const y = b[state.sort];
    if (x === null || x === undefined) return (y === null || y === undefined) ? a[0] - b[0] : 1;
    if (y === null || y === undefined) return -1;
    let c;
    if (typeof x === "number" && typeof y === "number") c = x - y;
    else c = D.fmt(x) < D.fmt(y) ? -1 : (D.fmt(x) > D.fmt(y) ? 1 : 0);
    if (c === 0) c = a[0] - b[0];
    return state.desc ? -c : c;
  }

  function visibleRows() {
    const q = state.query.toLowerCase();
    const rows = t.rows.filter((row) =>
      (!state.filterState || row[1] === state.filterState) &&
      (!q || row.some((v) => D.fmt(v).toLowerCase().includes(q))));
    return rows.sort(compare);
  }

  function renderTable() {
    const rows = visibleRows();
    const pages = Math.max(1, Math.ceil(rows.length / PER_PAGE));
    state.page = Math.min(state.page, pages - 1);
    const shown = rows.slice(state.page * PER_PAGE, (state.page + 1) * PER_PAGE);
    const sortKey = t.columns[state.sort].key;
    D.renderTable(table, t.columns, shown, {
      sort: sortKey, order: state.desc ? "desc" : "asc",
      onSort: (key) => {
        const i = t.columns.findIndex((c) => c.key === key);
        if (i === state.sort) state.desc = !state.desc;
        else { state.sort = i; state.desc = key === "number"; }
        state.page = 0;
        renderTable();
      },
      onRow: showTrial,
    });
    D.renderPager(pager, state.page, pages, rows.length, (p) => { state.page = p; renderTable(); });
  }

  function kv(tbody, rows) {
    D.clear(tbody);
    for (const [k, v, extra] of rows) {
      tbody.appendChild(D.el("tr", {}, D.el("th", {class: "mono", text: k}),
        D.el("td", {class: "pre", text: v}), extra === undefined ? null :
        D.el("td", {class: "muted", text: extra})));
    }
    if (!rows.length) tbody.appendChild(D.el("tr", {}, D.el("td", {class: "muted", text: "none"})));
  }

  function showTrial(number) {
    const d = t.details[String(number)];
    const panel = document.getElementById("detail-panel");
    if (!d) {
      panel.hidden = false;
      document.getElementById("detail-title").textContent =
        "trial " + number + " is not in this report (it lists " + t.rows.length + " trials)";
      return;
    }
    panel.hidden = false;
    const title = document.getElementById("detail-title");
    D.clear(title).appendChild(document.createTextNode("trial " + d.number + " "));
    title.appendChild(D.badge(d.state));
    kv(document.querySelector("#detail-params tbody"),
      d.params.map((p) => [p.name, p.text, p.family]));
    kv(document.querySelector("#detail-metrics tbody"),
      d.metrics.map((m) => [m.name, D.fmt(m.value), m.role]));
    const run = [["seed", String(d.seed)], ["worker", d.worker || "–"],
      ["started", D.fmtTime(d.started_at)], ["finished", D.fmtTime(d.finished_at)],
      ["duration", D.fmtDuration(d.duration)]];
    for (const c of d.costs) run.push([c.key, c.value]);
    if (d.pruned) run.push(["pruned at step", D.fmt(d.pruned.step)], ["why", d.pruned.reason]);
    kv(document.querySelector("#detail-run tbody"), run);
    kv(document.querySelector("#detail-env tbody"), d.environment.map((r) => [r.key, r.value]));
    kv(document.querySelector("#detail-attrs tbody"),
      d.user_attrs.concat(d.system_attrs).map((r) => [r.key, r.value]));
    const files = d.artifacts || [];
    document.getElementById("detail-artifacts-box").hidden = !files.length;
    kv(document.querySelector("#detail-artifacts tbody"), files.map((a) => [a.name, a.text]));
    const err = document.getElementById("detail-error");
    err.hidden = !d.error;
    err.textContent = d.error || "";
    const curve = document.getElementById("detail-curve");
    if (d.curve) { curve.hidden = false; D.plotInto(curve, d.curve); }
    else { curve.hidden = true; }
    panel.scrollIntoView({behavior: "smooth", block: "start"});
  }

  document.getElementById("filters").addEventListener("submit", (ev) => {
    ev.preventDefault();
    state.filterState = document.getElementById("state-filter").value;
    state.query = document.getElementById("text-filter").value.trim();
    state.page = 0;
    renderTable();
  });

  renderTable();
})();
