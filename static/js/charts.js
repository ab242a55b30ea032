// Charts from markup: <canvas data-chart='{"type": "line", "data": {...}, "options": {...}}'>.
// The attribute holds a Chart.js configuration (static/vendor/chartjs); every page that shows a
// chart also shows its numbers as a table or CSV. Works on page load and after HTMX swaps.
(function () {
  var DEFAULT_OPTIONS = {
    responsive: true,
    maintainAspectRatio: false,
    animation: false,
    interaction: { mode: "index", intersect: false },
  };

  // "timeAxis": {"timeZone": "..."} (config/charts.py): points are {x: milliseconds, y: value}
  // on a linear x axis, so irregular readings are spaced by time; ticks and tooltips show dates
  // in the seller's time zone (with the hour when the chart spans less than a few days).
  function useTimeAxis(config) {
    var time = config.timeAxis;
    delete config.timeAxis;
    if (!time) return;
    var xs = [];
    (config.data.datasets || []).forEach(function (dataset) {
      (dataset.data || []).forEach(function (point) { if (point && typeof point.x === "number") xs.push(point.x); });
    });
    var span = xs.length ? Math.max.apply(null, xs) - Math.min.apply(null, xs) : 0;
    var options = { month: "short", day: "numeric", timeZone: time.timeZone || undefined };
    if (span < 3 * 86400000) { options.hour = "2-digit"; options.minute = "2-digit"; }
    var format;
    try { format = new Intl.DateTimeFormat(undefined, options); } catch (error) { delete options.timeZone; format = new Intl.DateTimeFormat(undefined, options); }
    var full = new Intl.DateTimeFormat(undefined, Object.assign({}, options, { year: "numeric", hour: "2-digit", minute: "2-digit" }));
    config.options.scales = config.options.scales || {};
    var x = Object.assign({ type: "linear" }, config.options.scales.x || {});
    if (xs.length && span === 0) { x.min = xs[0] - 3600000; x.max = xs[0] + 3600000; }
    x.ticks = Object.assign({ maxTicksLimit: 8 }, x.ticks || {});
    x.ticks.callback = function (value) { return format.format(new Date(value)); };
    config.options.scales.x = x;
    config.options.plugins = config.options.plugins || {};
    config.options.plugins.tooltip = Object.assign({}, config.options.plugins.tooltip || {}, {
      callbacks: { title: function (items) { return items.length ? full.format(new Date(items[0].parsed.x)) : ""; } },
    });
  }

  function draw(canvas) {
    if (canvas._chart || typeof window.Chart === "undefined") return;
    var config;
    try {
      config = JSON.parse(canvas.getAttribute("data-chart"));
    } catch (error) {
      return; // a broken configuration leaves the table beside it as the only view
    }
    config.options = Object.assign({}, DEFAULT_OPTIONS, config.options || {});
    useTimeAxis(config);
    canvas._chart = new window.Chart(canvas, config);
  }

  function drawAll(root) {
    if (!root || !root.querySelectorAll) return;
    if (root.matches && root.matches("canvas[data-chart]")) draw(root);
    Array.prototype.forEach.call(root.querySelectorAll("canvas[data-chart]"), draw);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { drawAll(document); });
  } else {
    drawAll(document);
  }
  document.addEventListener("htmx:load", function (event) { drawAll(event.target); });
  document.addEventListener("htmx:beforeCleanupElement", function (event) {
    var chart = event.target && event.target._chart;
    if (chart) chart.destroy();
  });
})();
