/* Chart export for the admin's server-rendered charts (CSP-safe: a static file, no inline code).

   Markup: <figure class="xm-chart" data-name="file-name" [data-csv="URL" | data-csv="#table-id"
   | data-csv-url="URL"]> … an <svg> or a <table> … </figure>

   Each such figure gets a tool bar with "Download CSV" and "Export PNG":
   - CSV: the URL given (served by the page's view, works without JS too), else the table named
     by "#id", else the first <table> inside the figure, turned into CSV here. A figure that
     already holds a server-rendered link with class "xm-csv-link" keeps it and gets no button.
   - PNG: the figure's first <svg>, cloned with its computed styles inlined, drawn to a canvas
     (a data: URL, which the CSP's img-src allows); a figure with no SVG has its table painted.
   Labels follow <html lang> (tr, en); data-csv-label / data-png-label override them.
*/
(function () {
  "use strict";

  var LABELS = {
    en: { csv: "Download CSV", png: "Export PNG" },
    tr: { csv: "CSV indir", png: "PNG olarak dışa aktar" }
  };
  var STYLE_PROPS = [
    "fill", "fill-opacity", "stroke", "stroke-width", "stroke-opacity", "stroke-dasharray",
    "stroke-linecap", "stroke-linejoin", "opacity", "visibility", "display", "font-family",
    "font-size", "font-weight", "font-style", "text-anchor", "dominant-baseline", "color"
  ];
  var SCALE = 2;

  function labels(figure) {
    var lang = (document.documentElement.lang || "en").slice(0, 2).toLowerCase();
    var base = LABELS[lang] || LABELS.en;
    return {
      csv: figure.getAttribute("data-csv-label") || base.csv,
      png: figure.getAttribute("data-png-label") || base.png
    };
  }

  function fileName(figure, ext) {
    var name = (figure.getAttribute("data-name") || "chart").replace(/[^\w.-]+/g, "-");
    return name + "." + ext;
  }

  function download(href, name) {
    var a = document.createElement("a");
    a.href = href;
    a.download = name;
    a.rel = "noopener";
    a.hidden = true;
    document.body.appendChild(a);
    a.click();
    a.remove();
  }

  function csvCell(text) {
    var t = String(text).replace(/\s+/g, " ").trim();
    // A spreadsheet must not read a cell as a formula (numbers such as -12 stay as they are).
    if (/^[=+@\t\r]/.test(t) || /^-[^\d.]/.test(t)) {
      t = "'" + t;
    }
    return /[",;\n]/.test(t) ? '"' + t.replace(/"/g, '""') + '"' : t;
  }

  function tableCsv(table) {
    var lines = [];
    Array.prototype.forEach.call(table.rows, function (row) {
      var cells = Array.prototype.map.call(row.cells, function (cell) {
        return csvCell(cell.getAttribute("data-value") || cell.textContent);
      });
      lines.push(cells.join(","));
    });
    return "\ufeff" + lines.join("\r\n") + "\r\n";
  }

  function csvSource(figure) {
    var ref = figure.getAttribute("data-csv-url") || figure.getAttribute("data-csv") || "";
    if (ref.charAt(0) === "#") {
      var named = document.getElementById(ref.slice(1));
      return named ? { table: named } : null;
    }
    if (ref) {
      return { url: ref };
    }
    var table = figure.querySelector("table");
    return table ? { table: table } : null;
  }

  function downloadCsv(figure) {
    var source = csvSource(figure);
    if (!source) {
      return;
    }
    if (source.url) {
      download(source.url, fileName(figure, "csv"));
      return;
    }
    var blob = new Blob([tableCsv(source.table)], { type: "text/csv;charset=utf-8" });
    var url = URL.createObjectURL(blob);
    download(url, fileName(figure, "csv"));
    setTimeout(function () { URL.revokeObjectURL(url); }, 1000);
  }

  function background() {
    var bg = getComputedStyle(document.body).backgroundColor;
    return !bg || bg === "transparent" || bg === "rgba(0, 0, 0, 0)" ? "#ffffff" : bg;
  }

  function canvasOf(width, height) {
    var canvas = document.createElement("canvas");
    canvas.width = Math.max(1, Math.round(width * SCALE));
    canvas.height = Math.max(1, Math.round(height * SCALE));
    var ctx = canvas.getContext("2d");
    ctx.fillStyle = background();
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    return { canvas: canvas, ctx: ctx };
  }

  function inlineStyles(source, clone) {
    var from = [source].concat(Array.prototype.slice.call(source.querySelectorAll("*")));
    var to = [clone].concat(Array.prototype.slice.call(clone.querySelectorAll("*")));
    for (var i = 0; i < from.length && i < to.length; i++) {
      var computed = getComputedStyle(from[i]);
      var style = STYLE_PROPS.map(function (p) {
        return p + ":" + computed.getPropertyValue(p);
      }).join(";");
      to[i].setAttribute("style", style);
    }
  }

  function svgPng(figure, svg) {
    var box = svg.getBoundingClientRect();
    var clone = svg.cloneNode(true);
    inlineStyles(svg, clone);
    clone.setAttribute("xmlns", "http://www.w3.org/2000/svg");
    clone.setAttribute("width", String(Math.round(box.width)));
    clone.setAttribute("height", String(Math.round(box.height)));
    var data = new XMLSerializer().serializeToString(clone);
    var img = new Image();
    img.onload = function () {
      var c = canvasOf(box.width, box.height);
      c.ctx.drawImage(img, 0, 0, c.canvas.width, c.canvas.height);
      download(c.canvas.toDataURL("image/png"), fileName(figure, "png"));
    };
    img.src = "data:image/svg+xml;charset=utf-8," + encodeURIComponent(data);
  }

  function tablePng(figure, table) {
    // Paint each cell's box, background, border and text where the browser laid it out.
    var origin = table.getBoundingClientRect();
    var width = Math.max(origin.width, table.scrollWidth);
    var c = canvasOf(width, origin.height);
    var ctx = c.ctx;
    ctx.scale(SCALE, SCALE);
    Array.prototype.forEach.call(table.querySelectorAll("th, td"), function (cell) {
      var r = cell.getBoundingClientRect();
      var x = r.left - origin.left, y = r.top - origin.top;
      var style = getComputedStyle(cell);
      var bg = style.backgroundColor;
      if (bg && bg !== "transparent" && bg !== "rgba(0, 0, 0, 0)") {
        ctx.fillStyle = bg;
        ctx.fillRect(x, y, r.width, r.height);
      }
      var border = parseFloat(style.borderTopWidth) || 0;
      if (border > 0 && style.borderTopStyle !== "none") {
        ctx.strokeStyle = style.borderTopColor;
        ctx.lineWidth = Math.min(border, 2);
        ctx.strokeRect(x + 0.5, y + 0.5, r.width - 1, r.height - 1);
      }
      ctx.fillStyle = style.color;
      var size = parseFloat(style.fontSize) || 12;
      ctx.font = style.fontWeight + " " + size + "px " + style.fontFamily;
      ctx.textBaseline = "top";
      var lines = (cell.innerText || cell.textContent || "").split(/\n+/);
      lines.forEach(function (line, k) {
        ctx.fillText(line.trim(), x + 6, y + 6 + k * size * 1.3, Math.max(r.width - 12, 1));
      });
    });
    download(c.canvas.toDataURL("image/png"), fileName(figure, "png"));
  }

  function exportPng(figure) {
    var svg = figure.querySelector("svg");
    if (svg) {
      svgPng(figure, svg);
      return;
    }
    var table = figure.querySelector("table");
    if (table) {
      tablePng(figure, table);
    }
  }

  function button(text, onClick) {
    var b = document.createElement("button");
    b.type = "button";
    b.className = "button xm-chart-button";
    b.textContent = text;
    b.addEventListener("click", onClick);
    return b;
  }

  function enhance(figure) {
    if (figure.getAttribute("data-xm-chart-ready")) {
      return;
    }
    figure.setAttribute("data-xm-chart-ready", "1");
    var text = labels(figure);
    var bar = figure.querySelector(".xm-chart-tools");
    if (!bar) {
      bar = document.createElement("div");
      bar.className = "xm-chart-tools";
      figure.appendChild(bar);
    }
    if (!figure.querySelector(".xm-csv-link") && csvSource(figure)) {
      bar.appendChild(button(text.csv, function () { downloadCsv(figure); }));
    }
    if (figure.querySelector("svg, table")) {
      bar.appendChild(button(text.png, function () { exportPng(figure); }));
    }
  }

  function init(root) {
    Array.prototype.forEach.call((root || document).querySelectorAll("figure.xm-chart"), enhance);
  }

  window.xmCharts = { init: init, tableCsv: tableCsv };
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { init(document); });
  } else {
    init(document);
  }
})();
