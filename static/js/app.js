// Tell the seller when an HTMX request failed, instead of failing silently.
(function () {
  function showError(text) {
    var toast = document.getElementById("htmx-error");
    if (!toast) return;
    toast.textContent = text;
    toast.hidden = false;
    clearTimeout(toast._timer);
    toast._timer = setTimeout(function () { toast.hidden = true; }, 6000);
  }
  // Background work could not be started (503): the answer is the fragment that says so; show it.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var xhr = event.detail.xhr;
    if (xhr && xhr.status === 503 && xhr.getResponseHeader("X-Background-Unavailable")) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });
  document.addEventListener("htmx:responseError", function (event) {
    var status = event.detail.xhr ? event.detail.xhr.status : "";
    showError(status === 404 ? "That item no longer exists." : "Something went wrong (" + status + "). Please reload the page.");
  });
  document.addEventListener("htmx:sendError", function () {
    showError("The server cannot be reached. Check your connection; the page will update when it is back.");
  });
})();

// Copy buttons (the order page's ship-to address and quantity): the value is in data-copy.
(function () {
  document.addEventListener("click", function (event) {
    var button = event.target.closest("button[data-copy]");
    if (!button || !navigator.clipboard) return;
    navigator.clipboard.writeText(button.getAttribute("data-copy")).then(function () {
      var label = button.textContent;
      button.textContent = "Copied";
      setTimeout(function () { button.textContent = label; }, 1500);
    });
  });
})();

// "Select all" boxes: <input type="checkbox" data-select-all="NAME"> ticks or clears every checkbox
// named NAME on the page, and follows them (ticked when all are, half when some are). Re-bound
// after HTMX swaps, as the rows it controls come and go.
(function () {
  function boxes(master) {
    return Array.prototype.filter.call(
      document.querySelectorAll('input[type="checkbox"][name="' + master.getAttribute("data-select-all") + '"]'),
      function (box) { return box !== master && !box.disabled; }
    );
  }
  function sync(master) {
    var all = boxes(master);
    var ticked = all.filter(function (box) { return box.checked; }).length;
    master.checked = all.length > 0 && ticked === all.length;
    master.indeterminate = ticked > 0 && ticked < all.length;
  }
  document.addEventListener("change", function (event) {
    var target = event.target;
    if (!target.matches || !target.matches('input[type="checkbox"]')) return;
    if (target.hasAttribute("data-select-all")) {
      boxes(target).forEach(function (box) { box.checked = target.checked; });
      return;
    }
    Array.prototype.forEach.call(
      document.querySelectorAll('input[data-select-all="' + target.name + '"]'), sync
    );
  });
  function syncAll() {
    Array.prototype.forEach.call(document.querySelectorAll("input[data-select-all]"), sync);
  }
  document.addEventListener("htmx:load", syncAll);
})();

// The connect-a-store page shows only the chosen marketplace's panel (the server shows the one
// chosen when the page loads; without JavaScript every choice still submits).
(function () {
  document.addEventListener("change", function (event) {
    var target = event.target;
    if (!target.matches || !target.matches('input[type="radio"][name="marketplace"]')) return;
    Array.prototype.forEach.call(document.querySelectorAll("[data-connect-panel]"), function (panel) {
      panel.hidden = panel.getAttribute("data-connect-panel") !== target.value;
    });
  });
})();
