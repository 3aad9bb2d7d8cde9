// A container's log: the page starts with its last lines, then asks the
// API for what was written after them every few seconds and appends it,
// keeping the view at the bottom unless the reader scrolled up.
(function () {
  "use strict";
  var max = 5000; // lines kept on the page

  function follow() {
    var pre = document.getElementById("log");
    var state = document.getElementById("log-state");
    if (!pre) return;
    var offset = Number(pre.dataset.offset);
    var every = Number(pre.dataset.refresh) || 2000;

    function poll() {
      var atBottom = window.innerHeight + window.scrollY >= document.body.scrollHeight - 4;
      fetch(pre.dataset.api + "&offset=" + offset, { cache: "no-store", credentials: "same-origin" })
        .then(function (r) {
          return r.json().then(function (body) {
            if (r.status === 404) { throw new Error("gone: " + body.error); }
            if (!r.ok) { throw new Error(body.error || "HTTP " + r.status); }
            return body;
          });
        })
        .then(function (body) {
          if (body.lines.length) {
            pre.appendChild(document.createTextNode(body.lines.join("\n") + "\n"));
            var lines = pre.textContent.split("\n");
            if (lines.length > max) pre.textContent = lines.slice(lines.length - max).join("\n");
            if (atBottom) window.scrollTo(0, document.body.scrollHeight);
          }
          offset = body.offset;
          pre.dataset.offset = offset;
          if (state) { state.textContent = "following"; state.className = "muted"; }
          setTimeout(poll, every);
        })
        .catch(function (e) {
          if (state) { state.textContent = e.message.indexOf("gone") === 0 ? "the container is gone" : "cannot read the log: " + e.message; state.className = "warning"; }
          if (e.message.indexOf("gone") !== 0) setTimeout(poll, every * 2);
        });
    }
    setTimeout(poll, every);
  }
  document.addEventListener("DOMContentLoaded", follow);
})();
