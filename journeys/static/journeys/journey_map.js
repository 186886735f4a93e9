// The journey map: says when its stages are wider than their box (a line and faded edges), and
// lets stages be reordered by dragging or by their ← → buttons. The buttons are forms that work
// without this script (the page reloads); with it, the order is saved in place and the stage
// list below the map (its order fields) follows, so saving the journey keeps the new order.
"use strict";
(function () {
  function mark() {
    document.querySelectorAll(".journey-map").forEach(function (map) {
      var box = map.querySelector(".journey-map-scroll");
      if (!box) return;
      var over = box.scrollWidth > box.clientWidth + 1;
      map.classList.toggle("is-scrollable", over);
      map.classList.toggle("is-fitting", !over);
      map.classList.toggle("has-more-left", over && box.scrollLeft > 1);
      map.classList.toggle(
        "has-more-right",
        over && box.scrollLeft + box.clientWidth < box.scrollWidth - 1
      );
    });
  }

  function stagesOf(list) {
    return Array.prototype.filter.call(list.children, function (li) {
      return li.classList.contains("journey-map-stage");
    });
  }

  function idsOf(list) {
    return stagesOf(list).map(function (li) { return li.dataset.stage; });
  }

  // Step numbers, the end buttons, and the order fields of the stage list below the map.
  function renumber(list) {
    var stages = stagesOf(list);
    stages.forEach(function (li, i) {
      var step = li.querySelector(".journey-map-step");
      if (step) step.textContent = String(i + 1);
      li.querySelectorAll(".journey-map-move-button").forEach(function (button) {
        var left = button.dataset.direction === "left";
        button.disabled = left ? i === 0 : i === stages.length - 1;
      });
    });
  }

  function syncInline(ids) {
    document.querySelectorAll("input[name^='stages-'][name$='-id']").forEach(function (input) {
      var position = ids.indexOf(input.value);
      if (position < 0) return;
      var order = document.getElementsByName(input.name.replace(/-id$/, "-order"))[0];
      if (order) order.value = String(position + 1);
    });
  }

  function say(map, text, isError) {
    var status = map.querySelector(".journey-map-status");
    if (!status) return;
    status.textContent = text;
    status.classList.toggle("is-error", !!isError);
  }

  function restore(list, ids) {
    ids.forEach(function (id) {
      var li = list.querySelector(".journey-map-stage[data-stage='" + id + "']");
      if (li) list.appendChild(li);
    });
    renumber(list);
  }

  function save(map, list, before) {
    var ids = idsOf(list);
    renumber(list);
    if (ids.join() === before.join()) return;
    var token = map.querySelector("input[name=csrfmiddlewaretoken]");
    var body = new FormData();
    ids.forEach(function (id) { body.append("stage", id); });
    map.classList.add("is-saving");
    fetch(list.dataset.orderUrl, {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { Accept: "application/json", "X-CSRFToken": token ? token.value : "" },
    })
      .then(function (response) {
        return response.json().then(function (data) { return { ok: response.ok, data: data }; });
      })
      .then(function (result) {
        map.classList.remove("is-saving");
        if (!result.ok) {
          restore(list, before);
          say(map, result.data.error || map.dataset.failed, true);
          return;
        }
        syncInline(ids);
        say(map, result.data.message, false);
        // The emotion curve's points sit over the old columns: draw it again.
        if (map.querySelector(".journey-map-curve")) window.location.reload();
      })
      .catch(function () {
        map.classList.remove("is-saving");
        restore(list, before);
        say(map, map.dataset.failed, true);
      });
  }

  function enhance(map) {
    var list = map.querySelector(".journey-map-stages[data-order-url]");
    if (!list) return;
    var box = map.querySelector(".journey-map-scroll");

    // The ← → buttons: move in place, keep the focus on the moved stage's button.
    list.addEventListener("click", function (event) {
      var button = event.target.closest(".journey-map-move-button");
      if (!button || !list.contains(button)) return;
      event.preventDefault();
      if (button.disabled) return;
      var li = button.closest(".journey-map-stage");
      var before = idsOf(list);
      if (button.dataset.direction === "left" && li.previousElementSibling) {
        list.insertBefore(li, li.previousElementSibling);
      } else if (button.dataset.direction === "right" && li.nextElementSibling) {
        list.insertBefore(li.nextElementSibling, li);
      }
      save(map, list, before);
      var focus = button.disabled ? li.querySelector(".journey-map-move-button:not([disabled])") : button;
      if (focus) focus.focus();
      li.scrollIntoView({ block: "nearest", inline: "nearest" });
    });

    // Dragging: the stage follows the pointer; dropped, the order is saved.
    var dragged = null;
    var start = null;
    list.addEventListener("dragstart", function (event) {
      var li = event.target.closest && event.target.closest(".journey-map-stage");
      if (!li || event.target.closest("a, button")) return;
      dragged = li;
      start = idsOf(list);
      li.classList.add("is-dragged");
      event.dataTransfer.effectAllowed = "move";
      event.dataTransfer.setData("text/plain", li.dataset.stage);
    });
    list.addEventListener("dragover", function (event) {
      if (!dragged) return;
      event.preventDefault();
      event.dataTransfer.dropEffect = "move";
      var over = event.target.closest && event.target.closest(".journey-map-stage");
      if (over && over !== dragged) {
        var rect = over.getBoundingClientRect();
        var after = event.clientX > rect.left + rect.width / 2;
        list.insertBefore(dragged, after ? over.nextElementSibling : over);
      }
      if (box) {
        var edge = box.getBoundingClientRect();
        if (event.clientX < edge.left + 40) box.scrollLeft -= 12;
        else if (event.clientX > edge.right - 40) box.scrollLeft += 12;
      }
    });
    list.addEventListener("drop", function (event) {
      if (!dragged) return;
      event.preventDefault();
      var before = start;
      dragged.classList.remove("is-dragged");
      dragged = null;
      save(map, list, before);
    });
    list.addEventListener("dragend", function () {
      if (!dragged) return; // dropped: saved already
      dragged.classList.remove("is-dragged");
      dragged = null;
      restore(list, start); // let go outside the map: nothing moves
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll(".journey-map").forEach(function (map) {
      enhance(map);
      var box = map.querySelector(".journey-map-scroll");
      if (box) box.addEventListener("scroll", mark, { passive: true });
    });
    mark();
  });
  window.addEventListener("resize", mark);
})();
