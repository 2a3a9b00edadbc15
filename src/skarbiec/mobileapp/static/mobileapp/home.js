// Skarbiec mobile app: the start screen's overview (R-L1, R-L3, R-L5, R-W1): the previous
// login, orders on their way, the latest operations and income and expenses per month as a
// small SVG chart with a table of the same figures for screen readers. Plain JavaScript; the
// figures come formatted from GET /overview in the app's language.
"use strict";

(() => {
  const App = window.SkarbiecApp;
  if (!App) return;
  const $ = (sel) => document.querySelector(sel);
  const SVG = "http://www.w3.org/2000/svg";

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function section(id, titleKey) {
    const box = el("section", "panel home-panel");
    box.id = id;
    const h = el("h2", "", App.t(titleKey));
    h.id = id + "-title";
    h.dataset.t = titleKey;
    box.setAttribute("aria-labelledby", h.id);
    box.appendChild(h);
    return box;
  }

  function container() {
    let box = $("#home-overview");
    if (!box) {
      box = el("div", "home-overview");
      box.id = "home-overview";
      const anchor = $("#start-ledger-links") || $("#accounts");
      if (!anchor) return null;
      anchor.after(box);
    }
    return box;
  }

  function previousLogin(data) {
    const p = el("p", "muted last-login");
    p.id = "previous-login";
    const last = data.previous_login;
    p.textContent = last
      ? App.t("previous_login", {
        when: last.at_text,
        channel: last.channel_label,
        device: (last.device ? ", " + last.device : "") + (last.ip_address ? ", " + last.ip_address : ""),
      })
      : App.t("first_login");
    return p;
  }

  function waiting(data) {
    const box = section("home-waiting", "waiting_title");
    if (!data.waiting.length) {
      box.hidden = true;
      return box;
    }
    const ul = el("ul", "entries");
    for (const order of data.waiting) {
      const li = el("li");
      const what = el("span", "what", order.payee_name || order.title);
      // R-O4: its code is entered where it was ordered (code_channel); one ordered in the
      // internet service is confirmed there, and the app says so.
      const label = order.state !== "awaiting_authorization" ? "waiting_clearing"
        : order.code_channel === "web" ? "waiting_code_web" : "waiting_code";
      what.appendChild(el("span", "when", App.t(label)));
      li.append(what, el("span", "amount out", order.amount));
      ul.appendChild(li);
    }
    box.appendChild(ul);
    return box;
  }

  function recent(data) {
    const box = section("home-recent", "recent_title");
    if (!data.recent.length) {
      box.appendChild(el("p", "muted", App.t("recent_empty")));
      return box;
    }
    const ul = el("ul", "entries");
    for (const item of data.recent) {
      const li = el("li");
      li.dataset.entry = item.entry_id;
      const what = el("span", "what", item.title);
      const when = new Date(item.booked_at).toLocaleDateString(App.lang === "pl" ? "pl-PL" : "en-GB", {
        day: "numeric", month: "short", timeZone: "Europe/Warsaw", // the credit union's day
      });
      what.appendChild(el("span", "when", when + " · " + (item.counterparty_name ? item.counterparty_name + " · " : "") + item.account_name));
      li.append(what, el("span", "amount " + (item.amount_minor < 0 ? "out" : "in"), item.amount));
      ul.appendChild(li);
    }
    box.appendChild(ul);
    return box;
  }

  function svgNode(tag, attrs) {
    const node = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
    return node;
  }

  function months(data) {
    const box = section("home-months", "months_title");
    const list = data.months;
    const largest = Math.max(0, ...list.map((m) => Math.max(m.income_minor, m.expenses_minor)));
    if (largest > 0) {
      // Geometry only; colours come from home.css classes (the CSP allows no inline styles).
      const width = 320, height = 150, axis = 120, slot = width / list.length, bar = slot * 0.3;
      const svg = svgNode("svg", { viewBox: `0 0 ${width} ${height}`, class: "month-chart", "aria-hidden": "true", focusable: "false" });
      svg.appendChild(svgNode("line", { x1: 0, y1: axis, x2: width, y2: axis, class: "axis" }));
      list.forEach((m, i) => {
        const left = i * slot + slot * 0.15;
        const hIn = m.income_minor > 0 ? Math.max((axis - 10) * m.income_minor / largest, 2) : 0;
        const hOut = m.expenses_minor > 0 ? Math.max((axis - 10) * m.expenses_minor / largest, 2) : 0;
        svg.appendChild(svgNode("rect", { x: left.toFixed(1), y: (axis - hIn).toFixed(1), width: bar.toFixed(1), height: hIn.toFixed(1), class: "bar-income" }));
        svg.appendChild(svgNode("rect", { x: (left + bar + slot * 0.1).toFixed(1), y: (axis - hOut).toFixed(1), width: bar.toFixed(1), height: hOut.toFixed(1), class: "bar-expenses" }));
        const label = svgNode("text", { x: (i * slot + slot / 2).toFixed(1), y: height - 10, "text-anchor": "middle", class: "month-label" });
        label.textContent = m.label.slice(0, 3);
        svg.appendChild(label);
      });
      const legend = el("p", "chart-legend");
      legend.setAttribute("aria-hidden", "true");
      legend.append(el("span", "swatch swatch-income"), el("span", "", App.t("income")),
        el("span", "swatch swatch-expenses"), el("span", "", App.t("expenses")));
      box.append(legend, svg);
    }
    const table = el("table", "month-table");
    const caption = el("caption", "visually-hidden", App.t("months_title"));
    const head = el("tr");
    for (const key of ["month", "income", "expenses"]) {
      const th = el("th", key === "month" ? "" : "num", App.t(key));
      th.scope = "col";
      head.appendChild(th);
    }
    const thead = el("thead");
    thead.appendChild(head);
    const tbody = el("tbody");
    for (const m of list) {
      const tr = el("tr");
      const th = el("th", "", m.label);
      th.scope = "row";
      tr.append(th, el("td", "num", m.income), el("td", "num", m.expenses));
      tbody.appendChild(tr);
    }
    table.append(caption, thead, tbody);
    // A region that may scroll sideways must be reachable by keyboard (WCAG 2.1.1).
    const wrap = el("div", "table-wrap");
    wrap.tabIndex = 0;
    wrap.setAttribute("role", "region");
    wrap.setAttribute("aria-label", caption.textContent);
    wrap.appendChild(table);
    box.appendChild(wrap);
    return box;
  }

  async function renderOverview() {
    const box = container();
    if (!box) return;
    box.setAttribute("aria-busy", "true");
    let data;
    try {
      data = await App.api("GET", "/overview", undefined, true);
    } catch (err) {
      box.setAttribute("aria-busy", "false");
      await App.handleError(err);
      return;
    }
    box.replaceChildren(previousLogin(data), waiting(data), recent(data), months(data));
    box.setAttribute("aria-busy", "false");
  }

  document.addEventListener("skarbiec:start", renderOverview);
  document.addEventListener("skarbiec:texts", () => {
    const start = $('[data-screen="start"]');
    if (start && !start.hidden) renderOverview();
  });
})();
