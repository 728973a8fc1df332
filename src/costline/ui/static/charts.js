/*
 * costline charts: renders every <canvas data-chart="ISLAND_ID"> from the JSON data island
 * <script type="application/json" id="ISLAND_ID"> with the vendored Chart.js (global `Chart`).
 * No inline script is needed, so pages work under `Content-Security-Policy: script-src 'self'`:
 *
 *   <div class="chart"><canvas id="spend-trend" data-chart="spend-trend-data"
 *        role="img" aria-label="Monthly spend"></canvas></div>
 *   <script type="application/json" id="spend-trend-data">
 *     {"type": "line", "currency": "USD", "labels": ["2026-07", "2026-08"],
 *      "datasets": [{"label": "Spend", "data": ["1234.50", "1310.00"]}]}
 *   </script>
 *   <script src="/static/vendor/chart.umd.min.js" defer></script>
 *   <script src="/static/charts.js" defer></script>
 *
 * Island fields: type "line" (trends) or "bar" (breakdowns); currency (ISO 4217, formats ticks
 * and tooltips with Intl.NumberFormat); labels; datasets [{label, data, dashed?}] where data has
 * one value per label, numbers or decimal strings (money is sent as strings to keep its
 * precision), null for a gap; optional title; optional stacked and horizontal (bar only: a
 * horizontal bar chart suits breakdowns with long names); optional waterfall (bar only, one
 * dataset): each value is a step drawn from the running sum of the steps before it, except the
 * last, the total, drawn from zero; increases, decreases and the total get their own colours.
 *
 * window.costlineCharts[canvas id] holds what was rendered, read back from the chart:
 * {type, indexAxis, currency, labels, datasets: [{label, data}], formatted (tooltip text of each
 * value), ticks (value-axis tick labels)} or {error}; a waterfall's data are its step values and
 * it adds ranges: the [from, to] of each bar.
 * window.costlineRenderCharts(root) renders charts added to the page later.
 */
