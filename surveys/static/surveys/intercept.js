/* xmplatform website and in-app intercept.
 *
 * <script src="https://xm.example.com/intercept.js" data-site="pk_…" async></script>
 * Optional: data-user="<external id>" data-signature="<HMAC-SHA256 of it under the site's
 * secret, hex>", data-lang="tr", data-snooze-days="30" (0: ask on every page).
 *
 * Asks the platform whether to show the survey (no cookies), then shows it in a frame: a
 * window over the page or a panel sliding in. Focus moves into it, Escape and the close
 * button close it, and focus goes back to where it was. Styles are set through the CSSOM,
 * so a page whose Content-Security-Policy forbids inline styles still shows it.
 */
(function () {
  "use strict";
  var script = document.currentScript || document.querySelector("script[data-site]");
  if (!script || !window.fetch || !window.JSON) return;
  var site = script.getAttribute("data-site") || "";
  var base = new URL(script.src, location.href).origin;
  var snoozeDays = parseFloat(script.getAttribute("data-snooze-days") || "30");
  var key = "xm-intercept:" + site;
  var DAY = 86400000;

  function stored() {
    try { return JSON.parse(localStorage.getItem(key) || "null"); } catch (e) { return null; }
  }
  function store(value) {
    try {
      if (value) localStorage.setItem(key, JSON.stringify(value));
      else localStorage.removeItem(key);
    } catch (e) { /* storage off: ask again next time */ }
  }
  function set(el, styles) { for (var k in styles) el.style[k] = styles[k]; return el; }
  function make(tag, styles, attrs) {
    var el = set(document.createElement(tag), styles || {});
    for (var k in attrs || {}) el.setAttribute(k, attrs[k]);
    return el;
  }

  var open = null;

  function close() {
    if (!open) return;
    var current = open;
    open = null;
    document.removeEventListener("keydown", current.onKey, true);
    document.removeEventListener("focusin", current.onFocus, true);
    window.removeEventListener("message", current.onMessage);
    current.root.parentNode && current.root.parentNode.removeChild(current.root);
    document.documentElement.style.overflow = current.overflow;
    store(snoozeDays > 0 ? { until: Date.now() + snoozeDays * DAY } : null);
    var back = current.returnTo;
    if (back && back.focus && document.contains(back)) back.focus();
    else if (document.body) document.body.focus();
  }

  function show(answer) {
    var modal = answer.display !== "slide_in";
    var reduce = window.matchMedia && matchMedia("(prefers-reduced-motion: reduce)").matches;
    var root = make("div", modal ? {
      position: "fixed", inset: "0", zIndex: "2147483000", display: "flex",
      alignItems: "center", justifyContent: "center", background: "rgba(0,0,0,.55)"
    } : { position: "fixed", zIndex: "2147483000", right: "0", bottom: "0" },
    { "data-xm-intercept": answer.display || "modal" });
    var box = make("div", {
      position: "relative", background: "#fff", boxShadow: "0 8px 32px rgba(0,0,0,.35)",
      display: "flex", flexDirection: "column", overflow: "hidden",
      width: modal ? "min(560px, calc(100vw - 16px))" : "min(400px, 100vw)",
      height: modal ? "min(680px, calc(100vh - 32px))" : "min(600px, 85vh)",
      borderRadius: modal ? "12px" : "12px 12px 0 0",
      transform: modal || reduce ? "none" : "translateY(100%)",
      transition: reduce ? "none" : "transform .25s ease-out"
    }, { role: "dialog", "aria-modal": modal ? "true" : "false", "aria-label": answer.title_label });
    var bar = make("div", { display: "flex", justifyContent: "flex-end", flex: "0 0 auto",
      padding: "4px", borderBottom: "1px solid #ddd", background: "#f6f6f6" });
    var button = make("button", {
      width: "44px", height: "44px", border: "0", background: "transparent", color: "#111",
      font: "28px/1 system-ui, sans-serif", cursor: "pointer"
    }, { type: "button", "aria-label": answer.close_label, title: answer.close_label });
    button.textContent = "\u00d7";
    var frame = make("iframe", { border: "0", width: "100%", flex: "1 1 auto" },
      { src: answer.url, title: answer.title_label });
    bar.appendChild(button);
    box.appendChild(bar);
    box.appendChild(frame);
    root.appendChild(box);
    if (modal) root.addEventListener("click", function (e) { if (e.target === root) close(); });
    button.addEventListener("click", close);

    open = {
      root: root,
      returnTo: document.activeElement,
      overflow: document.documentElement.style.overflow,
      onKey: function (e) {
        if (e.key === "Escape" || e.key === "Esc") { e.preventDefault(); close(); }
      },
      // A modal keeps focus inside: focus that leaves it comes back to the close button.
      onFocus: function (e) { if (modal && !box.contains(e.target)) button.focus(); },
      // The framed page says when Escape is pressed inside it (surveys/survey.js).
      onMessage: function (e) {
        if (e.origin === base && e.source === frame.contentWindow && e.data &&
            e.data.xmIntercept === "close") close();
      }
    };
    document.addEventListener("keydown", open.onKey, true);
    document.addEventListener("focusin", open.onFocus, true);
    window.addEventListener("message", open.onMessage);
    if (modal) document.documentElement.style.overflow = "hidden";
    document.body.appendChild(root);
    store({ url: answer.url, display: answer.display, title_label: answer.title_label,
      close_label: answer.close_label });
    button.focus();
    if (!modal && !reduce) requestAnimationFrame(function () {
      requestAnimationFrame(function () { box.style.transform = "translateY(0)"; });
    });
  }

  function ask() {
    var state = stored();
    if (state && state.url) return show(state); // a survey left open on the previous page
    if (snoozeDays > 0 && state && state.until > Date.now()) return;
    var body = { lang: script.getAttribute("data-lang") || document.documentElement.lang || "" };
    var user = script.getAttribute("data-user");
    if (user) {
      body.user = user;
      body.signature = script.getAttribute("data-signature") || "";
    }
    // text/plain keeps this a simple request (no preflight); the platform checks the origin.
    fetch(base + "/intercept/" + encodeURIComponent(site) + "/decide", {
      method: "POST", credentials: "omit", mode: "cors",
      headers: { "Content-Type": "text/plain" }, body: JSON.stringify(body)
    }).then(function (r) { return r.json().then(function (data) { return [r.ok, data]; }); })
      .then(function (result) {
        var data = result[1];
        if (!result[0]) {
          if (window.console) console.warn("xm intercept:", data.error, data.message);
          return;
        }
        if (data.show && data.url) show(data);
        else if (snoozeDays > 0) store({ until: Date.now() + DAY });
      })
      .catch(function () { /* refused or offline: the page goes on without a survey */ });
  }

  window.xmIntercept = { ask: ask, close: close, reset: function () { store(null); } };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", ask);
  else ask();
})();
