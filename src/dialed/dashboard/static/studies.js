/* The studies page: the list, refreshed every five seconds. */
"use strict";

(function () {
  const {el, clear, fmt, fmtAgo, fmtTime, badge, countsLine, getJSON, setLive} = window.Dialed;
  const tbody = document.querySelector("#studies tbody");
  const status = document.getElementById("studies-status");

  function render(data) {
    clear(tbody);
    for (const s of data.studies) {
      const href = "/studies/" + encodeURIComponent(s.name);
      tbody.appendChild(el("tr", {dataset: {study: s.name}},
        el("td", {}, el("a", {href: href, class: "study-link", text: s.name})),
        el("td", {}, badge(s.state)),
        el("td", {class: "num", text: s.n_trials.toLocaleString()}),
        el("td", {}, countsLine(s.counts)),
        el("td", {class: "num", title: s.primary + " (" + s.direction + ")"},
          s.best === null ? "–" : fmt(s.best), " ", el("span", {class: "muted", text: s.primary})),
        el("td", {class: "mono", text: s.metrics.map((m) => m.name + ": " + m.spec).join(", ")}),
        el("td", {title: fmtTime(s.last_activity), text: fmtAgo(s.last_activity)}),
        el("td", {text: fmtTime(s.created_at)})));
    }
    status.textContent = data.studies.length ? data.studies.length + " studies" :
      "no studies in this storage yet";
  }

  async function refresh() {
    try {
      render(await getJSON("/api/studies"));
      setLive("live", true);
    } catch (e) {
      setLive("cannot reach the server: " + e.message, false);
    }
    setTimeout(refresh, 5000);
  }

  refresh();
})();
