// The workspace's menu button: below 1024 px the navigation opens and closes behind it.
// Loaded in <head> without defer, so the page never shows the menu before this class hides it;
// without scripts the navigation stays in view above the content.
"use strict";
document.documentElement.classList.add("xm-js");
document.addEventListener("DOMContentLoaded", function () {
    const toggle = document.getElementById("xm-nav-toggle");
    const nav = document.getElementById("xm-nav");
    if (!toggle || !nav) {
        if (toggle) {
            toggle.hidden = true;
        }
        return;
    }
    function setOpen(open) {
        nav.classList.toggle("xm-nav-open", open);
        toggle.setAttribute("aria-expanded", open ? "true" : "false");
    }
    toggle.addEventListener("click", function () {
        setOpen(!nav.classList.contains("xm-nav-open"));
    });
    document.addEventListener("keydown", function (event) {
        if (event.key === "Escape" && nav.classList.contains("xm-nav-open")) {
            setOpen(false);
            toggle.focus();
        }
    });
});
