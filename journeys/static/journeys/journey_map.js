// The journey map says "scroll sideways" only when its stages are wider than their box.
"use strict";
(function () {
  function mark() {
    document.querySelectorAll(".journey-map").forEach(function (map) {
      var box = map.querySelector(".journey-map-scroll");
      map.classList.toggle("is-scrollable", !!box && box.scrollWidth > box.clientWidth + 1);
    });
  }
  document.addEventListener("DOMContentLoaded", mark);
  window.addEventListener("resize", mark);
})();
