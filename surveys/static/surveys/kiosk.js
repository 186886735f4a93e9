/* The kiosk page (surveys.kiosk): display logic, the reset after the thank-you page and after
   idle time, the queue of submissions made offline, and the steps of a one-question-at-a-time
   survey. Without this file the page still works online: the whole form in one post, and pages
   that start again by themselves. */
(function () {
  "use strict";
  if (window.xmKiosk) {
    return; // the script met again in a page swapped in
  }
  window.xmKiosk = true;

  var startUrl = "";
  var thanksTimer = 0;
  var lastInput = Date.now();
  var dirty = false;
  var warned = false;
  var pristine = null;
  var flushing = false;
  var idleSeconds = 60;
  var stepAt = -1; // one question at a time: the index of the question shown
  var pointerAt = 0;

  function newKey() {
    if (window.crypto && window.crypto.randomUUID) {
      return window.crypto.randomUUID();
    }
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) {
      return ("0" + b.toString(16)).slice(-2);
    }).join("");
  }

  // --- The queue of submissions made offline ---------------------------------------------

  function queueName() {
    return "xm-kiosk-queue:" + startUrl;
  }

  function readQueue() {
    try {
      return JSON.parse(window.localStorage.getItem(queueName()) || "[]");
    } catch (error) {
      return [];
    }
  }

  function writeQueue(items) {
    window.localStorage.setItem(queueName(), JSON.stringify(items)); // may throw
  }

  // False when the browser keeps nothing (storage full or switched off).
  function enqueue(action, body, key) {
    var items = readQueue();
    if (!items.some(function (item) { return item.key === key; })) {
      items.push({ action: action, body: body, key: key });
      try {
        writeQueue(items);
      } catch (error) {
        return false;
      }
    }
    return true;
  }

  // False when it stays (storage failing): sent again later, a replay the server only answers.
  function drop(key) {
    try {
      writeQueue(readQueue().filter(function (item) { return item.key !== key; }));
      return true;
    } catch (error) {
      return false;
    }
  }

  // One at a time, oldest first. Delivered, or refused for good (a 4xx but 408 and 429): off
  // the queue. A server error or no connection: kept, tried again later. The server accepts
  // each key once, so a submission sent twice still makes one response.
  function flush() {
    var items = readQueue();
    if (flushing || !items.length || navigator.onLine === false) {
      return;
    }
    flushing = true;
    var item = items[0];
    window.fetch(item.action, {
      method: "POST",
      body: new URLSearchParams(item.body),
      credentials: "same-origin",
      headers: { "X-Kiosk-Delivery": "queued" },
    }).then(function (response) {
      var status = response.status;
      var final = status < 400 || (status < 500 && status !== 408 && status !== 429);
      flushing = false;
      if (final && drop(item.key)) {
        flush();
      }
      showStatus();
    }).catch(function () {
      flushing = false;
    });
  }

  function showStatus() {
    var status = document.getElementById("kiosk-status");
    var note = document.getElementById("kiosk-offline-note");
    if (!status || !note) {
      return;
    }
    var offline = navigator.onLine === false;
    status.hidden = !offline;
    status.textContent = offline ? note.content.textContent.trim() : "";
  }

  // --- Display logic: surveys/logic.py's conditions ----------------------------------------

  function answerOf(box) {
    var fields = box.querySelectorAll("input, textarea");
    var values = [];
    var multi = false;
    Array.prototype.forEach.call(fields, function (field) {
      if (field.type === "checkbox") {
        multi = true;
        if (field.checked) {
          values.push(field.value);
        }
      } else if (field.type === "radio") {
        if (field.checked) {
          values.push(field.value);
        }
      } else if (field.value.trim() !== "") {
        values.push(field.value.trim());
      }
    });
    if (multi) {
      return values;
    }
    return values.length ? values[0] : null;
  }

  function empty(value) {
    return value === null || value === undefined || value === "" ||
      (Array.isArray(value) && !value.length);
  }

  function holds(cond, answers) {
    if (!cond || typeof cond !== "object") {
      return false;
    }
    if (cond.all) {
      return cond.all.every(function (c) { return holds(c, answers); });
    }
    if (cond.any) {
      return cond.any.some(function (c) { return holds(c, answers); });
    }
    if (cond.field !== undefined) {
      return true; // a hidden field's condition is the server's to judge
    }
    var answer = answers[cond.question];
    if (cond.op === "not_answered") {
      return empty(answer);
    }
    if (empty(answer)) {
      return false;
    }
    var value = cond.value;
    var list = Array.isArray(value) ? value.map(String) : [];
    switch (cond.op) {
      case "answered": return true;
      case "eq": return String(answer) === String(value);
      case "neq": return String(answer) !== String(value);
      case "in": return list.indexOf(String(answer)) !== -1;
      case "not_in": return list.indexOf(String(answer)) === -1;
      case "contains": return [].concat(answer).map(String).indexOf(String(value)) !== -1;
    }
    var a = parseFloat(answer);
    var v = parseFloat(value);
    if (isNaN(a) || isNaN(v)) {
      return false;
    }
    return { lt: a < v, lte: a <= v, gt: a > v, gte: a >= v }[cond.op] || false;
  }

  function applyLogic(form) {
    var answers = {};
    form.querySelectorAll(".kiosk-question").forEach(function (box) {
      var rule = box.getAttribute("data-show-if");
      var shown = true;
      if (rule) {
        try {
          shown = holds(JSON.parse(rule), answers);
        } catch (error) {
          shown = true;
        }
      }
      box.hidden = !shown;
      box.querySelectorAll("input, textarea").forEach(function (field) {
        field.disabled = !shown; // a hidden question's answer is not sent
      });
      if (shown) {
        answers[box.getAttribute("data-key")] = answerOf(box);
      }
    });
  }

  // --- One question at a time ----------------------------------------------------------------
  // A one-question-at-a-time survey's form (data-one-question) shows one of its shown questions
  // at a time, as the hosted pages do: Back and Next, "Question 2 of 5", a tap on a scale point
  // moves on, focus goes to the new question's heading. It stays one form, sent once, whole.

  function stepped(form) {
    return !!form && form.hasAttribute("data-one-question");
  }

  function questions(form) {
    return Array.prototype.slice.call(form.querySelectorAll(".kiosk-question"));
  }

  function references(cond) {
    if (!cond || typeof cond !== "object") {
      return [];
    }
    var inner = cond.all || cond.any;
    if (Array.isArray(inner)) {
      return inner.reduce(function (keys, c) { return keys.concat(references(c)); }, []);
    }
    return cond.question !== undefined ? [String(cond.question)] : [];
  }

  // What the progress counts: the questions shown, and later ones hidden only because what
  // decides them is not answered yet (as surveys/hosted/pages.py counts), so that it does not
  // grow when an answer reveals one.
  function counted(form) {
    var boxes = questions(form);
    var answers = {};
    boxes.forEach(function (box) {
      answers[box.getAttribute("data-key")] = box.hidden ? null : answerOf(box);
    });
    return boxes.filter(function (box, index) {
      if (!box.hidden) {
        return true;
      }
      if (index <= stepAt || !box.hasAttribute("data-show-if")) {
        return false;
      }
      var rule = null;
      try {
        rule = JSON.parse(box.getAttribute("data-show-if"));
      } catch (error) {
        return false;
      }
      return references(rule).some(function (key) { return empty(answers[key]); });
    });
  }

  function heading(box) {
    return box.querySelector("legend");
  }

  function showStep(form, index, focus) {
    var boxes = questions(form);
    var shown = boxes.filter(function (box) { return !box.hidden; });
    var box = boxes[index];
    if (!box) {
      return;
    }
    stepAt = index;
    boxes.forEach(function (other, i) {
      other.classList.toggle("kiosk-later", i !== index);
    });
    var last = shown[shown.length - 1] === box;
    document.getElementById("kiosk-back").hidden = shown[0] === box;
    document.getElementById("kiosk-next").hidden = last;
    form.querySelector("button[type=submit]").hidden = !last;

    var progress = document.getElementById("kiosk-progress");
    var list = counted(form);
    var total = list.length;
    var number = list.indexOf(box) + 1;
    var label = document.getElementById("progress-label");
    var bar = document.getElementById("progress");
    label.textContent = progress.getAttribute("data-words")
      .replace("{number}", number).replace("{total}", total);
    bar.max = total;
    bar.value = number;
    bar.textContent = number + "/" + total;
    progress.hidden = total < 2;
    if (focus) {
      heading(box).focus();
      var status = document.getElementById("kiosk-step-status");
      status.textContent = progress.hidden ? "" : label.textContent;
      window.scrollTo(0, 0);
    }
  }

  function answered(box) {
    return !box.hasAttribute("data-required") || !empty(answerOf(box));
  }

  // The hosted page's error for a required question left unanswered, said at once.
  function refuse(box) {
    var fieldset = box.querySelector("fieldset");
    var name = heading(box).id.replace(/-label$/, "");
    if (!box.querySelector("[data-kiosk-error]")) {
      var words = document.getElementById("kiosk-required").content;
      var error = words.firstElementChild.cloneNode(true);
      error.id = name + "-error";
      error.setAttribute("data-kiosk-error", "");
      var help = fieldset.querySelector(".help");
      (help || heading(box)).after(error);
      fieldset.classList.add("has-error");
      var described = fieldset.getAttribute("aria-describedby");
      fieldset.setAttribute("aria-describedby", (described ? described + " " : "") + error.id);
      fieldset.querySelectorAll("textarea").forEach(function (field) {
        field.setAttribute("aria-invalid", "true");
      });
    }
    heading(box).focus();
    var announce = document.getElementById("kiosk-announce");
    announce.textContent = "";
    window.setTimeout(function () {
      announce.textContent = box.querySelector("[data-kiosk-error]").textContent;
    }, 50); // emptied first, so the same words are said again at a second refusal
  }

  function clearRefusal(box) {
    var error = box.querySelector("[data-kiosk-error]");
    if (!error || !answered(box)) {
      return;
    }
    var fieldset = box.querySelector("fieldset");
    var rest = (fieldset.getAttribute("aria-describedby") || "").split(" ").filter(function (id) {
      return id && id !== error.id;
    });
    if (rest.length) {
      fieldset.setAttribute("aria-describedby", rest.join(" "));
    } else {
      fieldset.removeAttribute("aria-describedby");
    }
    if (!fieldset.querySelector(".error:not([data-kiosk-error])")) {
      fieldset.classList.remove("has-error");
      fieldset.querySelectorAll("textarea").forEach(function (field) {
        field.removeAttribute("aria-invalid");
      });
    }
    error.remove();
  }

  // Next (direction 1) only past an answered required question; Back (-1) always.
  function go(form, direction) {
    activity();
    var boxes = questions(form);
    if (direction > 0 && !answered(boxes[stepAt])) {
      refuse(boxes[stepAt]);
      return;
    }
    for (var i = stepAt + direction; i >= 0 && i < boxes.length; i += direction) {
      if (!boxes[i].hidden) {
        showStep(form, i, true);
        return;
      }
    }
  }

  // Sent only from the last question shown, and only with every required question answered
  // (Enter in a field submits the form from any question).
  function readyToSend(form) {
    var boxes = questions(form);
    var shown = boxes.filter(function (box) { return !box.hidden; });
    if (shown.length && shown[shown.length - 1] !== boxes[stepAt]) {
      go(form, 1);
      return false;
    }
    for (var i = 0; i < shown.length; i++) {
      if (!answered(shown[i])) {
        showStep(form, boxes.indexOf(shown[i]), false);
        refuse(shown[i]);
        return false;
      }
    }
    return true;
  }

  function startSteps(form) {
    var boxes = questions(form);
    form.classList.add("one-question"); // the hosted page's look of one question at a time
    boxes.forEach(function (box) {
      var legend = heading(box);
      legend.classList.add("step-heading");
      legend.setAttribute("tabindex", "-1");
    });
    var start = boxes.filter(function (box) {
      return !box.hidden && (!form.hasAttribute("data-errors") || box.querySelector(".has-error"));
    })[0] || boxes.filter(function (box) { return !box.hidden; })[0];
    stepAt = -1;
    if (start) {
      showStep(form, boxes.indexOf(start), false);
    }
  }

  // --- Pages ---------------------------------------------------------------------------------

  function swap(html) {
    var next = new DOMParser().parseFromString(html, "text/html");
    // Parsed without scripting, a <noscript> holds live elements: its refresh must not run.
    next.querySelectorAll("noscript").forEach(function (node) { node.remove(); });
    var screen = next.getElementById("screen");
    var current = document.getElementById("screen");
    if (!screen || !current) {
      return false;
    }
    current.replaceWith(document.importNode(screen, true));
    document.title = next.title;
    setUp(false);
    return true;
  }

  function focusFirst(selectors) {
    for (var i = 0; i < selectors.length; i++) {
      var target = document.querySelector(selectors[i]);
      if (target) {
        if (!target.hasAttribute("tabindex")) {
          target.setAttribute("tabindex", "-1");
        }
        target.focus();
        return;
      }
    }
  }

  function reset() {
    window.clearTimeout(thanksTimer);
    if (navigator.onLine !== false || !pristine) {
      window.location.replace(startUrl);
      return;
    }
    // Offline: the page as it first came, answers cleared, without the network.
    var current = document.getElementById("screen");
    current.replaceWith(pristine.cloneNode(true));
    setUp(true);
    window.scrollTo(0, 0);
  }

  function thanks(seconds) {
    dirty = false;
    hideWarning();
    window.clearTimeout(thanksTimer);
    thanksTimer = window.setTimeout(reset, seconds * 1000);
    focusFirst(["#saved-heading", ".kiosk-thanks h2", "#error-summary", "main h1, main h2"]);
  }

  function savedOffline(form) {
    var template = document.getElementById("kiosk-saved");
    var seconds = parseInt(form.getAttribute("data-thank-you-seconds"), 10) || 10;
    var main = document.getElementById("main");
    main.textContent = "";
    main.appendChild(document.importNode(template.content, true));
    window.scrollTo(0, 0);
    thanks(seconds);
  }

  function submit(form) {
    var body = new URLSearchParams(new FormData(form)).toString();
    var key = form.elements.submission.value;
    var action = form.action;
    form.querySelectorAll("button[type=submit]").forEach(function (button) {
      button.disabled = true;
    });
    if (navigator.onLine === false) {
      keep(form, action, body, key);
      return;
    }
    window.fetch(action, {
      method: "POST",
      body: new URLSearchParams(body),
      credentials: "same-origin",
    }).then(function (response) {
      if (response.status >= 500 || response.status === 408 || response.status === 429) {
        throw new Error("not taken now"); // kept, and sent again later
      }
      return response.text().then(function (html) {
        if (!swap(html)) {
          throw new Error("not a page");
        }
      });
    }).catch(function () {
      // No connection (or the server failed): keep it and send it later.
      keep(form, action, body, key);
    });
  }

  function keep(form, action, body, key) {
    if (enqueue(action, body, key)) {
      savedOffline(form);
    } else {
      form.submit(); // nowhere to keep it: the browser's own post says what happens
    }
  }

  // --- Idle reset ----------------------------------------------------------------------------

  function hideWarning() {
    var box = document.getElementById("kiosk-idle");
    if (box) {
      box.hidden = true;
    }
    warned = false;
  }

  function activity() {
    lastInput = Date.now();
    if (warned) {
      hideWarning();
    }
  }

  function tick() {
    var form = document.getElementById("kiosk-form");
    var box = document.getElementById("kiosk-idle");
    if (!form || !box || !dirty) {
      return;
    }
    var warn = Math.min(10, Math.max(2, Math.floor(idleSeconds / 3)));
    var left = Math.ceil(idleSeconds - (Date.now() - lastInput) / 1000);
    if (left <= 0) {
      hideWarning();
      reset();
      return;
    }
    if (left <= warn) {
      var text = document.getElementById("kiosk-idle-text");
      var words = left === 1 ? text.getAttribute("data-one") : text.getAttribute("data-other");
      text.textContent = words.replace("%(seconds)s", left);
      if (!warned) {
        warned = true;
        box.hidden = false;
        // Said once, not at every second of the countdown.
        document.getElementById("kiosk-announce").textContent = text.textContent;
      }
    }
  }

  // --- Setting a page up ---------------------------------------------------------------------

  function setUp(fresh) {
    var form = document.getElementById("kiosk-form");
    var done = document.getElementById("kiosk-thanks");
    var root = form || done;
    if (!root) {
      // A refusal (a revoked device, a closed survey): the next person finds the start again.
      window.clearTimeout(thanksTimer);
      thanksTimer = window.setTimeout(reset, idleSeconds * 1000);
      return;
    }
    startUrl = root.getAttribute("data-start-url");
    if (done) {
      thanks(parseInt(done.getAttribute("data-thank-you-seconds"), 10) || 10);
      return;
    }
    if (fresh && !form.hasAttribute("data-errors")) {
      // Every start is a new submission, also a page the service worker kept.
      form.reset();
      form.elements.submission.value = newKey();
    }
    idleSeconds = parseInt(form.getAttribute("data-idle-seconds"), 10) || 60;
    dirty = form.hasAttribute("data-errors");
    lastInput = Date.now();
    hideWarning();
    applyLogic(form);
    if (stepped(form)) {
      startSteps(form);
    }
    showStatus();
    if (form.hasAttribute("data-errors")) {
      focusFirst(["#error-summary"]);
    }
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.id !== "kiosk-form") {
      return;
    }
    event.preventDefault();
    if (stepped(form) && !readyToSend(form)) {
      return;
    }
    submit(form);
  });

  document.addEventListener("change", function (event) {
    var form = event.target.form;
    if (form && form.id === "kiosk-form") {
      applyLogic(form);
      if (stepped(form)) {
        clearRefusal(event.target.closest(".kiosk-question"));
        showStep(form, stepAt, false); // an answer may show or hide a later question
      }
    }
  });

  document.addEventListener("input", function (event) {
    var form = event.target.form;
    if (stepped(form) && event.target.tagName === "TEXTAREA") {
      clearRefusal(event.target.closest(".kiosk-question"));
    }
  });

  document.addEventListener("click", function (event) {
    var form = document.getElementById("kiosk-form");
    if (!stepped(form)) {
      return;
    }
    if (event.target.id === "kiosk-next") {
      go(form, 1);
    } else if (event.target.id === "kiosk-back") {
      go(form, -1);
    }
  });

  // A tap (or click) on a scale point answers and moves on after a moment, as on the hosted
  // pages; arrow keys only choose (no pointer went down). The last question waits for Submit.
  document.addEventListener("pointerdown", function (event) {
    var target = event.target;
    if (target.closest && target.closest("#kiosk-form[data-one-question] .scale-option")) {
      pointerAt = Date.now();
    }
  }, true);
  document.addEventListener("click", function (event) {
    var input = event.target;
    var form = input.form;
    if (!stepped(form) || form.id !== "kiosk-form" || input.type !== "radio" ||
        !input.closest(".scale") || Date.now() - pointerAt > 1500) {
      return;
    }
    pointerAt = 0;
    var box = input.closest(".kiosk-question");
    window.setTimeout(function () {
      var boxes = questions(form);
      var shown = boxes.filter(function (other) { return !other.hidden; });
      if (boxes[stepAt] === box && shown[shown.length - 1] !== box && input.checked) {
        go(form, 1);
      }
    }, 200);
  });

  ["pointerdown", "keydown", "input", "touchstart", "wheel"].forEach(function (name) {
    document.addEventListener(name, function (event) {
      activity();
      if (event.target.closest && event.target.closest("#kiosk-form")) {
        dirty = true;
      }
    }, { passive: true, capture: true });
  });

  document.addEventListener("click", function (event) {
    if (event.target.id === "kiosk-idle-continue") {
      activity();
    }
  });

  window.addEventListener("online", function () {
    showStatus();
    flush();
  });
  window.addEventListener("offline", showStatus);

  var form = document.getElementById("kiosk-form");
  if (form && !form.hasAttribute("data-errors")) {
    form.elements.submission.value = newKey();
    pristine = document.getElementById("screen").cloneNode(true);
  }
  setUp(false);
  var root = document.querySelector("[data-worker-url]");
  if (root && navigator.serviceWorker) {
    navigator.serviceWorker.register(root.getAttribute("data-worker-url")).catch(function () {
      // No service worker (an insecure origin, a private window): online use is unaffected.
    });
  }
  window.setInterval(tick, 250);
  window.setInterval(flush, 15000);
  flush();
})();
