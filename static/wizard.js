// The wizard's two behaviours htmx has no attribute for: focus follows the step after a swap, and
// the Save & Send countdown ticks every second between the server's polls.
(function () {
  "use strict";

  function focusStep() {
    var wizard = document.getElementById("wizard");
    if (!wizard) return;
    var target = wizard.querySelector("[aria-invalid='true']") || wizard.querySelector("[data-autofocus]");
    if (target) {
      target.focus();
      wizard.querySelectorAll("[data-autofocus]").forEach(function (el) { el.removeAttribute("data-autofocus"); });
    }
  }

  function format(seconds) {
    var minutes = Math.floor(seconds / 60);
    var rest = seconds % 60;
    return minutes + ":" + (rest < 10 ? "0" : "") + rest;
  }

  function startCountdowns(root) {
    (root.querySelectorAll ? root : document).querySelectorAll("[data-countdown]").forEach(function (el) {
      if (el.dataset.ticking) return;
      el.dataset.ticking = "1";
      var ends = Date.now() + parseInt(el.dataset.countdown, 10) * 1000;
      function tick() {
        var left = Math.max(0, Math.round((ends - Date.now()) / 1000));
        el.textContent = format(left);
        if (left > 0 && el.isConnected) setTimeout(tick, 1000);
      }
      tick();
    });
  }

  // A new step arrives with its heading marked; partial swaps (search results, pickers) carry no
  // mark, so typing in a search box keeps its focus.
  document.addEventListener("htmx:afterSettle", function () {
    if (document.querySelector("#wizard [data-autofocus]")) focusStep();
  });
  document.addEventListener("htmx:load", function (event) { startCountdowns(event.target); });
  document.addEventListener("DOMContentLoaded", function () {
    startCountdowns(document);
    // After a full page load (a plain POST, a reload) only a step with errors takes the focus.
    var invalid = document.querySelector("#wizard [aria-invalid='true']");
    if (invalid) invalid.focus();
    document.querySelectorAll("#wizard [data-autofocus]").forEach(function (el) { el.removeAttribute("data-autofocus"); });
  });
})();
