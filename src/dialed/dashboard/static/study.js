/* A study page: summary, plots and the trial table, kept live by polling /since. */
"use strict";

(function () {
  const D = window.Dialed;
  const name = document.body.dataset.study;
  const base = "/api/studies/" + encodeURIComponent(name);
  const trialUrl = (n) => "/studies/" + encodeURIComponent(name) + "/trials/" + n;
  const POLL_MS = 2000;
  const PLOTS_MS = 4000;

  const state = {
    version: -1, primary: null, plotsVersion: -1, plotsAt: 0, plotsBusy: false,
    sort: "number", order: "desc", filterState: "", query: "", page: 0, perPage: 50,
    flash: new Set(),
  };
  const table = document.getElementById("trial-table");
  const pager = document.getElementById("pager");
  const plots = document.getElementById("plots");
  const filterError = document.getElementById("filter-error");

  function openTrial(n) { window.location.href = trialUrl(n); }

  async function loadPlots() {
    if (state.plotsBusy) return;
    state.plotsBusy = true;
    try {
      const data = await D.getJSON(base + "/plots");
      const status = document.getElementById("plots-status");
      if (status) status.remove();
      D.renderFigures(plots, data, openTrial);
      state.plotsVersion = data.version;
      state.plotsAt = Date.now();
      plots.dataset.version = String(data.version);
    } finally {
      state.plotsBusy = false;
    }
  }

  async function loadTable() {
    const q = new URLSearchParams({sort: state.sort, order: state.order, page: state.page,
      per_page: state.perPage});
    if (state.filterState) q.set("state", state.filterState);
    if (state.query) q.set("filter", state.query);
    let data;
    try {
      data = await D.getJSON(base + "/trials?" + q.toString());
    } catch (e) {
      if (e.status === 400) { filterError.textContent = e.message; return; }
      throw e;
    }
    filterError.textContent = "";
    if (state.page >= data.pages) { state.page = data.pages - 1; return loadTable(); }
    D.renderTable(table, data.columns, data.rows, {
      sort: state.sort, order: state.order, flash: state.flash,
      onSort: (key) => {
        if (state.sort === key) state.order = state.order === "asc" ? "desc" : "asc";
        else { state.sort = key; state.order = key === "number" ? "desc" : "asc"; }
        state.page = 0;
        loadTable();
      },
      onRow: openTrial,
    });
    state.flash = new Set();
    D.renderPager(pager, data.page, data.pages, data.total, (p) => { state.page = p; loadTable(); });
    table.dataset.version = String(data.version);
  }

  async function poll() {
    try {
      const s = await D.getJSON(base + "/since?version=" + state.version);
      D.setLive("live · updated " + new Date().toLocaleTimeString(), true);
      if (s.version !== state.version) {
        if (s.changed) for (const row of s.changed) state.flash.add(row[0]);
        state.version = s.version;
        D.renderSummary(s, state.primary);
        await loadTable();
      }
      if (state.plotsVersion !== state.version && Date.now() - state.plotsAt > PLOTS_MS) {
        await loadPlots();
      }
    } catch (e) {
      D.setLive("cannot reach the server: " + e.message, false);
    }
    setTimeout(poll, POLL_MS);
  }

  document.getElementById("filters").addEventListener("submit", (ev) => {
    ev.preventDefault();
    state.filterState = document.getElementById("state-filter").value;
    state.query = document.getElementById("text-filter").value.trim();
    state.page = 0;
    loadTable();
  });

  async function start() {
    const o = await D.getJSON(base);
    state.primary = o.primary;
    state.version = o.version;
    D.renderSummary(o, o.primary);
    if (o.loading) {
      const status = document.getElementById("plots-status");
      if (status) status.textContent = "reading " + o.n_trials.toLocaleString() +
        " trials from the storage (the first time only)…";
    }
    await Promise.all([loadTable(), loadPlots()]);
    setTimeout(poll, POLL_MS);
  }

  start().catch((e) => D.setLive("cannot load the study: " + e.message, false));
})();
