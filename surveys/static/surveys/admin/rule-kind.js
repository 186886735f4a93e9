// Distribution rule form: show the section of the chosen kind (trigger or wave) and hide the
// other. Without script both stay visible; a hidden section that holds an error is shown.
(function () {
  "use strict";

  function sync(select) {
    document.querySelectorAll("fieldset.xm-rule-section").forEach(function (section) {
      var mine = section.classList.contains("xm-rule-" + select.value);
      section.hidden = !mine && section.querySelector(".errorlist") === null;
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var select = document.getElementById("id_kind");
    if (select === null) {
      return;
    }
    sync(select);
    select.addEventListener("change", function () {
      sync(select);
    });
  });
})();
