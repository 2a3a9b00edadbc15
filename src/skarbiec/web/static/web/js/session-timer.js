/*
 * Idle countdown of the internet service (R-W3).
 *
 * The server enforces the limit; this only shows it. The page says what is left of the session
 * (data-left-seconds), the idle limit (data-idle-seconds) and what is left whatever the member
 * does (data-absolute-seconds): activity restarts the idle limit, never past the absolute end.
 * A warning appears data-warn-seconds before the end, and at the end the page asks the status
 * endpoint (which does not extend the session). If the session is over (or another tab kept it
 * alive) the page follows what the server says. No inline script: the CSP forbids it.
 */
(function () {
  "use strict";

  function csrfToken() {
    var input = document.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  function format(seconds) {
    var m = Math.floor(seconds / 60);
    var s = seconds % 60;
    return m + ":" + (s < 10 ? "0" : "") + s;
  }

  function start(bar) {
    var idle = parseInt(bar.dataset.idleSeconds, 10) || 300;
    var warn = parseInt(bar.dataset.warnSeconds, 10) || 60;
    var loginUrl = bar.dataset.loginUrl || "/";
    var remainingEl = bar.querySelector("[data-remaining]");
    var warning = document.querySelector("[data-session-warning]");
    var warningRemaining = warning && warning.querySelector("[data-warning-remaining]");
    var extendButton = warning && warning.querySelector("[data-extend]");
    var absolute = parseInt(bar.dataset.absoluteSeconds, 10);
    var absoluteEnd = isNaN(absolute) ? Infinity : Date.now() + absolute * 1000;
    var left = parseInt(bar.dataset.leftSeconds, 10);
    var deadline = Date.now() + (isNaN(left) ? idle : left) * 1000;
    var checking = false;
    var finished = false;
    var returnFocus = null;

    // Focus never falls to <body> when the warning closes (WCAG 2.4.3): back to the element the
    // member was on, else to the page's main content.
    function restoreFocus() {
      var target = returnFocus && document.contains(returnFocus) ? returnFocus : null;
      if (!target) {
        target = document.getElementById("main");
        if (target && !target.hasAttribute("tabindex")) target.setAttribute("tabindex", "-1");
      }
      returnFocus = null;
      if (target) target.focus();
    }

    function leave() {
      finished = true;
      window.location.assign(loginUrl);
    }

    function resync(data) {
      if (!data || typeof data.remaining !== "number" || data.remaining <= 0) {
        leave();
        return;
      }
      deadline = Date.now() + data.remaining * 1000;
      tick();
    }

    function ask(url, options) {
      checking = true;
      return fetch(url, options)
        .then(function (response) {
          if (!response.ok) {
            leave();
            return null;
          }
          return response.json();
        })
        .then(function (data) {
          if (data) resync(data);
        })
        .catch(leave)
        .then(function () {
          checking = false;
        });
    }

    function tick() {
      if (finished) return;
      var left = Math.max(Math.ceil((deadline - Date.now()) / 1000), 0);
      if (remainingEl) {
        remainingEl.textContent = format(left);
        remainingEl.setAttribute("datetime", "PT" + left + "S");
      }
      if (warning) {
        var show = left <= warn;
        if (show && warning.hidden && extendButton) {
          // Remember where the member was, to return there when the session is extended.
          returnFocus = document.activeElement !== document.body ? document.activeElement : null;
          warning.hidden = false;
          extendButton.focus();
        } else if (!show && !warning.hidden) {
          var hadFocus = warning.contains(document.activeElement);
          warning.hidden = true;
          if (hadFocus || document.activeElement === document.body) restoreFocus();
        }
        if (warningRemaining) warningRemaining.textContent = String(left);
      }
      if (left <= 0 && !checking) {
        ask(bar.dataset.statusUrl, { credentials: "same-origin", headers: { Accept: "application/json" } });
      }
    }

    if (extendButton) {
      extendButton.addEventListener("click", function () {
        ask(bar.dataset.extendUrl, {
          method: "POST",
          credentials: "same-origin",
          headers: { Accept: "application/json", "X-CSRFToken": csrfToken() },
        });
      });
    }

    // Any htmx request reaches the server and so restarts its idle clock.
    document.body.addEventListener("htmx:afterRequest", function (event) {
      if (event.detail && event.detail.successful) {
        deadline = Math.min(Date.now() + idle * 1000, absoluteEnd);
      }
    });

    tick();
    window.setInterval(tick, 1000);
  }

  function init() {
    var bar = document.querySelector("[data-session-timer]");
    if (bar) start(bar);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
