// Skarbiec mobile app: accounts on the start screen, history, new transfer with the SMS code
// step, transfer result (R-L1, R-L3–R-L5, R-O2, R-O4). Plain JavaScript, no build step.
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
      day: "numeric", month: "short", year: "numeric",
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
    try {
      accounts = await App.api("GET", "/accounts", undefined, true);
    } catch (err) {
      await App.handleError(err);
      return;
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
    document.addEventListener("skarbiec:start", renderAccounts);
    document.addEventListener("skarbiec:texts", () => {
      codeIntro();
      if (!$('[data-screen="start"]').hidden) renderAccounts();
    });
  }

  bind();
})();
