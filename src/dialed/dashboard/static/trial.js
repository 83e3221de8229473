/* A trial page: its intermediate curve; while the trial runs, the curve follows it. */
"use strict";

(function () {
  const D = window.Dialed;
  const body = document.body;
  const url = "/api/studies/" + encodeURIComponent(body.dataset.study) + "/trials/" +
    encodeURIComponent(body.dataset.number);
  const unfinished = (s) => s === "running" || s === "waiting";

  async function refresh() {
    try {
      const t = await D.getJSON(url);
      const curve = document.getElementById("curve");
      if (curve && t.curve) D.plotInto(curve, t.curve);
      if (t.state !== body.dataset.state) { window.location.reload(); return; }
      D.setLive(unfinished(t.state) ? "live" : "finished", true);
      if (unfinished(t.state)) setTimeout(refresh, 2000);
    } catch (e) {
      D.setLive("cannot reach the server: " + e.message, false);
      setTimeout(refresh, 5000);
    }
  }

  refresh();
})();
