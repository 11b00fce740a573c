/* Small behaviours htmx does not cover: toasts, live countdowns, confirmations. No dependencies. */
(function () {
  "use strict";

  // Toasts: flash messages rendered by the server, and `toast` events sent by htmx responses
  // (HX-Trigger: {"toast": {"level": "success", "message": "..."}}). Errors stay until dismissed.
  function dismiss(toast) {
    toast.classList.add("toast-leaving");
    setTimeout(function () { toast.remove(); }, 200);
  }

  function arm(toast) {
    var close = toast.querySelector(".toast-close");
    if (close) close.addEventListener("click", function () { dismiss(toast); });
    if (!toast.querySelector(".alert-error")) setTimeout(function () { dismiss(toast); }, 6000);
  }

  function showToast(level, message) {
    var region = document.getElementById("toasts");
    if (!region || !message) return;
    var toast = document.createElement("div");
    toast.className = "toast";
    var text = document.createElement("div");
    text.className = "alert alert-" + level;
    text.setAttribute("role", level === "error" ? "alert" : "status");
    text.textContent = message;
    var close = document.createElement("button");
    close.type = "button";
    close.className = "toast-close";
    close.setAttribute("aria-label", "Dismiss");
    close.textContent = "×";
    toast.append(text, close);
    region.append(toast);
    arm(toast);
  }
  window.showToast = showToast;

  document.addEventListener("toast", function (event) {
    var detail = event.detail || {};
    showToast(detail.level || "info", detail.message);
  });

  document.addEventListener("htmx:responseError", function (event) {
    var status = event.detail.xhr.status;
    showToast("error", status === 403
      ? "Your role in this project is read-only."
      : "That did not work (HTTP " + status + "). Reload the page and try again.");
  });

  // Keyboard focus follows a row replaced in place: after Pause, focus lands on Resume.
  var refocusRow = null;
  document.addEventListener("htmx:beforeSwap", function (event) {
    var target = event.detail.target;
    refocusRow = target && target.tagName === "TR" && target.contains(document.activeElement) ? target.id : null;
  });
  document.addEventListener("htmx:afterSettle", function () {
    if (!refocusRow) return;
    var row = document.getElementById(refocusRow);
    var control = row && row.querySelector(".actions-cell button, .actions-cell a");
    if (control) control.focus();
    refocusRow = null;
  });

  // Countdowns: <time data-countdown="ISO moment">, refreshed every second until it passes.
  function pad(number) { return String(number).padStart(2, "0"); }

  function tick() {
    var countdowns = document.querySelectorAll("[data-countdown]");
    for (var i = 0; i < countdowns.length; i++) {
      var element = countdowns[i];
      var left = Math.round((Date.parse(element.dataset.countdown) - Date.now()) / 1000);
      if (left <= 0) { element.textContent = "a moment"; continue; }
      var hours = Math.floor(left / 3600);
      var minutes = Math.floor((left % 3600) / 60);
      element.textContent = (hours ? hours + ":" + pad(minutes) : minutes) + ":" + pad(left % 60);
    }
  }
  setInterval(tick, 1000);

  // <form data-confirm="Question?">: ask before a destructive plain (non-htmx) submit.
  document.addEventListener("submit", function (event) {
    var question = event.target.dataset && event.target.dataset.confirm;
    if (question && !window.confirm(question)) event.preventDefault();
  }, true);

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("#toasts .toast").forEach(arm);
    tick();
  });
})();
