// Skarbiec mobile app: the payee book in the transfer form (R-L4 extended): pick a saved or
// trusted payee to fill the number, name and title, or tick "save this payee". Plain
// JavaScript; ledger.js announces the form with the skarbiec:transfer-form event and sends
// the tick as save_payee.
"use strict";

(() => {
  const App = window.SkarbiecApp;
  if (!App) return;
  const $ = (sel) => document.querySelector(sel);
  let book = [];

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function ensureFields() {
    const other = $("#transfer-other");
    if (!other || $("#transfer-payee")) return;
    const label = el("label", "", App.t("payee_pick"));
    label.htmlFor = "transfer-payee";
    label.dataset.t = "payee_pick";
    const select = el("select", "select");
    select.id = "transfer-payee";
    select.addEventListener("change", pick);
    other.prepend(label, select);
    const save = el("div", "check-row");
    const box = el("input");
    box.type = "checkbox";
    box.id = "transfer-save-payee";
    const boxLabel = el("label", "", App.t("payee_save"));
    boxLabel.htmlFor = box.id;
    boxLabel.dataset.t = "payee_save";
    save.append(box, boxLabel);
    other.appendChild(save);
  }

  function pick() {
    const payee = book.find((p) => String(p.id) === $("#transfer-payee").value);
    if (!payee) return;
    $("#transfer-account").value = payee.account_formatted;
    $("#transfer-name").value = payee.name;
    if (payee.title) $("#transfer-title-input").value = payee.title;
    $("#transfer-save-payee").checked = false;
  }

  async function fill() {
    ensureFields();
    const select = $("#transfer-payee");
    if (!select) return;
    $("#transfer-save-payee").checked = false;
    try {
      book = await App.api("GET", "/payees", undefined, true);
    } catch (err) {
      book = [];
    }
    const none = el("option", "", App.t("payee_pick_none"));
    none.value = "";
    select.replaceChildren(none);
    for (const p of book) {
      const o = el("option", "", p.name + " …" + String(p.account).slice(-4) + (p.trusted ? " · " + App.t("payee_trusted") : ""));
      o.value = String(p.id);
      select.appendChild(o);
    }
    select.value = "";
    select.hidden = book.length === 0;
    select.previousElementSibling.hidden = book.length === 0;
  }

  document.addEventListener("skarbiec:transfer-form", fill);
})();