(function () {
  "use strict";

  var TYPES = ["line", "bar"];
  var FALLBACK_PALETTE = ["#2f5d8a", "#d08c2f", "#4d8f6a", "#9a4f7d", "#6b7a8f", "#b5533c"];
  var registry = (window.costlineCharts = window.costlineCharts || {});

  function cssVar(name, fallback) {
    var value = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
    return value || fallback;
  }

  function palette() {
    return FALLBACK_PALETTE.map(function (color, i) {
      return cssVar("--chart-" + (i + 1), color);
    });
  }

  function fail(message) {
    throw new Error(message);
  }

  function toNumber(value, where) {
    if (value === null) return null;
    if (typeof value === "string" && /^-?\d+(\.\d+)?$/.test(value.trim())) return Number(value);
    if (typeof value === "number" && isFinite(value)) return value;
    return fail(where + " is " + JSON.stringify(value) + ": expected a number, a decimal string or null");
  }

  /* Checks the island and returns it with numeric data; throws an Error naming what is wrong. */
  function parseIsland(island) {
    var spec;
    try {
      spec = JSON.parse(island.textContent);
    } catch (e) {
      fail("data island #" + island.id + " is not valid JSON (" + e.message + ")");
    }
    if (!spec || typeof spec !== "object") fail("data island #" + island.id + " must hold an object");
    if (TYPES.indexOf(spec.type) < 0) {
      fail("type is " + JSON.stringify(spec.type) + ": expected one of " + TYPES.join(", "));
    }
    if (typeof spec.currency !== "string" || !/^[A-Z]{3}$/.test(spec.currency)) {
      fail("currency is " + JSON.stringify(spec.currency) + ": expected an ISO 4217 code such as USD");
    }
    if (!Array.isArray(spec.labels)) fail("labels must be a list");
    if (!Array.isArray(spec.datasets) || spec.datasets.length === 0) {
      fail("datasets must be a non-empty list");
    }
    var datasets = spec.datasets.map(function (ds, i) {
      var name = "datasets[" + i + "]";
      if (!ds || !Array.isArray(ds.data)) fail(name + ".data must be a list");
      if (ds.data.length !== spec.labels.length) {
        fail(name + " has " + ds.data.length + " values for " + spec.labels.length + " labels");
      }
      return {
        label: String(ds.label === undefined ? "" : ds.label),
        dashed: ds.dashed === true,
        data: ds.data.map(function (v, j) {
          return toNumber(v, name + ".data[" + j + "]");
        }),
      };
    });
    var waterfall = spec.type === "bar" && spec.waterfall === true;
    if (waterfall) {
      if (datasets.length !== 1) fail("a waterfall has one dataset, not " + datasets.length);
      datasets[0].data.forEach(function (v, j) {
        if (v === null) fail("datasets[0].data[" + j + "] is null: a waterfall step needs a value");
      });
    }
    return {
      type: spec.type,
      currency: spec.currency,
      labels: spec.labels.map(String),
      datasets: datasets,
      title: typeof spec.title === "string" ? spec.title : "",
      stacked: spec.type === "bar" && spec.stacked === true && !waterfall,
      horizontal: spec.type === "bar" && spec.horizontal === true,
      waterfall: waterfall,
    };
  }

  function formatters(currency) {
    var locale = document.documentElement.lang || undefined;
    var full = new Intl.NumberFormat(locale, { style: "currency", currency: currency });
    var whole = new Intl.NumberFormat(locale, {
      style: "currency",
      currency: currency,
      maximumFractionDigits: 0,
    });
    var compact = new Intl.NumberFormat(locale, {
      style: "currency",
      currency: currency,
      notation: "compact",
      maximumFractionDigits: 1,
    });
    return {
      full: full.format,
      /* Axis ticks: short, one style per axis ($950; $12K and $0K on an axis reaching 10,000;
       * $0.25 on a small one). Chart.js calls it with (value, index, all ticks). */
      tick: function (value, index, ticks) {
        var top = 0;
        for (var i = 0; i < ticks.length; i++) top = Math.max(top, Math.abs(ticks[i].value));
        if (top >= 10000) return compact.format(value);
        if (Number.isInteger(value)) return whole.format(value);
        return full.format(value);
      },
    };
  }

  /* Floating [from, to] bars of a waterfall: steps from the running sum, the last from zero. */
  function waterfallRanges(steps) {
    var running = 0;
    return steps.map(function (v, i) {
      if (i === steps.length - 1) return [0, v];
      var from = running;
      running += v;
      return [from, running];
    });
  }

  function chartConfig(spec, fmt) {
    var colors = palette();
    var text = cssVar("--text", "#1f2328");
    var muted = cssVar("--text-muted", "#57606a");
    var grid = cssVar("--border", "#d0d7de");
    var categoryAxis = { stacked: spec.stacked, grid: { display: false }, ticks: { color: muted } };
    var valueAxis = {
      stacked: spec.stacked,
      beginAtZero: true,
      grid: { color: grid },
      ticks: { color: muted, callback: fmt.tick },
    };
    return {
      type: spec.type,
      data: {
        labels: spec.labels.slice(),
        datasets: spec.datasets.map(function (ds, i) {
          var color = colors[i % colors.length];
          if (spec.waterfall) {
            var last = ds.data.length - 1;
            color = ds.data.map(function (v, j) {
              return j === last ? colors[4 % colors.length] : v < 0 ? colors[5 % colors.length] : color;
            });
          }
          return {
            label: ds.label,
            steps: ds.data.slice(),
            data: spec.waterfall ? waterfallRanges(ds.data) : ds.data.slice(),
            borderColor: color,
            backgroundColor: color,
            borderWidth: 2,
            borderDash: ds.dashed ? [6, 4] : [],
            pointRadius: spec.type === "line" ? 3 : 0,
            fill: false,
            spanGaps: false,
            tension: 0,
          };
        }),
      },
      options: {
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        indexAxis: spec.horizontal ? "y" : "x",
        interaction: { mode: "index", intersect: false },
        color: text,
        scales: spec.horizontal
          ? { x: valueAxis, y: categoryAxis }
          : { x: categoryAxis, y: valueAxis },
        plugins: {
          title: { display: spec.title !== "", text: spec.title, color: text, align: "start" },
          legend: {
            display: spec.datasets.length > 1,
            position: "bottom",
            labels: { usePointStyle: spec.type === "line", pointStyle: "line" },
          },
          tooltip: {
            callbacks: {
              label: function (ctx) {
                var raw = spec.horizontal ? ctx.parsed.x : ctx.parsed.y;
                if (spec.waterfall) raw = ctx.dataset.steps[ctx.dataIndex];
                var value = raw === null ? "no data" : fmt.full(raw);
                return ctx.dataset.label ? ctx.dataset.label + ": " + value : value;
              },
            },
          },
        },
      },
    };
  }

  /* What Chart.js holds after rendering, as plain JSON for tests and debugging. */
  function snapshot(chart, spec, fmt) {
    var datasets = chart.data.datasets.map(function (ds) {
      return { label: ds.label, data: spec.waterfall ? ds.steps.slice() : ds.data.slice() };
    });
    var extra = {};
    if (spec.waterfall) {
      extra.ranges = chart.data.datasets[0].data.map(function (r) {
        return r.slice();
      });
    }
    return Object.assign(extra, {
      type: chart.config.type,
      indexAxis: chart.options.indexAxis,
      currency: spec.currency,
      labels: chart.data.labels.slice(),
      datasets: datasets,
      formatted: datasets.map(function (ds) {
        return ds.data.map(function (v) {
          return v === null ? null : fmt.full(v);
        });
      }),
      ticks: chart.scales[spec.horizontal ? "x" : "y"].ticks.map(function (t) {
        return t.label;
      }),
    });
  }

  function showError(canvas, message) {
    var note = document.createElement("p");
    note.className = "chart-error";
    note.setAttribute("role", "alert");
    note.textContent = "Chart unavailable: " + message;
    canvas.replaceWith(note);
  }

  /* Charts use the page's font (costline.css), not Chart.js's default. */
  function useCssFont() {
    var family = getComputedStyle(document.body).fontFamily;
    if (family) window.Chart.defaults.font.family = family;
  }

  function renderOne(canvas) {
    var id = canvas.id || canvas.getAttribute("data-chart");
    try {
      if (typeof window.Chart !== "function") {
        fail("Chart.js is not loaded (include vendor/chart.umd.min.js before charts.js)");
      }
      var islandId = canvas.getAttribute("data-chart");
      var island = document.getElementById(islandId);
      if (!island || island.type !== "application/json") {
        fail('no <script type="application/json" id="' + islandId + '"> data island');
      }
      var spec = parseIsland(island);
      var fmt = formatters(spec.currency);
      useCssFont();
      var existing = window.Chart.getChart(canvas);
      if (existing) existing.destroy();
      var chart = new window.Chart(canvas, chartConfig(spec, fmt));
      registry[id] = snapshot(chart, spec, fmt);
    } catch (e) {
      registry[id] = { error: e.message };
      console.error("costline chart #" + id + ": " + e.message);
      showError(canvas, e.message);
    }
  }

  function renderAll(root) {
    var canvases = (root || document).querySelectorAll("canvas[data-chart]");
    Array.prototype.forEach.call(canvases, renderOne);
  }

  window.costlineRenderCharts = renderAll;
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () {
      renderAll(document);
    });
  } else {
    renderAll(document);
  }
})();
