// The viewer's page: server-rendered HTML kept live without a reload.
// Every few seconds it asks the JSON API whether the data changed
// (If-None-Match with the ETag the page was rendered from); when it did,
// it fetches the page again and swaps in its #content. Ages keep counting
// between polls. The filter form updates the list in place.
(function () {
  "use strict";
  var timer = null;
  var skew = 0; // server clock minus browser clock, from data-now

  function content() { return document.getElementById("content"); }

  function setLive(ok, why) {
    var el = document.getElementById("live");
    if (!el) return;
    el.className = ok ? "live" : "live down";
    el.textContent = ok ? "live" : "disconnected";
    el.title = ok ? "updates without reload" : "cannot reach the API: " + why;
  }

  function age(ms) {
    var s = Math.max(0, Math.floor(ms / 1000));
    var m = Math.floor(s / 60), h = Math.floor(s / 3600), d = Math.floor(s / 86400);
    if (s < 120) return s + "s";
    if (m < 10) return s % 60 ? m + "m" + (s % 60) + "s" : m + "m";
    if (h < 3) return m + "m";
    if (h < 8) return m % 60 ? h + "h" + (m % 60) + "m" : h + "h";
    if (h < 48) return h + "h";
    if (d < 8) return h % 24 ? d + "d" + (h % 24) + "h" : d + "d";
    return d + "d";
  }

  function tick() {
    var now = Date.now() + skew;
    document.querySelectorAll("time[data-since]").forEach(function (el) {
      el.textContent = age(now - Number(el.dataset.since));
    });
  }

  function adopt() {
    var c = content();
    if (c && c.dataset.now) skew = Number(c.dataset.now) - Date.now();
    var form = document.getElementById("filter");
    if (form && !form.dataset.bound) {
      form.dataset.bound = "1";
      var apply = function () {
        var q = new URLSearchParams();
        new FormData(form).forEach(function (v, k) { if (String(v).trim()) q.set(k, String(v).trim()); });
        history.pushState(null, "", "/" + (q.toString() ? "?" + q.toString() : ""));
        reload();
      };
      form.addEventListener("submit", function (ev) { ev.preventDefault(); apply(); });
      var clear = document.getElementById("filter-clear");
      if (clear) {
        clear.addEventListener("click", function (ev) {
          ev.preventDefault();
          form.reset();
          form.elements.l.value = "";
          form.elements.service.value = "";
          apply();
        });
      }
    }
  }

  function reload() {
    return fetch(location.pathname + location.search, { cache: "no-store", credentials: "same-origin" })
      .then(function (r) { return r.text(); })
      .then(function (html) {
        var next = new DOMParser().parseFromString(html, "text/html").getElementById("content");
        var cur = content();
        if (next && cur) {
          cur.replaceWith(next);
          adopt();
          tick();
        }
      });
  }

  function poll() {
    var c = content();
    if (!c || !c.dataset.api) return;
    var headers = {};
    if (c.dataset.etag) headers["If-None-Match"] = c.dataset.etag;
    fetch(c.dataset.api, { headers: headers, cache: "no-store", credentials: "same-origin" })
      .then(function (r) {
        if (r.status === 304) { setLive(true); return null; }
        // 404: what the page shows is gone (a deleted group); the page,
        // fetched again, says so rather than showing its last state. The
        // "not found" page carries no ETag: it is fetched once, not at
        // every poll, and still follows the group if it comes back.
        if (r.status === 404) { setLive(true); return c.dataset.etag ? reload() : null; }
        // 400: the filter is refused, as the page already says; the
        // daemon answers all the same.
        if (r.status === 400) { setLive(true); return null; }
        if (r.status !== 200) throw new Error("HTTP " + r.status);
        setLive(true);
        if (r.headers.get("ETag") !== c.dataset.etag) return reload();
        return null;
      })
      .catch(function (e) { setLive(false, e.message); })
      .then(schedule, schedule);
  }

  function schedule() {
    var c = content();
    var every = (c && Number(c.dataset.refresh)) || 2000;
    clearTimeout(timer);
    timer = setTimeout(poll, every);
  }

  // After back or forward, the form shows the URL's filter again.
  window.addEventListener("popstate", function () {
    var q = new URLSearchParams(location.search);
    var form = document.getElementById("filter");
    if (form) {
      form.elements.l.value = q.get("l") || q.get("labels") || "";
      form.elements.service.value = q.get("service") || "";
    }
    reload();
  });
  document.addEventListener("DOMContentLoaded", function () {
    adopt();
    tick();
    setInterval(tick, 1000);
    schedule();
  });
})();
