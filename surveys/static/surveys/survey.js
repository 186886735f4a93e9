/* Progressive enhancement only: every page works without this file. */
(function () {
  "use strict";

  // Framed by a website intercept (surveys/intercept.js): Escape pressed inside the survey
  // asks the embedding page to close it, as Escape on the page itself does.
  if (window.parent !== window) {
    document.addEventListener("keydown", function (event) {
      if (event.key === "Escape" || event.key === "Esc") {
        window.parent.postMessage({ xmIntercept: "close" }, "*");
      }
    });
  }

  // A second click while the first submit is in flight must not send the form twice
  // (the server keeps one response anyway; this spares the respondent a confusing page).
  function guardOnce(root) {
    root.querySelectorAll("form.js-once").forEach(function (form) {
      form.addEventListener("submit", function () {
        form.querySelectorAll("button[type=submit]").forEach(function (button) {
          window.setTimeout(function () { button.disabled = true; }, 0);
        });
      });
    });
  }
  guardOnce(document);

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

  // --- The thank-you page's redirect ------------------------------------------------------
  // A brand may send respondents on after some seconds: only to the call to action's own link
  // (the server's configured one), announced in the status note, stoppable, and never without
  // this script (the button stays).
  function startRedirect(root) {
    var link = root.querySelector("a[data-redirect-seconds]");
    var note = root.querySelector("#redirect-note");
    var stop = root.querySelector("#redirect-stop");
    var seconds = link ? parseInt(link.getAttribute("data-redirect-seconds"), 10) : 0;
    if (!link || !note || !(seconds > 0) || !/^https?:$/.test(link.protocol)) {
      return;
    }
    var text = note.textContent;
    note.textContent = "";
    note.hidden = false;
    window.setTimeout(function () {
      note.textContent = text;  // filled once shown, so the status region announces it
    }, 100);
    var timer = window.setTimeout(function () {
      window.location.assign(link.href);
    }, seconds * 1000);
    if (stop) {
      stop.parentNode.hidden = false;
      stop.addEventListener("click", function () {
        window.clearTimeout(timer);
        note.textContent = note.getAttribute("data-stopped");
        stop.parentNode.hidden = true;
        link.focus();
      });
    }
  }
  startRedirect(document);

  // --- One question at a time -------------------------------------------------------------
  // The server steps through one question per page by itself; here each step is fetched and
  // swapped in place: tapping a scale point moves on, focus goes to the next question, and a
  // polite live region says where the respondent is. Any failure falls back to a real page load.
  if (!document.body.classList.contains("one-question") || !window.fetch || !window.DOMParser) {
    return;
  }

  var live = document.createElement("p");
  live.className = "visually-hidden";
  live.setAttribute("aria-live", "polite");
  live.id = "step-status";
  document.body.appendChild(live);

  var busy = false;
  var pointerAt = 0;

  function swap(html, url, push) {
    var next = new DOMParser().parseFromString(html, "text/html");
    var screen = next.getElementById("screen");
    var current = document.getElementById("screen");
    if (!screen || !current) {
      window.location.assign(url);
      return;
    }
    current.replaceWith(document.importNode(screen, true));
    document.title = next.title;
    document.documentElement.lang = next.documentElement.lang;
    document.documentElement.dir = next.documentElement.dir || "";
    document.body.className = next.body.className;
    if (push) {
      window.history.pushState({ step: true }, "", url);
    }
    guardOnce(document);
    startRedirect(document);
    var target = document.getElementById("error-summary") ||
      document.querySelector(".step-heading") ||
      document.getElementById("message-heading") ||
      document.querySelector("main h1");
    if (target) {
      if (!target.hasAttribute("tabindex")) {
        target.setAttribute("tabindex", "-1");
      }
      target.focus();
    }
    var progress = document.getElementById("progress-label");
    live.textContent = progress ? progress.textContent : "";
    window.scrollTo(0, 0);
  }

  function step(url, options, push) {
    if (busy) {
      return;
    }
    busy = true;
    window.fetch(url, Object.assign({ credentials: "same-origin" }, options))
      .then(function (response) {
        var type = response.headers.get("Content-Type") || "";
        if (type.indexOf("text/html") !== 0) {
          throw new Error("not a page");
        }
        return response.text().then(function (html) {
          swap(html, response.url, push);
        });
      })
      .catch(function () {
        window.location.assign(url);
      })
      .then(function () {
        busy = false;
      });
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.classList || !form.classList.contains("one-question")) {
      return;
    }
    event.preventDefault();
    step(form.action, { method: "POST", body: new FormData(form) }, true);
  });

  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("a.js-back");
    if (!link || event.ctrlKey || event.metaKey || event.shiftKey) {
      return;
    }
    event.preventDefault();
    step(link.href, { method: "GET" }, true);
  });

  // A tap (or click) on a scale point answers and moves on, also on the point already chosen
  // (coming back to change nothing); arrow keys only choose (they click radios too, but no
  // pointer went down), so keyboard users pick freely and go on with Enter or Next.
  document.addEventListener("pointerdown", function (event) {
    if (event.target.closest && event.target.closest(".one-question .scale-option")) {
      pointerAt = Date.now();
    }
  });
  document.addEventListener("click", function (event) {
    var input = event.target;
    var form = input.form;
    if (!form || !form.classList.contains("one-question") || input.type !== "radio" ||
        !input.closest(".scale") || Date.now() - pointerAt > 1500) {
      return;
    }
    pointerAt = 0;
    window.setTimeout(function () {
      if (form.requestSubmit) {
        form.requestSubmit();
      } else {
        form.dispatchEvent(new Event("submit", { cancelable: true, bubbles: true }));
      }
    }, 200);
  });

  window.addEventListener("popstate", function () {
    step(window.location.href, { method: "GET" }, false);
  });
  window.history.replaceState({ step: true }, "", window.location.href);
})();
