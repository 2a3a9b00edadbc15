// Skarbiec mobile app: accounts on the start screen, history, new transfer with the SMS code
// step, transfer result, trusted payees and limits (R-L1, R-L3–R-L5, R-O2, R-O4). Plain
// JavaScript, no build step.
//
// Uses window.SkarbiecApp from app.js (the session's API calls, texts, screens and the shared
// error handling: three wrong codes answer channel_blocked, which app.js turns into the
// blocked screen). Amounts arrive formatted by the server in the app's language; the app never
// computes with money.
"use strict";

(() => {
  const App = window.SkarbiecApp;
  if (!App) return;
  const $ = (sel) => document.querySelector(sel);

  let accounts = [];
  let historyState = null; // {account, page, text}
  let order = null; // the transfer on the code or result screen
  let transferKey = null; // idempotency key of the transfer form shown

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function tail(number) {
    return "…" + String(number).slice(-4);
  }

  function grouped(number) {
    const n = String(number);
    if (n.length !== 26) return n;
    const parts = [n.slice(0, 2)];
    for (let i = 2; i < 26; i += 4) parts.push(n.slice(i, i + 4));
    return parts.join(" ");
  }

  function localDate(iso) {
    return new Date(iso).toLocaleDateString(App.lang === "pl" ? "pl-PL" : "en-GB", {
      // The credit union's day, as in the internet service and on statements, wherever the
      // phone is set to.
      day: "numeric", month: "short", year: "numeric", timeZone: "Europe/Warsaw",
    });
  }

  function newKey() {
    if (crypto.randomUUID) return crypto.randomUUID();
    return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");
  }

  function fillSummary(dl, rows) {
    dl.replaceChildren();
    for (const [label, value, className] of rows) {
      dl.append(el("dt", "", label), el("dd", className || "", value));
    }
  }

  // ---------------------------------------------------------------------------------------
  // Accounts on the start screen

  async function renderAccounts() {
    const panel = $("#accounts");
    if (!panel) return;
    panel.setAttribute("aria-busy", "true"); // screen readers wait; tests know when it is done
    try {
      accounts = await App.api("GET", "/accounts", undefined, true);
    } catch (err) {
      await App.handleError(err);
      return;
    } finally {
      panel.setAttribute("aria-busy", "false");
    }
    const placeholder = panel.querySelector('[data-t="accounts_soon"]');
    if (placeholder) placeholder.hidden = true;
    let list = $("#account-list");
    if (!list) {
      list = el("div");
      list.id = "account-list";
      panel.appendChild(list);
    }
    list.replaceChildren();
    if (!accounts.length) {
      list.appendChild(el("p", "muted", App.t("no_accounts")));
      return;
    }
    for (const account of accounts) {
      const card = el("article", "account-card");
      card.dataset.account = account.id;
      card.append(
        el("div", "name", account.name),
        el("div", "nrb", account.number_formatted),
        el("p", "balance", App.t("available") + ": " + account.available),
        el("p", "booked", App.t("booked") + ": " + account.booked),
      );
      const actions = el("div", "account-actions");
      const historyButton = el("button", "big-button", App.t("history"));
      historyButton.type = "button";
      historyButton.addEventListener("click", () => openHistory(account));
      const transferButton = el("button", "big-button primary", App.t("new_transfer"));
      transferButton.type = "button";
      transferButton.addEventListener("click", () => openTransfer(account.id));
      actions.append(historyButton, transferButton);
      card.appendChild(actions);
      list.appendChild(card);
    }
  }

  // ---------------------------------------------------------------------------------------
  // History (R-L5)

  function openHistory(account) {
    App.clearMessages();
    historyState = { account, page: 1, text: "" };
    $("#history-text").value = "";
    $("#history-account").textContent = account.name + " · " + account.number_formatted;
    $("#history-account").dataset.accountId = String(account.id); // statements.js
    $("#history-list").replaceChildren();
    App.show("history");
    loadHistory();
  }

  async function loadHistory() {
    const s = historyState;
    const query = new URLSearchParams({ page: String(s.page), page_size: "20" });
    if (s.text) query.set("text", s.text);
    try {
      const page = await App.api("GET", `/accounts/${s.account.id}/history?${query}`, undefined, true);
      const list = $("#history-list");
      for (const item of page.items) {
        const li = el("li");
        const what = el("span", "what", item.title);
        what.appendChild(el("span", "when", localDate(item.booked_at) + (item.counterparty_name ? " · " + item.counterparty_name : "")));
        li.append(what, el("span", "amount " + (item.amount_minor < 0 ? "out" : "in"), item.amount));
        list.appendChild(li);
      }
      $("#history-empty").hidden = page.total > 0;
      $("#history-more").hidden = !page.has_next;
    } catch (err) {
      await App.handleError(err);
    }
  }

  // ---------------------------------------------------------------------------------------
  // New transfer (R-L3, R-L4) and its SMS code step (R-O2, R-O4)

  function option(value, text) {
    const o = el("option", "", text);
    o.value = value;
    return o;
  }

  function openTransfer(fromId) {
    App.clearMessages();
    const from = $("#transfer-from");
    const toOwn = $("#transfer-to-own");
    from.replaceChildren();
    toOwn.replaceChildren(option("", App.t("to_other")));
    for (const a of accounts) {
      from.appendChild(option(String(a.id), `${a.name} ${tail(a.number)} · ${a.available}`));
      toOwn.appendChild(option(a.number, `${a.name} ${tail(a.number)}`));
    }
    from.value = String(fromId || (accounts[0] && accounts[0].id) || "");
    toOwn.value = "";
    $("#transfer-other").hidden = false;
    for (const id of ["#transfer-account", "#transfer-name", "#transfer-title-input", "#transfer-amount"]) {
      $(id).value = "";
    }
    // One key per form shown: a second tap or a retry after a lost answer books once.
    transferKey = newKey();
    App.show("transfer");
    document.dispatchEvent(new CustomEvent("skarbiec:transfer-form")); // payees.js: the book
  }

  async function submitTransfer(event) {
    event.preventDefault();
    App.clearMessages();
    const button = event.target.querySelector('button[type="submit"]');
    const own = $("#transfer-to-own").value;
    const body = {
      from_account_id: Number($("#transfer-from").value),
      payee_account: own || $("#transfer-account").value,
      payee_name: own ? "" : $("#transfer-name").value,
      title: $("#transfer-title-input").value,
      amount: $("#transfer-amount").value,
      idempotency_key: transferKey,
      save_payee: Boolean(!own && $("#transfer-save-payee") && $("#transfer-save-payee").checked),
    };
    button.disabled = true;
    try {
      order = await App.api("POST", "/transfers", body, true);
      if (order.sms_code_required) showCode();
      else showResult();
    } catch (err) {
      await App.handleError(err);
    } finally {
      button.disabled = false;
    }
  }

  function codeIntro() {
    if (!order) return;
    $("#transfer-code-intro").textContent = App.t("transfer_code_intro", {
      amount: order.amount, tail: tail(order.payee_account),
    });
  }

  function orderRows() {
    return [
      [App.t("amount_label"), order.amount],
      [App.t("payee"), order.payee_name],
      [App.t("payee_account"), grouped(order.payee_account), "nrb"],
      [App.t("transfer_title_field"), order.title],
    ];
  }

  function showCode() {
    fillSummary($("#transfer-code-summary"), orderRows());
    codeIntro();
    $("#transfer-code").value = "";
    App.show("transfer-code");
  }

  async function submitCode(event) {
    event.preventDefault();
    App.clearMessages();
    const code = $("#transfer-code").value;
    $("#transfer-code").value = "";
    try {
      order = await App.api("POST", `/transfers/${order.id}/authorize`, { code }, true);
      showResult();
    } catch (err) {
      await App.handleError(err); // channel_blocked after the third wrong code → blocked screen
    }
  }

  async function cancelTransfer() {
    App.clearMessages();
    try {
      order = await App.api("POST", `/transfers/${order.id}/cancel`, {}, true);
      showResult();
    } catch (err) {
      await App.handleError(err);
    }
  }

  function showResult() {
    const key = {
      booked: "result_booked", pending: "result_pending", sent: "result_pending",
      cancelled: "result_cancelled", rejected: "result_rejected",
    }[order.state] || "result_pending";
    const message = $("#transfer-result-message");
    message.textContent = App.t(key);
    message.className = "msg " + (order.state === "cancelled" || order.state === "rejected" ? "msg-error" : "msg-info");
    fillSummary($("#transfer-result-summary"), orderRows());
    App.show("transfer-result");
  }

  // ---------------------------------------------------------------------------------------
  // Trusted payees (R-L4): add with the SMS code step (R-O2), remove

  let pendingPayee = null; // the payee on the code screen
  let pendingLimits = null; // the raise of limits on the code screen

  function startButtons() {
    // The start screen belongs to app.js; its entry buttons are added here once, after the
    // accounts, with data-t so a language switch relabels them.
    if ($("#start-ledger-links")) return;
    const accountsPanel = $("#accounts");
    if (!accountsPanel) return;
    const links = el("nav", "start-links");
    links.id = "start-ledger-links";
    for (const [key, open] of [["payees_button", openPayees], ["limits_button", openLimits]]) {
      const button = el("button", "big-button", App.t(key));
      button.type = "button";
      button.dataset.t = key;
      button.addEventListener("click", () => { App.clearMessages(); open(); });
      links.appendChild(button);
    }
    accountsPanel.after(links);
  }

  async function openPayees(status) {
    let list;
    try {
      list = await App.api("GET", "/payees", undefined, true);
    } catch (err) {
      await App.handleError(err);
      return;
    }
    renderPayees(list);
    $("#payee-name").value = "";
    $("#payee-account").value = "";
    App.show("payees");
    if (status) App.showStatus(status);
  }

  function renderPayees(list) {
    const ul = $("#payee-list");
    ul.replaceChildren();
    for (const payee of list) {
      const li = el("li");
      li.dataset.payee = payee.id;
      const what = el("span", "what", payee.name);
      what.appendChild(el("span", "when nrb", payee.account_formatted));
      if (payee.state === "pending") what.appendChild(el("span", "when", App.t("payee_pending")));
      // R-O4: trusting started in the internet service takes its code there (code_channel).
      if (payee.code_channel === "web") what.appendChild(el("span", "when", App.t("payee_pending_web")));
      if (payee.state === "active") what.appendChild(el("span", "when", App.t("payee_trusted")));
      li.append(what);
      if (payee.state === "saved") {
        const trust = el("button", "link-button", App.t("payee_trust"));
        trust.type = "button";
        trust.setAttribute("aria-label", App.t("payee_trust_named", { name: payee.name }));
        trust.addEventListener("click", () => trustPayee(payee));
        li.append(trust);
      }
      const remove = el("button", "link-button", App.t("payee_remove"));
      remove.type = "button";
      remove.setAttribute("aria-label", App.t("payee_remove_named", { name: payee.name }));
      remove.addEventListener("click", () => removePayee(payee));
      li.append(remove);
      ul.appendChild(li);
    }
    $("#payees-empty").hidden = list.length > 0;
  }

  async function submitPayee(event) {
    event.preventDefault();
    App.clearMessages();
    const button = event.target.querySelector('button[type="submit"]');
    button.disabled = true;
    try {
      pendingPayee = await App.api("POST", "/payees", {
        name: $("#payee-name").value, account: $("#payee-account").value,
      }, true);
      if (pendingPayee.sms_code_required) showPayeeCode();
      else await openPayees(App.t("payee_added", { name: pendingPayee.name }));
    } catch (err) {
      await App.handleError(err);
    } finally {
      button.disabled = false;
    }
  }

  function payeeCodeIntro() {
    if (!pendingPayee) return;
    $("#payee-code-intro").textContent = App.t("payee_code_intro", { tail: tail(pendingPayee.account) });
  }

  function showPayeeCode() {
    fillSummary($("#payee-code-summary"), [
      [App.t("payee"), pendingPayee.name],
      [App.t("payee_account"), pendingPayee.account_formatted, "nrb"],
    ]);
    payeeCodeIntro();
    $("#payee-code").value = "";
    App.show("payee-code");
  }

  async function submitPayeeCode(event) {
    event.preventDefault();
    App.clearMessages();
    const code = $("#payee-code").value;
    $("#payee-code").value = "";
    try {
      const payee = await App.api("POST", `/payees/${pendingPayee.id}/confirm`, { code }, true);
      pendingPayee = null;
      await openPayees(App.t("payee_added", { name: payee.name }));
    } catch (err) {
      await App.handleError(err); // three wrong codes → the blocked screen (app.js)
    }
  }

  async function trustPayee(payee) {
    App.clearMessages();
    try {
      pendingPayee = await App.api("POST", `/payees/${payee.id}/trust`, {}, true);
      showPayeeCode();
    } catch (err) {
      await App.handleError(err);
    }
  }

  async function removePayee(payee) {
    App.clearMessages();
    try {
      await App.api("DELETE", `/payees/${payee.id}`, undefined, true);
      await openPayees(App.t("payee_removed", { name: payee.name }));
    } catch (err) {
      await App.handleError(err);
    }
  }

  // ---------------------------------------------------------------------------------------
  // Limits (R-L4): lower at once, raise with the SMS code step

  // Display only: the server keeps and checks every amount in grosze.
  function money(minor) {
    return new Intl.NumberFormat(App.lang === "pl" ? "pl-PL" : "en-GB", {
      style: "currency", currency: "PLN",
    }).format(minor / 100);
  }

  // The value shown in a limit field as the member writes amounts ("20 000,00" in Polish,
  // "20,000.00" in English; the API reads both), built from whole grosze without floating point.
  function plain(minor) {
    const [group, sep] = App.lang === "pl" ? ["\u00a0", ","] : [",", "."];
    const whole = String(Math.trunc(minor / 100)).replace(/\B(?=(\d{3})+(?!\d))/g, group);
    return whole + sep + String(minor % 100).padStart(2, "0");
  }

  async function openLimits(status) {
    let usage;
    try {
      usage = await App.api("GET", "/limits", undefined, true);
    } catch (err) {
      await App.handleError(err);
      return;
    }
    renderLimits(usage);
    $("#limit-per-transaction").value = plain(usage.per_transaction_minor);
    $("#limit-daily").value = plain(usage.daily_minor);
    $("#limit-monthly").value = plain(usage.monthly_minor);
    App.show("limits");
    if (status) App.showStatus(status);
  }

  function renderLimits(usage) {
    const box = $("#limits-now");
    box.replaceChildren();
    const rows = [
      ["per_transaction", "limit_per_transaction", null, usage.max_per_transaction_minor],
      ["daily", "limit_daily", ["limit_used_today", usage.used_today_minor], usage.max_daily_minor],
      ["monthly", "limit_monthly", ["limit_used_month", usage.used_this_month_minor], usage.max_monthly_minor],
    ];
    for (const [field, label, used, maximum] of rows) {
      const card = el("article", "limit-card");
      card.dataset.limit = field;
      card.append(el("div", "name", App.t(label)), el("p", "balance", usage[field]));
      if (used) card.appendChild(el("p", "booked", App.t(used[0], { amount: money(used[1]) })));
      card.appendChild(el("p", "booked", App.t("limit_maximum", { amount: money(maximum) })));
      box.appendChild(card);
    }
  }

  async function submitLimits(event) {
    event.preventDefault();
    App.clearMessages();
    const button = event.target.querySelector('button[type="submit"]');
    button.disabled = true;
    try {
      const change = await App.api("POST", "/limits", {
        per_transaction: $("#limit-per-transaction").value,
        daily: $("#limit-daily").value,
        monthly: $("#limit-monthly").value,
      }, true);
      if (change.sms_code_required) {
        pendingLimits = change;
        showLimitsCode();
      } else {
        await openLimits(App.t("limits_changed"));
      }
    } catch (err) {
      await App.handleError(err);
    } finally {
      button.disabled = false;
    }
  }

  function showLimitsCode() {
    fillSummary($("#limits-code-summary"), [
      [App.t("limit_per_transaction"), money(pendingLimits.per_transaction_minor)],
      [App.t("limit_daily"), money(pendingLimits.daily_minor)],
      [App.t("limit_monthly"), money(pendingLimits.monthly_minor)],
    ]);
    $("#limits-code").value = "";
    App.show("limits-code");
  }

  async function submitLimitsCode(event) {
    event.preventDefault();
    App.clearMessages();
    const code = $("#limits-code").value;
    $("#limits-code").value = "";
    try {
      await App.api("POST", `/limits/${pendingLimits.id}/confirm`, { code }, true);
      pendingLimits = null;
      await openLimits(App.t("limits_changed"));
    } catch (err) {
      await App.handleError(err); // three wrong codes → the blocked screen (app.js)
    }
  }

  // ---------------------------------------------------------------------------------------
  // Wiring

  function bind() {
    $("#history-more").addEventListener("click", () => { historyState.page += 1; loadHistory(); });
    $("#history-search").addEventListener("submit", (e) => {
      e.preventDefault();
      historyState.page = 1;
      historyState.text = $("#history-text").value.trim();
      $("#history-list").replaceChildren();
      loadHistory();
    });
    $("#transfer-form").addEventListener("submit", submitTransfer);
    $("#transfer-to-own").addEventListener("change", (e) => { $("#transfer-other").hidden = Boolean(e.target.value); });
    $("#transfer-code-form").addEventListener("submit", submitCode);
    $("#transfer-cancel").addEventListener("click", cancelTransfer);
    document.querySelectorAll("[data-ledger-start]").forEach((b) => b.addEventListener("click", () => {
      App.clearMessages();
      App.showStart();
    }));
    $("#payee-form").addEventListener("submit", submitPayee);
    $("#payee-code-form").addEventListener("submit", submitPayeeCode);
    $("#limits-form").addEventListener("submit", submitLimits);
    $("#limits-code-form").addEventListener("submit", submitLimitsCode);
    document.querySelectorAll("[data-open-payees]").forEach((b) => b.addEventListener("click", () => {
      App.clearMessages();
      openPayees();
    }));
    document.querySelectorAll("[data-open-limits]").forEach((b) => b.addEventListener("click", () => {
      App.clearMessages();
      openLimits();
    }));
    startButtons();
    document.addEventListener("skarbiec:start", renderAccounts);
    document.addEventListener("skarbiec:texts", () => {
      codeIntro();
      payeeCodeIntro();
      if (!$('[data-screen="start"]').hidden) renderAccounts();
    });
  }

  bind();
})();
