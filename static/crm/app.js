// Small behaviours on top of Bootstrap and htmx; everything works without them too.
(function () {
  "use strict";
  // Toasts fade out on their own after a few seconds.
  function hideToasts(root) {
    root.querySelectorAll(".toast.show").forEach(function (el) {
      setTimeout(function () { el.classList.remove("show"); }, 6000);
    });
  }
  document.addEventListener("DOMContentLoaded", function () { hideToasts(document); });
  document.body && document.body.addEventListener("htmx:afterSwap", function (e) { hideToasts(e.target); });

  // A field shown only when a checkbox is ticked (data-show-when="id-of-checkbox").
  function syncDependent() {
    document.querySelectorAll("[data-show-when]").forEach(function (el) {
      var box = document.getElementById(el.getAttribute("data-show-when"));
      if (box) { el.hidden = !box.checked; }
    });
  }
  document.addEventListener("change", syncDependent);
  document.addEventListener("DOMContentLoaded", syncDependent);

  // A report's period: the dates show only for a custom period; typing a date makes it one.
  function syncPeriod() {
    document.querySelectorAll("[data-period-select]").forEach(function (select) {
      var form = select.form;
      var custom = select.value === "custom";
      form.querySelectorAll("[data-custom-period]").forEach(function (el) { el.hidden = !custom; });
    });
  }
  document.addEventListener("change", function (e) {
    if (e.target.matches && e.target.matches("[data-custom-period] input")) {
      var select = e.target.form.querySelector("[data-period-select]");
      if (select) { select.value = "custom"; }
    }
    syncPeriod();
  });
  document.addEventListener("DOMContentLoaded", syncPeriod);
})();
