// Skarbiec mobile app: monthly statements of an account (R-L5): the list of past months from
// GET /accounts/{id}/statements and the PDF downloaded with the session's token. A button on
// the history screen opens it. Plain JavaScript.
"use strict";

(() => {
  const App = window.SkarbiecApp;
  if (!App) return;
  const $ = (sel) => document.querySelector(sel);
  let accountId = null;

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  async function download(month) {
    App.clearMessages();
    try {
      const blob = await App.apiFile(`/accounts/${accountId}/statements/${month.year}-${String(month.month).padStart(2, "0")}.pdf`);
      const url = URL.createObjectURL(blob);
      const a = el("a");
      a.href = url;
      a.download = `statement-${month.year}-${String(month.month).padStart(2, "0")}.pdf`;
      document.body.appendChild(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10000);
      App.showStatus(App.t("statement_ready", { month: month.label }));
    } catch (err) {
      await App.handleError(err);
    }
  }

  async function open() {
    App.clearMessages();
    const heading = $("#history-account");
    accountId = heading ? heading.dataset.accountId : null;
    if (!accountId) return;
    $("#statements-account").textContent = heading.textContent;
    const list = $("#statement-list");
    list.replaceChildren();
    App.show("statements");
    list.setAttribute("aria-busy", "true");
    let months = [];
    try {
      months = await App.api("GET", `/accounts/${accountId}/statements`, undefined, true);
    } catch (err) {
      await App.handleError(err);
    } finally {
      list.setAttribute("aria-busy", "false");
    }
    for (const month of months) {
      const li = el("li");
      const button = el("button", "link-button", App.t("statement_download", { month: month.label }));
      button.type = "button";
      button.addEventListener("click", () => download(month));
      li.appendChild(button);
      list.appendChild(li);
    }
    $("#statements-empty").hidden = months.length > 0;
  }

  function addButton() {
    const anchor = $("#history-search");
    if (!anchor || $("#history-statements")) return;
    const button = el("button", "big-button", App.t("statements_button"));
    button.type = "button";
    button.id = "history-statements";
    button.dataset.t = "statements_button";
    button.addEventListener("click", open);
    anchor.before(button);
  }

  addButton();
  $("#statements-back").addEventListener("click", () => { App.clearMessages(); App.show("history"); });
})();
