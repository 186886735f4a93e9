/* The survey builder's enhancements over the plain question forms: cards dragged (SortableJS)
   or moved with their ↑ ↓ buttons between page sections, page and order kept in the hidden
   inputs, choice rows and "show when" rows added and removed, the rule controls narrowed to
   earlier questions and to what each question type allows, and the phone preview refreshed
   from the form as edited. Without this script the same form posts page and order as typed. */
function xmBuilder() {
  "use strict";

  var root = document.querySelector(".xm-builder");
  if (!root) return;
  var T = JSON.parse(document.getElementById("xm-builder-texts").textContent);
  var prefix = root.dataset.prefix;
  var form = root.closest("form");
  var pagesBox = root.querySelector(".xm-pages");
  var totalInput = form.querySelector("#id_" + prefix + "-TOTAL_FORMS");
  var announcer = document.getElementById("xm-announce");
  var adminLang = document.documentElement.lang || "en";
  var CHOICE_TYPES = ["single_choice", "multiple_choice"];
  var NO_VALUE = ["answered", "not_answered"];

  root.classList.add("xm-builder-js");

  function fmt(text, params) {
    return text.replace(/%\((\w+)\)s/g, function (_m, name) { return params[name]; });
  }
  function say(text) {
    announcer.textContent = "";
    window.setTimeout(function () { announcer.textContent = text; }, 30);
  }
  function sections() { return Array.prototype.slice.call(pagesBox.querySelectorAll(".xm-page")); }
  function cards() { return Array.prototype.slice.call(pagesBox.querySelectorAll(".xm-card")); }
  function field(card, name) { return card.querySelector("[name='" + card.dataset.prefix + "-" + name + "']"); }
  function deleted(card) {
    var box = field(card, "DELETE");
    return !!(box && box.checked);
  }
  function cardKey(card) { return (field(card, "key").value || "").trim(); }
  function cardType(card) { return field(card, "type").value; }
  function cardTitle(card) {
    var label = field(card, "label_" + adminLang);
    var text = label && label.value.trim();
    if (!text) {
      var labels = card.querySelectorAll(".xm-field-label input");
      for (var i = 0; i < labels.length && !text; i++) text = labels[i].value.trim();
    }
    return text || cardKey(card) || T.newQuestion;
  }

  /* --- Pages and order ------------------------------------------------------------------ */

  function newSection() {
    var tpl = document.getElementById(prefix + "-empty-page");
    var holder = document.createElement("div");
    holder.innerHTML = tpl.innerHTML.replace(/__page__/g, String(sections().length + 1));
    var section = holder.firstElementChild;
    pagesBox.appendChild(section);
    section.querySelector(".xm-page-heading").tabIndex = -1;
    makeSortable(section.querySelector(".xm-cards"));
    return section;
  }

  function renumber() {
    var page = 0;
    var order = 0;
    var all = sections();
    all.forEach(function (section, index) {
      var list = section.querySelectorAll(".xm-card");
      if (!list.length && index < all.length - 1) {
        section.remove(); // an emptied page between others goes; its number is taken by the next
        return;
      }
      if (list.length) page += 1;
      var shown = list.length ? page : page + 1;
      section.dataset.page = shown;
      section.querySelector(".xm-page-heading").textContent = fmt(T.page, { n: shown });
      Array.prototype.forEach.call(list, function (card) {
        order += 1;
        field(card, "page").value = page;
        field(card, "order").value = order;
      });
    });
  }

  function positionOf(card) {
    var list = Array.prototype.slice.call(card.parentNode.querySelectorAll(".xm-card"));
    return { position: list.indexOf(card) + 1, page: field(card, "page").value };
  }

  function afterMove(card, quiet) {
    renumber();
    refreshRules();
    schedulePreview();
    if (card && !quiet) {
      var where = positionOf(card);
      say(fmt(T.moved, { question: cardTitle(card), position: where.position, page: where.page }));
    }
  }

  function move(card, step) {
    var list = card.parentNode;
    var all = sections();
    var index = all.indexOf(card.closest(".xm-page"));
    if (step < 0) {
      var prev = card.previousElementSibling;
      if (prev) list.insertBefore(card, prev);
      else if (index > 0) all[index - 1].querySelector(".xm-cards").appendChild(card);
      else return say(fmt(T.top, { question: cardTitle(card) }));
    } else {
      var next = card.nextElementSibling;
      if (next) list.insertBefore(next, card);
      else {
        var target = all[index + 1];
        if (!target) {
          if (list.querySelectorAll(".xm-card").length < 2) {
            return say(fmt(T.bottom, { question: cardTitle(card) }));
          }
          target = newSection(); // moving the last card down opens a new page for it
        }
        var targetList = target.querySelector(".xm-cards");
        targetList.insertBefore(card, targetList.firstChild);
      }
    }
    afterMove(card);
  }

  function makeSortable(list) {
    if (!window.Sortable) return;
    window.Sortable.create(list, {
      group: "xm-questions",
      handle: ".xm-handle",
      draggable: ".xm-card",
      animation: 150,
      ghostClass: "xm-card-ghost",
      forceFallback: true, // the same pointer-driven drag with a mouse, a pen or a finger
      fallbackTolerance: 4,
      onEnd: function (event) { afterMove(event.item); },
    });
  }

  /* --- Cards ---------------------------------------------------------------------------- */

  function toggleByType(card) {
    var type = cardType(card);
    card.querySelectorAll(".xm-for-choice").forEach(function (el) { el.hidden = CHOICE_TYPES.indexOf(type) < 0; });
    card.querySelectorAll(".xm-for-scale").forEach(function (el) { el.hidden = type !== "ces" && type !== "rating"; });
    card.querySelectorAll(".xm-for-text").forEach(function (el) { el.hidden = type !== "text"; });
  }

  function refreshTitle(card) {
    card.querySelector(".xm-title-text").textContent = cardTitle(card);
    var type = field(card, "type");
    var badge = card.querySelector(".xm-card-type");
    if (badge) badge.textContent = type.value ? type.options[type.selectedIndex].text : "";
    card.classList.toggle("xm-card-deleted", deleted(card));
  }

  function enhanceCard(card) {
    card.querySelectorAll(".xm-js-only").forEach(function (el) { el.hidden = false; });
    card.querySelectorAll(".xm-choices").forEach(enhanceChoices);
    card.querySelectorAll(".xm-show-if").forEach(enhanceRule);
    toggleByType(card);
    refreshTitle(card);
  }

  function isPristine(card) {
    if (field(card, "id") && field(card, "id").value) return false;
    if (card.classList.contains("xm-card-errors")) return false;
    return !Array.prototype.some.call(card.querySelectorAll(".xm-field-key input, .xm-field-label input"),
      function (input) { return input.value.trim(); });
  }

  function addCard() {
    var index = parseInt(totalInput.value, 10);
    var tpl = document.getElementById(prefix + "-empty-card");
    var holder = document.createElement("div");
    holder.innerHTML = tpl.innerHTML.replace(/__prefix__/g, String(index));
    var card = holder.firstElementChild;
    var all = sections();
    var section = all.length ? all[all.length - 1] : newSection();
    section.querySelector(".xm-cards").appendChild(card);
    totalInput.value = index + 1;
    syncLanguages(card);
    enhanceCard(card);
    renumber();
    refreshRules();
    say(fmt(T.added, { page: field(card, "page").value }));
    field(card, "key").focus();
    return card;
  }

  /* --- Choice rows ---------------------------------------------------------------------- */

  /* --- The survey's languages ------------------------------------------------------------
     Every text has one input per survey language. A language ticked or typed gets its inputs
     (and its choice column and preview tab) at once; one taken off is only hidden, so its
     texts are kept, as the server keeps them. */

  var TAG = /^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$/;

  function surveyLanguages() {
    var boxes = form.querySelectorAll("input[name='languages']");
    if (!boxes.length) return null;
    var on = Array.prototype.filter.call(boxes, function (b) { return b.checked; }).map(function (b) { return b.value; });
    var other = form.querySelector("input[name='languages_other']");
    (other ? other.value.split(/[\s,;]+/) : []).forEach(function (text) {
      if (TAG.test(text) && text.length <= 8 && on.indexOf(text) < 0) on.push(text);
    });
    return on.length ? on : null;
  }

  function languageInfo(code) {
    var box = form.querySelector("input[name='languages'][value='" + code + "']");
    var label = box && box.closest("label");
    return {
      name: label ? label.childNodes[1].textContent.trim() : code,
      dir: label ? (label.dataset.rtl ? "rtl" : "") : "auto", // an unknown tag: by its text
    };
  }

  function tagLabel(code) {
    var parts = code.split("-");
    return parts[0].toUpperCase() + (parts.length > 1 ? "-" + parts.slice(1).join("-") : "");
  }

  function setDir(input, dir) {
    if (dir) input.setAttribute("dir", dir);
    else input.removeAttribute("dir");
  }

  function takeKept(container, name) {
    var kept = container.querySelector("input.xm-kept-text[name='" + name + "']");
    if (!kept) return "";
    var value = kept.value;
    kept.remove();
    return value;
  }

  function addTextInput(box, code) {
    var model = box.querySelector(".xm-translation");
    if (!model) return;
    var row = model.cloneNode(true);
    var input = row.querySelector("input, textarea");
    var info = languageInfo(code);
    var name = box.dataset.name + "_" + code;
    var id = input.id ? input.id.replace(/_[^_]+$/, "_" + code) : "";
    row.dataset.lang = code;
    row.hidden = false;
    input.name = name;
    if (id) input.id = id;
    input.lang = code;
    input.placeholder = info.name;
    setDir(input, info.dir);
    input.value = takeKept(box, name);
    var tag = row.querySelector(".xm-lang");
    tag.textContent = tagLabel(code);
    tag.title = info.name;
    if (id) tag.htmlFor = id;
    var rows = box.querySelectorAll(".xm-translation");
    rows[rows.length - 1].after(row);
  }

  function addChoiceColumn(box, code) {
    var info = languageInfo(code);
    var heads = box.querySelectorAll("thead th[data-lang]");
    if (!heads.length) return;
    var head = heads[heads.length - 1].cloneNode(false);
    head.dataset.lang = code;
    head.lang = code;
    head.title = info.name;
    head.textContent = tagLabel(code);
    head.hidden = false;
    heads[heads.length - 1].after(head);
    box.querySelectorAll(".xm-choice-row").forEach(function (row) {
      var cells = row.querySelectorAll("td[data-lang]");
      var cell = cells[cells.length - 1].cloneNode(true);
      var input = cell.querySelector("input");
      var name = box.dataset.name + "-label_" + code;
      cell.dataset.lang = code;
      cell.hidden = false;
      input.name = name;
      input.lang = code;
      setDir(input, info.dir);
      input.setAttribute("aria-label", input.getAttribute("aria-label").replace(/[^,]+$/, " " + info.name));
      input.value = takeKept(row, name);
      cells[cells.length - 1].after(cell);
    });
  }

  function syncLanguages(scope) {
    var langs = surveyLanguages();
    if (!langs) return;
    // Survey texts only: the name per admin language (.xm-translations without a data-name)
    // follows the admin's languages.
    scope.querySelectorAll(".xm-translations[data-name]").forEach(function (box) {
      langs.forEach(function (code) {
        if (!box.querySelector(".xm-translation[data-lang='" + code + "']")) addTextInput(box, code);
      });
      box.querySelectorAll(".xm-translation").forEach(function (row) { row.hidden = langs.indexOf(row.dataset.lang) < 0; });
    });
    scope.querySelectorAll(".xm-choices").forEach(function (box) {
      langs.forEach(function (code) {
        if (!box.querySelector("th[data-lang='" + code + "']")) addChoiceColumn(box, code);
      });
      box.querySelectorAll("th[data-lang], td[data-lang]").forEach(function (cell) {
        cell.hidden = langs.indexOf(cell.dataset.lang) < 0;
      });
    });
  }

  function syncDefaultLanguage(langs) {
    var select = form.querySelector("select[name='default_language']");
    if (!select || !langs) return;
    var current = select.value;
    var texts = {};
    Array.prototype.forEach.call(select.options, function (o) { texts[o.value] = o.textContent; });
    if (!select.dataset.texts) select.dataset.texts = JSON.stringify(texts);
    var known = JSON.parse(select.dataset.texts);
    select.innerHTML = "";
    langs.forEach(function (code) {
      select.appendChild(option(code, known[code] || languageInfo(code).name + " (" + code + ")", code === current));
    });
    if (langs.indexOf(current) < 0) select.value = langs[0];
  }

  // A typed tag that has a tick ticks it: the survey's languages read in one place.
  function absorbTyped(input) {
    var rest = [];
    input.value.split(/[\s,;]+/).forEach(function (text) {
      var box = TAG.test(text) && form.querySelector("input[name='languages'][value='" + text + "']");
      if (box) box.checked = true;
      else if (text) rest.push(text);
    });
    input.value = rest.join(", ");
  }

  function languagesChanged() {
    var langs = surveyLanguages();
    syncLanguages(form);
    syncDefaultLanguage(langs);
    syncTabs(langs);
  }

  function blankRow(row) {
    return !Array.prototype.some.call(row.querySelectorAll("input"), function (i) { return i.value.trim(); });
  }

  function enhanceChoices(box) {
    var body = box.querySelector("tbody");
    var rows = Array.prototype.slice.call(body.querySelectorAll(".xm-choice-row"));
    var filled = rows.filter(function (r) { return !blankRow(r); }).length;
    var keep = Math.max(0, 2 - filled);
    rows.filter(blankRow).forEach(function (row) {
      if (keep > 0) keep -= 1;
      else row.remove();
    });
    box.querySelectorAll("[hidden].xm-choice-add, [hidden].xm-choice-remove").forEach(function (el) { el.hidden = false; });
  }

  function addChoice(box) {
    var body = box.querySelector("tbody");
    var model = body.querySelector(".xm-choice-row");
    var row = model.cloneNode(true);
    row.querySelectorAll("input").forEach(function (input) { input.value = ""; });
    body.appendChild(row);
    row.querySelector("input").focus();
  }

  /* --- "Show when" rows ----------------------------------------------------------------- */

  function enhanceRule(box) {
    var rows = Array.prototype.slice.call(box.querySelectorAll(".xm-condition"));
    var used = rows.filter(function (r) { return r.querySelector(".xm-cond-question").value; });
    if (used.length) rows.filter(function (r) { return !r.querySelector(".xm-cond-question").value; }).forEach(function (r) { r.remove(); });
    box.querySelectorAll(".xm-cond-add, .xm-cond-remove").forEach(function (el) { el.hidden = false; });
  }

  function addCondition(box) {
    var list = box.querySelector(".xm-conditions");
    var row = list.querySelector(".xm-condition").cloneNode(true);
    row.querySelector(".xm-cond-question").value = "";
    row.querySelector(".xm-cond-value").value = "";
    var extra = row.querySelector(".xm-value-pick");
    if (extra) extra.remove();
    list.appendChild(row);
    refreshRules();
    row.querySelector(".xm-cond-question").focus();
  }

  function option(value, text, selected) {
    var o = document.createElement("option");
    o.value = value;
    o.textContent = text;
    if (selected) o.selected = true;
    return o;
  }

  function scaleOf(card) {
    var type = cardType(card);
    var range = T.scales[type];
    if (!range) return null;
    var max = parseInt((field(card, "scale_max") || {}).value, 10);
    return [range[0], (type === "ces" || type === "rating") && max ? max : range[1]];
  }

  function choicesOf(card) {
    var out = [];
    card.querySelectorAll(".xm-choice-row").forEach(function (row) {
      var value = row.querySelector(".xm-choice-value").value.trim();
      if (!value) return;
      var label = row.querySelector("[data-lang='" + adminLang + "'] input");
      out.push([value, value + (label && label.value.trim() ? " — " + label.value.trim() : "")]);
    });
    return out;
  }

  function refreshCondition(row, first, earlier) {
    var qSelect = row.querySelector(".xm-cond-question");
    var opSelect = row.querySelector(".xm-cond-op");
    var valueInput = row.querySelector(".xm-cond-value");
    var chosen = qSelect.value;
    qSelect.innerHTML = "";
    qSelect.appendChild(option("", first ? T.always : T.noFurther, !chosen));
    var ref = null;
    earlier.forEach(function (card) {
      var key = cardKey(card);
      qSelect.appendChild(option(key, cardTitle(card) + " (" + key + ")", key === chosen));
      if (key === chosen) ref = card;
    });
    // The survey's hidden fields (known from the start, so offered on every page).
    var box = row.closest(".xm-show-if");
    var fields = JSON.parse((box && box.getAttribute("data-fields")) || "{}");
    var isField = false;
    Object.keys(fields).forEach(function (value) {
      qSelect.appendChild(option(value, fields[value], value === chosen));
      if (value === chosen) isField = true;
    });
    if (chosen && !ref && !isField) qSelect.appendChild(option(chosen, chosen + " ⚠ " + T.noEarlier, true));
    row.classList.toggle("xm-cond-empty", !chosen);
    row.classList.toggle("xm-cond-invalid", !!chosen && !ref && !isField);

    var ops = ref ? T.opsByType[cardType(ref)] || [] : isField ? T.fieldOps : Object.keys(T.operators);
    var op = opSelect.value;
    opSelect.innerHTML = "";
    ops.forEach(function (code) { opSelect.appendChild(option(code, T.operators[code], code === op)); });
    if (ops.indexOf(op) < 0 && ops.length) opSelect.value = ops[0];
    opSelect.hidden = !chosen;

    var pick = row.querySelector(".xm-value-pick");
    if (!pick) {
      pick = document.createElement("select");
      pick.className = "xm-value-pick";
      pick.setAttribute("aria-label", valueInput.getAttribute("aria-label"));
      valueInput.parentNode.insertBefore(pick, valueInput);
    }
    valueInput.hidden = true;
    var values = [];
    if (ref) {
      var scale = scaleOf(ref);
      if (scale) for (var n = scale[0]; n <= scale[1]; n++) values.push([String(n), String(n)]);
      else values = choicesOf(ref);
    }
    var needsValue = !!ref && NO_VALUE.indexOf(opSelect.value) < 0 && values.length > 0;
    pick.hidden = !needsValue;
    pick.innerHTML = "";
    if (needsValue) {
      var current = valueInput.value;
      pick.appendChild(option("", T.chooseValue, !current));
      values.forEach(function (v) { pick.appendChild(option(v[0], v[1], v[0] === current)); });
      if (pick.value !== current) valueInput.value = pick.value;
    } else if (ref) {
      valueInput.value = "";
    } else if (chosen) {
      valueInput.hidden = false; // a rule naming a question not offered: shown as stored
      pick.hidden = true;
    }
  }

  function refreshRules() {
    var all = cards();
    all.forEach(function (card) {
      var myPage = parseInt(field(card, "page").value, 10);
      var earlier = all.filter(function (other) {
        return other !== card && !deleted(other) && cardKey(other) &&
          parseInt(field(other, "page").value, 10) < myPage;
      });
      card.querySelectorAll(".xm-show-if").forEach(function (box) {
        var rows = box.querySelectorAll(".xm-condition");
        Array.prototype.forEach.call(rows, function (row, i) { refreshCondition(row, i === 0, earlier); });
        var used = Array.prototype.filter.call(rows, function (r) { return r.querySelector(".xm-cond-question").value; });
        box.querySelector(".xm-join").hidden = used.length < 2;
        box.classList.toggle("xm-no-earlier", !earlier.length);
      });
    });
  }

  /* --- Preview -------------------------------------------------------------------------- */

  var frame = document.getElementById("xm-preview-frame");
  var completenessBox = document.getElementById("xm-completeness");
  var tabList = root.querySelector(".xm-preview-tabs");
  var previewLang = "";
  function tabs() { return Array.prototype.slice.call(root.querySelectorAll(".xm-preview-tab")); }
  if (tabs().length) previewLang = tabs()[0].dataset.lang;

  function selectTab(tab) {
    previewLang = tab.dataset.lang;
    tabs().forEach(function (t) { t.setAttribute("aria-selected", String(t === tab)); });
  }

  function syncTabs(langs) {
    if (!langs || !tabList) return;
    langs.forEach(function (code) {
      if (tabList.querySelector(".xm-preview-tab[data-lang='" + code + "']")) return;
      var tab = tabs()[0].cloneNode(false);
      tab.dataset.lang = code;
      tab.textContent = tab.title = languageInfo(code).name;
      tab.removeAttribute("href");
      tab.setAttribute("aria-selected", "false");
      tab.hidden = false;
      tabList.appendChild(tab);
    });
    tabs().forEach(function (tab) { tab.hidden = langs.indexOf(tab.dataset.lang) < 0; });
    if (langs.indexOf(previewLang) < 0) {
      var first = tabs().filter(function (t) { return !t.hidden; })[0];
      if (first) selectTab(first);
    }
  }
  var timer = null;
  var pending = null;

  function schedulePreview() {
    if (!frame || !root.dataset.previewUrl) return;
    window.clearTimeout(timer);
    timer = window.setTimeout(refreshPreview, 400);
  }

  function refreshPreview() {
    if (pending) pending.abort();
    pending = new AbortController();
    var url = root.dataset.previewUrl + "?lang=" + encodeURIComponent(previewLang);
    root.classList.add("xm-preview-loading");
    fetch(url, {
      method: "POST",
      body: new FormData(form),
      credentials: "same-origin",
      signal: pending.signal,
      headers: { "X-Requested-With": "XMLHttpRequest" },
    }).then(function (response) {
      if (!response.ok) throw new Error(String(response.status));
      return response.json();
    }).then(function (data) {
      var win = frame.contentWindow;
      var scroll = win && win.scrollY ? win.scrollY : 0;
      frame.onload = function () {
        if (scroll && frame.contentWindow) frame.contentWindow.scrollTo(0, scroll);
      };
      frame.removeAttribute("src");
      frame.srcdoc = data.html;
      completenessBox.innerHTML = data.completeness;
      root.classList.remove("xm-preview-loading");
      root.dataset.previewRefreshed = String(Date.now());
    }).catch(function (error) {
      if (window.console) window.console.warn("Preview not refreshed:", error);
      if (error.name !== "AbortError") root.classList.remove("xm-preview-loading");
    });
  }

  if (tabList) {
    tabList.addEventListener("click", function (event) {
      var tab = event.target.closest(".xm-preview-tab");
      if (!tab) return;
      event.preventDefault();
      selectTab(tab);
      refreshPreview();
    });
  }

  /* --- Wiring --------------------------------------------------------------------------- */

  root.addEventListener("click", function (event) {
    var target = event.target.closest("button");
    if (!target || !root.contains(target)) return;
    var card = target.closest(".xm-card");
    if (target.classList.contains("xm-move-up")) { move(card, -1); target.focus(); }
    else if (target.classList.contains("xm-move-down")) { move(card, 1); target.focus(); }
    else if (target.classList.contains("xm-add-question")) addCard();
    else if (target.classList.contains("xm-add-page")) {
      var section = newSection();
      renumber();
      say(fmt(T.pageAdded, { n: section.dataset.page }));
      section.querySelector(".xm-page-heading").focus();
    } else if (target.classList.contains("xm-card-discard")) { card.remove(); afterMove(null); }
    else if (target.classList.contains("xm-choice-add")) addChoice(target.closest(".xm-choices"));
    else if (target.classList.contains("xm-choice-remove")) {
      var body = target.closest("tbody");
      target.closest("tr").remove();
      if (!body.querySelector("tr")) addChoice(body.closest(".xm-choices"));
      refreshRules();
      schedulePreview();
    } else if (target.classList.contains("xm-cond-add")) addCondition(target.closest(".xm-show-if"));
    else if (target.classList.contains("xm-cond-remove")) {
      var list = target.closest(".xm-conditions");
      var row = target.closest(".xm-condition");
      if (list.querySelectorAll(".xm-condition").length > 1) row.remove();
      else { row.querySelector(".xm-cond-question").value = ""; row.querySelector(".xm-cond-value").value = ""; }
      refreshRules();
      schedulePreview();
    } else return;
    event.preventDefault();
  });

  form.addEventListener("change", function (event) {
    var el = event.target;
    var card = el.closest && el.closest(".xm-card");
    if (el.classList.contains("xm-value-pick")) {
      el.parentNode.querySelector(".xm-cond-value").value = el.value;
    }
    if (el.name === "languages_other") absorbTyped(el);
    if (el.name === "languages" || el.name === "languages_other") languagesChanged();
    if (card) {
      if (el.classList.contains("xm-type")) toggleByType(card);
      refreshTitle(card);
      refreshRules();
    }
    schedulePreview();
  });

  form.addEventListener("input", function (event) {
    var card = event.target.closest && event.target.closest(".xm-card");
    if (card) refreshTitle(card);
    schedulePreview();
  });

  // Start: drop the untouched blank card (gaps in the form numbering are allowed), wire it all.
  var start = cards();
  if (start.length > 1) start.filter(isPristine).forEach(function (card) { card.remove(); });
  root.querySelectorAll(".xm-builder-tools, .xm-js-only").forEach(function (el) {
    if (!el.closest("template")) el.hidden = false;
  });
  sections().forEach(function (section) {
    makeSortable(section.querySelector(".xm-cards"));
    section.querySelector(".xm-page-heading").tabIndex = -1;
  });
  cards().forEach(enhanceCard);
  languagesChanged();
  renumber();
  refreshRules();
  schedulePreview();
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", xmBuilder);
else xmBuilder();
