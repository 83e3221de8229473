/* dialed: helpers shared by the dashboard's pages and the report.
 * Data is only ever inserted as text (textContent, createTextNode): never as HTML. */
"use strict";

(function (global) {
  const STATES = ["complete", "pruned", "failed", "running", "waiting"];

  /* el("a", {href: "/x", class: "c", text: "label"}, child, ...) */
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "text") node.textContent = String(value);
      else if (key === "class") node.className = value;
      else if (key === "dataset") Object.assign(node.dataset, value);
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, String(value));
    }
    for (const child of children) {
      if (child === null || child === undefined || child === false) continue;
      node.appendChild(typeof child === "object" ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function clear(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
    return node;
  }

  function isNumber(v) {
    return typeof v === "number" && Number.isFinite(v);
  }

  /* numbers to 6 significant digits, whole numbers as they are, anything else as text */
  function fmt(v) {
    if (v === null || v === undefined) return "–";
    if (typeof v === "number") {
      if (!Number.isFinite(v)) return String(v);
      if (Number.isInteger(v) && Math.abs(v) < 1e15) return String(v);
      const a = Math.abs(v);
      if (a !== 0 && (a < 1e-4 || a >= 1e6)) return v.toExponential(4);
      return String(Number(v.toPrecision(6)));
    }
    if (typeof v === "string") return v;
    return JSON.stringify(v);
  }

  function pad(n) { return String(n).padStart(2, "0"); }

  function fmtTime(ts) {
    if (!isNumber(ts)) return "–";
    const d = new Date(ts * 1000);
    return d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate()) + " " +
      pad(d.getHours()) + ":" + pad(d.getMinutes()) + ":" + pad(d.getSeconds());
  }

  function fmtAgo(ts) {
    if (!isNumber(ts)) return "–";
    const s = Math.max(0, Date.now() / 1000 - ts);
    if (s < 60) return Math.round(s) + " s ago";
    if (s < 3600) return Math.round(s / 60) + " min ago";
    if (s < 86400) return (s / 3600).toFixed(1) + " h ago";
    return (s / 86400).toFixed(1) + " days ago";
  }

  function fmtDuration(s) {
    if (!isNumber(s)) return "–";
    if (s < 10) return s.toFixed(2) + " s";
    if (s < 60) return s.toFixed(1) + " s";
    if (s < 3600) return Math.floor(s / 60) + " min " + pad(Math.round(s % 60)) + " s";
    return Math.floor(s / 3600) + " h " + pad(Math.round((s % 3600) / 60)) + " min";
  }

  function badge(state) {
    return el("span", {class: "badge state-" + state, text: state});
  }

  /* "12 complete · 3 pruned" as badges */
  function countsLine(counts) {
    const span = el("span", {class: "counts"});
    for (const s of STATES) {
      if (counts && counts[s]) span.appendChild(el("span", {class: "badge state-" + s, title: s,
        text: counts[s] + " " + s}));
    }
    return span;
  }

  function cellText(col, v) {
    if (col.kind === "duration") return fmtDuration(v);
    if (col.kind === "time") return fmtTime(v);
    return fmt(v);
  }

  /* The trial table: columns [{key, label, kind}], rows [[cell, ...]]; the first two cells
   * are the trial number and its state. */
  function renderTable(table, columns, rows, opts) {
    const thead = clear(table.tHead || table.createTHead());
    const tbody = clear(table.tBodies[0] || table.createTBody());
    const head = el("tr");
    for (const col of columns) {
      const th = el("th", {text: col.label, title: col.key, class: "sortable"});
      if (opts.sort === col.key) th.classList.add(opts.order === "asc" ? "sorted-asc" : "sorted-desc");
      th.addEventListener("click", () => opts.onSort && opts.onSort(col.key));
      head.appendChild(th);
    }
    thead.appendChild(head);
    for (const row of rows) {
      const tr = el("tr", {dataset: {number: row[0]}});
      columns.forEach((col, i) => {
        const v = row[i];
        const td = el("td", {class: typeof v === "number" ? "num" : null});
        if (col.kind === "state") td.appendChild(badge(v));
        else td.textContent = cellText(col, v);
        if (col.kind === "param" || col.kind === "worker") td.title = fmt(v);
        tr.appendChild(td);
      });
      if (opts.flash && opts.flash.has(row[0])) tr.classList.add("flash");
      tr.addEventListener("click", () => opts.onRow && opts.onRow(row[0]));
      tbody.appendChild(tr);
    }
    if (!rows.length) {
      tbody.appendChild(el("tr", {}, el("td", {colspan: columns.length, class: "muted",
        text: "no trial matches"})));
    }
  }

  function renderPager(pager, page, pages, total, onPage) {
    clear(pager);
    pager.appendChild(el("button", {type: "button", text: "‹ previous",
      disabled: page <= 0 ? "disabled" : null, onclick: () => onPage(page - 1)}));
    pager.appendChild(el("span", {text: "page " + (page + 1) + " of " + pages + " · " +
      total.toLocaleString() + " trials"}));
    pager.appendChild(el("button", {type: "button", text: "next ›",
      disabled: page + 1 >= pages ? "disabled" : null, onclick: () => onPage(page + 1)}));
  }

  const PLOT_CONFIG = {displaylogo: false, responsive: true,
    modeBarButtonsToRemove: ["select2d", "lasso2d", "autoScale2d"]};

  /* Draw (or redraw in place) one figure {data, layout}; onPoint(trialNumber) on a click. */
  function plotInto(div, figure, onPoint) {
    const done = global.Plotly.react(div, figure.data, figure.layout, PLOT_CONFIG);
    if (onPoint && !div.dataset.clickable) {
      div.dataset.clickable = "1";
      Promise.resolve(done).then(() => {
        div.on("plotly_click", (ev) => {
          const p = ev && ev.points && ev.points[0];
          if (p && Number.isInteger(p.customdata)) onPoint(p.customdata);
        });
      });
    }
    return done;
  }

  const WIDE = new Set(["slices", "parallel", "timeline"]);

  /* All figures of a plots payload {order, titles, figures}, as cards in `container`. */
  function renderFigures(container, plots, onPoint) {
    const seen = new Set();
    let empty = container.querySelector(".plots-empty");
    if (!plots.order.length && !empty) {
      empty = el("p", {class: "muted plots-empty",
        text: "nothing to plot yet: no trial has finished with a value"});
      container.appendChild(empty);
    } else if (plots.order.length && empty) {
      empty.remove();
    }
    for (const key of plots.order) {
      seen.add(key);
      const figure = plots.figures[key];
      let card = container.querySelector('section[data-plot="' + CSS.escape(key) + '"]');
      if (!card) {
        card = el("section", {class: "card" + (WIDE.has(key) ? " full" : ""),
          dataset: {plot: key}},
          el("h2", {text: plots.titles[key]}),
          el("div", {class: "plot", id: "plot-" + key.replace(/[^A-Za-z0-9_-]/g, "_")}),
          el("p", {class: "note"}));
        container.appendChild(card);
      }
      card.querySelector(".note").textContent = figure.note || "";
      plotInto(card.querySelector(".plot"), figure, onPoint);
    }
    for (const card of Array.from(container.querySelectorAll("section[data-plot]"))) {
      if (!seen.has(card.dataset.plot)) card.remove();
    }
    // half-width cards go two by two; an odd one out takes the whole row
    const halves = Array.from(container.querySelectorAll("section[data-plot]"))
      .filter((c) => !WIDE.has(c.dataset.plot));
    halves.forEach((c, i) => c.classList.toggle("full", halves.length % 2 === 1 &&
      i === halves.length - 1));
  }

  /* The summary at the top of a study page, from an overview / since payload. */
  function renderSummary(s, primary) {
    const n = document.getElementById("n-trials");
    if (n) n.textContent = (s.n_trials || 0).toLocaleString();
    const counts = document.getElementById("counts");
    if (counts) clear(counts).appendChild(countsLine(s.counts));
    const last = document.getElementById("last-activity");
    if (last) { last.textContent = fmtAgo(s.last_activity); last.title = fmtTime(s.last_activity); }
    const value = document.getElementById("best-value");
    const params = document.getElementById("best-params");
    const label = document.getElementById("best-label");
    if (!value) return;
    if (s.front_size !== undefined) {
      label.textContent = "Pareto front";
      value.textContent = s.front_size + " trials";
      params.textContent = "";
    } else if (s.best) {
      value.textContent = fmt(s.best.metrics[primary]);
      params.textContent = "trial " + s.best.number + ": " + Object.entries(s.best.params)
        .map(([k, v]) => k + "=" + fmt(v)).join(", ");
      params.title = params.textContent;
    } else {
      value.textContent = "–";
      params.textContent = "no complete trial yet";
    }
  }

  function setLive(text, ok) {
    const live = document.getElementById("live");
    if (!live) return;
    live.textContent = text;
    live.className = "live " + (ok ? "on" : "off");
  }

  async function getJSON(url) {
    const response = await fetch(url, {credentials: "same-origin",
      headers: {"Accept": "application/json"}});
    let body = null;
    try { body = await response.json(); } catch (e) { body = null; }
    if (!response.ok) {
      const err = new Error((body && body.error) || (response.status + " " + response.statusText));
      err.status = response.status;
      throw err;
    }
    return body;
  }

  global.Dialed = {el, clear, fmt, fmtTime, fmtAgo, fmtDuration, badge, countsLine,
    renderTable, renderPager, plotInto, renderFigures, renderSummary, setLive, getJSON, STATES};
})(window);
