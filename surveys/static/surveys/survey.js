/* Progressive enhancement only: every page works without this file. */
(function () {
  "use strict";

  // A second click while the first submit is in flight must not send the form twice
  // (the server keeps one response anyway; this spares the respondent a confusing page).
  document.querySelectorAll("form.js-once").forEach(function (form) {
    form.addEventListener("submit", function () {
      form.querySelectorAll("button[type=submit]").forEach(function (button) {
        window.setTimeout(function () { button.disabled = true; }, 0);
      });
    });
  });

  // Coming back with the browser's back button restores the page as it was: re-enable.
  window.addEventListener("pageshow", function (event) {
    if (event.persisted) {
      document.querySelectorAll("form.js-once button[type=submit]").forEach(function (button) {
        button.disabled = false;
      });
    }
  });

  // After a failed submit, move focus to the summary so screen readers announce it.
  var summary = document.getElementById("error-summary");
  if (summary) {
    summary.focus();
  }
})();
