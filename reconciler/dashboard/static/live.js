/* bosun dashboard: live updates without a reload.
   Listens to /api/v1/events/stream; when something shown on this page changes,
   fetches this same page again and swaps in its <main>. Without JavaScript the
   pages work the same (and refresh themselves every 30 s). */
(function () {
  "use strict";
  var main = document.querySelector("main[data-live]");
  if (!main || !window.EventSource || !window.fetch || !window.DOMParser) { return; }
  var watch = main.getAttribute("data-live");
  var timer = null;
  var busy = false;
  var again = false;

  function refresh() {
    timer = null;
    if (busy) { again = true; return; }
    busy = true;
    fetch(window.location.href, { headers: { "Accept": "text/html" }, cache: "no-store" })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (text) {
        if (text === null) { return; }
        var fresh = new DOMParser().parseFromString(text, "text/html").querySelector("main");
        if (fresh) {
          main.innerHTML = fresh.innerHTML;
          document.body.setAttribute("data-updated", String(Date.now()));
        }
      })
      .catch(function () {})
      .then(function () {
        busy = false;
        if (again) { again = false; schedule(); }
      });
  }

  function schedule() {
    if (timer === null) { timer = window.setTimeout(refresh, 200); }
  }

  function concerns(kind, name) {
    return watch === "*" || watch === kind + "/" + name;
  }

  var source = new EventSource("/api/v1/events/stream");
  source.addEventListener("open", function () { document.body.classList.add("live"); });
  source.addEventListener("error", function () { document.body.classList.remove("live"); });
  source.addEventListener("status", function (e) {
    var d = JSON.parse(e.data);
    if (concerns(d.kind, d.name)) { schedule(); }
  });
  source.addEventListener("event", function (e) {
    var d = JSON.parse(e.data);
    if (watch === "*" || (d.ref && concerns(d.ref.kind, d.ref.name))) { schedule(); }
  });
  source.addEventListener("reload", schedule);
})();
