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
