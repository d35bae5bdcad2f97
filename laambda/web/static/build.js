// Follows a running build's log (server-sent events) and shows its outcome when it ends.
(function () {
  "use strict";
  var log = document.getElementById("log");
  var outcome = document.getElementById("outcome");
  var status = document.getElementById("build-status");
  if (!log || !log.dataset.follow || !window.EventSource) { return; }
  var ICONS = { succeeded: "✓", failed: "✗", cancelled: "⊘", abandoned: "✗" };
  var TONES = { succeeded: "ok", failed: "bad", cancelled: "muted", abandoned: "bad" };

  function badge(value) {
    var span = document.createElement("span");
    span.className = "status " + (TONES[value] || "muted");
    var icon = document.createElement("span");
    icon.setAttribute("aria-hidden", "true");
    icon.textContent = ICONS[value] || "•";
    span.appendChild(icon);
    span.appendChild(document.createTextNode(" " + value));
    return span;
  }

  var source = new EventSource(log.dataset.follow);
  // every connection replays the log from its start: after a reconnect, start over
  source.addEventListener("open", function () { log.textContent = ""; });
  source.addEventListener("line", function (event) {
    var atEnd = window.innerHeight + window.scrollY >= document.body.scrollHeight - 40;
    log.appendChild(document.createTextNode(JSON.parse(event.data) + "\n"));
    if (atEnd) { window.scrollTo(0, document.body.scrollHeight); }
  });
  source.addEventListener("done", function (event) {
    source.close();
    var end = JSON.parse(event.data);
    outcome.replaceChildren(badge(end.status));
    if (end.detail) {
      var detail = document.createElement("span");
      detail.className = end.status === "succeeded" ? "" : "error-text";
      detail.textContent = " " + end.detail;
      outcome.appendChild(detail);
    }
    status.replaceChildren(badge(end.status));
  });
})();
