// After a refused form the page is rendered anew and focus starts at the top: move it to the
// first problem, so keyboard and screen-reader users land on it (WCAG 3.3.1). A field marked
// invalid wins (its description names the problem); otherwise the error message itself.
(function () {
  "use strict";

  function focusFirstProblem() {
    const main = document.getElementById("main");
    if (!main) return;
    const field = main.querySelector("[aria-invalid='true']");
    const alert = main.querySelector(".alert-danger[role='alert']");
    const target = field || alert;
    if (!target) return;
    if (target === alert) alert.tabIndex = -1; // focusable by script only, not in the Tab order
    target.focus({ preventScroll: false });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", focusFirstProblem);
  } else {
    focusFirstProblem();
  }
})();
