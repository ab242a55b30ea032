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

  function draw(canvas) {
    if (canvas._chart || typeof window.Chart === "undefined") return;
    var config;
    try {
      config = JSON.parse(canvas.getAttribute("data-chart"));
    } catch (error) {
      return; // a broken configuration leaves the table beside it as the only view
    }
    config.options = Object.assign({}, DEFAULT_OPTIONS, config.options || {});
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
