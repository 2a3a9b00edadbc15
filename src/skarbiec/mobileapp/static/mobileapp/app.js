// Skarbiec mobile app (PWA). Plain JavaScript, no build step, no inline code (CSP).
//
// The device side of the protocol in docs/mobile-api.md:
// - a device key pair, ECDSA P-256, private key non-extractable, kept in IndexedDB; it signs
//   every request together with a single-use server challenge;
// - a device secret as a non-extractable HMAC key in IndexedDB; the PIN proof is
//   hex(HMAC-SHA256(secret, PIN)). The PIN is checked by the server only.
// All rules (attempt counting, blocking, device policy) are the server's: this script shows
// the server's answers and never decides on its own.
"use strict";

(() => {
  const body = document.body;
  const API = body.dataset.api;
  const APP_VERSION = body.dataset.appVersion;
  const DB_NAME = "skarbiec-app";
  const STORE = "kv";
  const SESSION_POLL_MS = 60_000;
  const IDLE_WARNING_SECONDS = 60; // the warning shows this long before the lock
  const KEEP_ALIVE_MS = 30_000; // typing keeps the session, at most one request per this
  // The server writes a request's time at most every 5 s, so it may count idleness from up to
  // 5 s before the last request (docs/mobile-api.md): the app ends the session that much
  // earlier, so "stay" in the warning always reaches a session that is still open.
  const SERVER_SLIDE_SLACK_SECONDS = 5;

  let texts = {};
  let lang = "pl";
  let screen = "loading";
  let token = null; // bearer token of the mobile session: memory only, never stored
  let idleTimer = null;
  let pollTimer = null;
  let idleSeconds = 300;
  // The credit union's idle limit in whole minutes (1 to 5), as the lock's text names it.
  let idleMinutes = 5;
  let pendingActivation = null; // {activation_id}
  let pinLength = 5;
  let returnTo = null; // screen to go back to from help
  let warnTimer = null; // the idle warning, a minute before the lock (WCAG 2.2.1)
  let warnCountdown = null;
  let warnReturnFocus = null;
  let lastKeepAlive = 0;
  // The server enrols a fingerprint only right after the PIN: asked for it, the app logs in
  // with the PIN again and then goes on enrolling.
  let enrolAfterPin = false;
  let greetingName = null;

  const $ = (sel) => document.querySelector(sel);

  // ---------------------------------------------------------------------------------------
  // Texts and language (Polish by default; the browser's language or the switch)

  function t(key, params) {
    let text = (texts[lang] && texts[lang][key]) || key;
    for (const [k, v] of Object.entries(params || {})) text = text.replace("{" + k + "}", v);
    return text;
  }

  function chooseLanguage() {
    const saved = localStorage.getItem("skarbiec-lang");
    if (saved === "pl" || saved === "en") return saved;
    for (const l of navigator.languages || [navigator.language || "pl"]) {
      const code = String(l).slice(0, 2).toLowerCase();
      if (code === "pl" || code === "en") return code;
    }
    return "pl";
  }

  function applyTexts() {
    document.documentElement.lang = lang;
    document.querySelectorAll("[data-t]").forEach((el) => { el.textContent = t(el.dataset.t); });
    document.querySelectorAll("[data-t-label]").forEach((el) => {
      el.setAttribute("aria-label", t(el.dataset.tLabel));
    });
    const other = lang === "pl" ? "en" : "pl";
    const sw = $("#lang-switch");
    // The visible "EN" begins the accessible name, "EN English" (WCAG 2.5.3 Label in Name).
    const name = document.createElement("span");
    name.className = "visually-hidden";
    name.textContent = " " + (other === "pl" ? "Polski" : "English");
    sw.replaceChildren(other.toUpperCase(), name);
    sw.setAttribute("lang", other);
    $("#set-pin-intro").textContent = t("set_pin_intro", { n: pinLength });
    if (greetingName !== null) $("#greeting").textContent = t("greeting", { name: greetingName });
    announcePinCount();
    document.dispatchEvent(new CustomEvent("skarbiec:texts"));
  }

  // ---------------------------------------------------------------------------------------
  // Screens and messages

  function show(name) {
    screen = name;
    clearInvalid();
    document.querySelectorAll("[data-screen]").forEach((el) => {
      el.hidden = el.dataset.screen !== name;
    });
    const heading = document.querySelector(`[data-screen="${name}"] h1`);
    if (heading) {
      heading.setAttribute("tabindex", "-1");
      heading.focus({ preventScroll: true });
    }
  }

  // An error marks the field it is about and moves the focus there (or to the message), so it
  // is both announced and where the member is (WCAG 3.3.1, 4.1.2): the field the server named,
  // else the only field of the screen's form.
  function showError(text, field) {
    const el = $("#error");
    el.textContent = text || "";
    el.hidden = !text;
    clearInvalid();
    if (!text) return;
    const section = document.querySelector(`[data-screen="${screen}"]`);
    let input = null;
    if (field instanceof Element) input = field;
    else if (section && field) input = section.querySelector(`[name="${CSS.escape(field)}"]`);
    if (!input && section) {
      const fields = [...section.querySelectorAll("form input:not([type=hidden]), form select")]
        .filter((f) => f.getClientRects().length > 0);
      if (fields.length === 1) input = fields[0];
    }
    if (input) {
      input.setAttribute("aria-invalid", "true");
      const described = (input.getAttribute("aria-describedby") || "").split(/\s+/).filter(Boolean);
      if (!described.includes("error")) input.setAttribute("aria-describedby", ["error", ...described].join(" "));
      input.focus();
    } else {
      el.setAttribute("tabindex", "-1");
      el.focus();
    }
  }

  function clearInvalid() {
    document.querySelectorAll("[aria-invalid=true]").forEach((input) => {
      input.removeAttribute("aria-invalid");
      const rest = (input.getAttribute("aria-describedby") || "").split(/\s+/).filter((id) => id && id !== "error");
      if (rest.length) input.setAttribute("aria-describedby", rest.join(" "));
      else input.removeAttribute("aria-describedby");
    });
  }

  function showStatus(text) {
    const el = $("#status");
    el.textContent = text || "";
    el.hidden = !text;
  }

  function clearMessages() {
    showError("");
    showStatus("");
  }

  // ---------------------------------------------------------------------------------------
  // Local storage of the device: IndexedDB holds CryptoKey objects without exporting them

  function openDb() {
    return new Promise((resolve, reject) => {
      const req = indexedDB.open(DB_NAME, 1);
      req.onupgradeneeded = () => req.result.createObjectStore(STORE);
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    });
  }

  async function dbGet(key) {
    const db = await openDb();
    try {
      return await new Promise((resolve, reject) => {
        const req = db.transaction(STORE).objectStore(STORE).get(key);
        req.onsuccess = () => resolve(req.result);
        req.onerror = () => reject(req.error);
      });
    } finally {
      db.close();
    }
  }

  async function dbPut(values) {
    const db = await openDb();
    try {
      await new Promise((resolve, reject) => {
        const tx = db.transaction(STORE, "readwrite");
        for (const [k, v] of Object.entries(values)) tx.objectStore(STORE).put(v, k);
        tx.oncomplete = () => resolve();
        tx.onerror = () => reject(tx.error);
      });
    } finally {
      db.close();
    }
  }

  function dbErase() {
    return new Promise((resolve) => {
      const req = indexedDB.deleteDatabase(DB_NAME);
      req.onsuccess = req.onerror = req.onblocked = () => resolve();
    });
  }

  // ---------------------------------------------------------------------------------------
  // Device protocol

  const enc = new TextEncoder();

  function b64url(bytes) {
    let s = "";
    new Uint8Array(bytes).forEach((b) => { s += String.fromCharCode(b); });
    return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function fromB64url(text) {
    const s = atob(text.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((text.length + 3) % 4));
    return Uint8Array.from(s, (c) => c.charCodeAt(0));
  }

  function hex(bytes) {
    return Array.from(new Uint8Array(bytes), (b) => b.toString(16).padStart(2, "0")).join("");
  }

  // Compact JSON with sorted keys, as the server computes it (flat objects of strings).
  function canonicalJson(payload) {
    const keys = Object.keys(payload).sort();
    return "{" + keys.map((k) => JSON.stringify(k) + ":" + JSON.stringify(payload[k])).join(",") + "}";
  }

  async function sign(privateKey, action, challenge, deviceId, payload) {
    const digest = hex(await crypto.subtle.digest("SHA-256", enc.encode(canonicalJson(payload))));
    const message = ["skarbiec-mobile/1", action, challenge, deviceId, digest].join("\n");
    const signature = await crypto.subtle.sign(
      { name: "ECDSA", hash: "SHA-256" }, privateKey, enc.encode(message)
    );
    return b64url(signature); // raw r||s, accepted by the server
  }

  async function pinProof(pin) {
    const secret = await dbGet("deviceSecret");
    return hex(await crypto.subtle.sign("HMAC", secret, enc.encode(pin)));
  }

  async function newDeviceKeys() {
    const keys = await crypto.subtle.generateKey(
      { name: "ECDSA", namedCurve: "P-256" }, false, ["sign", "verify"]
    );
    const raw = crypto.getRandomValues(new Uint8Array(32));
    const secret = await crypto.subtle.importKey(
      "raw", raw, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]
    );
    raw.fill(0); // only the non-extractable key object keeps the secret
    return { keys, secret };
  }

  // What the browser tells about the device (R-M8). The server reads the user agent and client
  // hints itself too; a wrapper app (e.g. a store-packaged shell) may add integrity signals
  // through window.SkarbiecHost.deviceSignals(). All of it is advisory for the server.
  async function deviceInfo() {
    const info = { platform: "", os_version: "", app_version: APP_VERSION, name: "", rooted: false };
    const uaData = navigator.userAgentData;
    if (uaData && uaData.getHighEntropyValues) {
      try {
        const v = await uaData.getHighEntropyValues(["platformVersion", "model"]);
        const platform = String(v.platform || uaData.platform || "").toLowerCase();
        if (platform === "android" || platform === "ios") {
          info.platform = platform;
          info.os_version = String(v.platformVersion || "");
        }
        if (v.model) info.name = String(v.model).slice(0, 100);
      } catch (e) { /* the server falls back to the user agent */ }
    }
    if (!info.name) {
      const m = navigator.userAgent.match(/\(([^;)]*);\s*([^;)]*)/);
      info.name = (m ? m[2] : navigator.platform || "browser").slice(0, 100);
    }
    const host = window.SkarbiecHost;
    if (host && typeof host.deviceSignals === "function") {
      try {
        const s = (await host.deviceSignals()) || {};
        info.rooted = Boolean(s.rooted);
        if (s.integrity_token) info.integrity_token = String(s.integrity_token);
      } catch (e) { /* no signals */ }
    }
    return info;
  }

  // ---------------------------------------------------------------------------------------
  // API

  class ApiError extends Error {
    constructor(status, data) {
      super((data && data.message) || "error");
      this.status = status;
      this.data = data || {};
      this.code = this.data.code || "error";
    }
  }

  async function api(method, path, data, auth) {
    const headers = { "Accept": "application/json", "Accept-Language": lang };
    if (data !== undefined) headers["Content-Type"] = "application/json";
    if (auth) headers["Authorization"] = "Bearer " + token;
    let response;
    try {
      response = await fetch(API + path, {
        method, headers, body: data === undefined ? undefined : JSON.stringify(data),
        credentials: "omit", cache: "no-store",
      });
    } catch (e) {
      throw new ApiError(0, { code: "offline", message: t("offline") });
    }
    let json = null;
    try { json = await response.json(); } catch (e) { json = null; }
    if (!response.ok) throw new ApiError(response.status, json || { message: t("unexpected") });
    if (auth) restartIdleTimer(); // an authenticated request moved the server's idle clock
    return json;
  }

  // An activated device names itself, so its challenges are limited per device, not per the
  // carrier's shared address (R-X10).
  async function challenge(deviceId) {
    const query = deviceId ? "?device_id=" + encodeURIComponent(deviceId) : "";
    return (await api("POST", "/challenge" + query, {})).challenge;
  }

  async function signedRequest(path, action, payload, fields) {
    const deviceId = await dbGet("deviceId");
    const keys = await dbGet("deviceKey");
    const c = await challenge(deviceId);
    const signature = await sign(keys.privateKey, action, c, deviceId, payload);
    return api("POST", path, { device_id: deviceId, challenge: c, signature, ...fields });
  }

  // Answers every screen handles the same way.
  async function handleError(err) {
    if (!(err instanceof ApiError)) {
      console.error(err);
      showError(t("unexpected"));
      return;
    }
    const data = err.data;
    if (err.code === "channel_blocked") return showBlocked(data);
    // The server names the limit that ended the session (idle or absolute) and its minutes.
    if (err.code === "session_expired") return lock(data.message || idleLogoutText());
    if (err.code === "not_authenticated" && token) return lock("");
    if (err.code === "device_not_supported" || err.code === "device_rooted") {
      $("#refused-message").textContent = data.message;
      show("refused");
      return;
    }
    let text = data.message || t("unexpected");
    if (data.problems && data.problems.length && err.code !== "invalid_input") {
      text = data.problems.join(" ");
    }
    if (data.attempts_left !== undefined && data.attempts_left !== null) {
      text += " " + t("attempts_left", { n: data.attempts_left });
    }
    showError(text, data.field);
  }

  function fillPhones(list, phones) {
    list.replaceChildren();
    for (const phone of phones || []) {
      const li = document.createElement("li");
      const a = document.createElement("a");
      a.href = "tel:" + phone.replace(/\s+/g, "");
      a.textContent = phone;
      a.className = "phone-link";
      li.appendChild(a);
      list.appendChild(li);
    }
  }

  async function showBlocked(data) {
    stopSession();
    clearMessages();
    $("#blocked-message").textContent = data.message || "";
    let phones = data.helpline;
    if (!phones || !phones.length) {
      try { phones = (await fetchHelp()).helpline; } catch (e) { phones = []; }
    }
    fillPhones($("#blocked-phones"), phones);
    show("blocked");
  }

  // ---------------------------------------------------------------------------------------
  // Session and the automatic return to the PIN screen (R-M9)

  // One text per limit a credit union may set (texts.py: idle_logout_1 … idle_logout_5).
  function idleLogoutText() {
    return t(`idle_logout_${idleMinutes}`);
  }

  function restartIdleTimer() {
    clearTimeout(idleTimer);
    clearTimeout(warnTimer);
    hideIdleWarning();
    if (!token) return;
    idleTimer = setTimeout(() => lock(idleLogoutText()), idleSeconds * 1000);
    const warnAt = Math.max(idleSeconds - IDLE_WARNING_SECONDS, 0);
    warnTimer = setTimeout(showIdleWarning, warnAt * 1000);
  }

  // A minute before the lock the member is warned and may stay (WCAG 2.2.1 Timing Adjustable).
  function showIdleWarning() {
    const box = $("#idle-warning");
    if (!token || !box.hidden) return;
    const active = document.activeElement;
    warnReturnFocus = active && active !== document.body ? active : null;
    const end = Date.now() + Math.min(IDLE_WARNING_SECONDS, idleSeconds) * 1000;
    const tick = () => {
      const left = Math.max(Math.ceil((end - Date.now()) / 1000), 0);
      $("#idle-warning-text").textContent = t("idle_warning_text", { n: left });
    };
    tick();
    warnCountdown = setInterval(tick, 1000);
    box.hidden = false;
    $("#idle-extend").focus();
  }

  function hideIdleWarning() {
    clearInterval(warnCountdown);
    warnCountdown = null;
    const box = $("#idle-warning");
    if (box.hidden) return;
    const hadFocus = box.contains(document.activeElement);
    box.hidden = true;
    if (!hadFocus) return;
    // Back to where the member was, never to <body> (WCAG 2.4.3).
    const back = warnReturnFocus && document.contains(warnReturnFocus) && warnReturnFocus.getClientRects().length
      ? warnReturnFocus : document.querySelector(`[data-screen="${screen}"] h1`);
    warnReturnFocus = null;
    if (back) back.focus();
  }

  // Any authenticated request moves the server's idle clock; so does this one.
  async function keepAlive() {
    lastKeepAlive = Date.now();
    try {
      await api("GET", "/me", undefined, true);
    } catch (err) {
      await handleError(err);
    }
  }

  // Typing in a form is activity: it keeps the session, at most one request per half minute.
  function onTyping() {
    if (!token || Date.now() - lastKeepAlive < KEEP_ALIVE_MS) return;
    keepAlive();
  }

  function stopSession() {
    token = null;
    clearTimeout(idleTimer);
    clearTimeout(warnTimer);
    clearInterval(pollTimer);
    idleTimer = pollTimer = warnTimer = null;
    hideIdleWarning();
  }

  function startSession(session) {
    token = session.token;
    idleSeconds = Math.max((session.idle_timeout_seconds || 300) - SERVER_SLIDE_SLACK_SECONDS, 1);
    idleMinutes = Math.min(Math.max(Math.floor((session.idle_timeout_seconds || 300) / 60), 1), 5);
    restartIdleTimer();
    clearInterval(pollTimer);
    // The check does not extend the session: it only learns that the server ended it.
    pollTimer = setInterval(async () => {
      if (!token) return;
      try {
        await fetchSessionStatus();
      } catch (err) {
        handleError(err);
      }
    }, SESSION_POLL_MS);
  }

  async function fetchSessionStatus() {
    const headers = { "Accept": "application/json", "Accept-Language": lang, "Authorization": "Bearer " + token };
    const response = await fetch(API + "/session", { headers, credentials: "omit", cache: "no-store" });
    if (!response.ok) throw new ApiError(response.status, await response.json().catch(() => null));
  }

  function lock(message) {
    stopSession();
    clearMessages();
    if (message) showStatus(message);
    showPinScreen();
  }

  // ---------------------------------------------------------------------------------------
  // Activation (R-M2)

  async function onActivate(event) {
    event.preventDefault();
    clearMessages();
    const login = $("#login").value.trim();
    const password = $("#mobile-password").value;
    try {
      showStatus(t("creating_key"));
      const { keys, secret } = await newDeviceKeys();
      const spki = b64url(await crypto.subtle.exportKey("spki", keys.publicKey));
      const c = await challenge();
      const signature = await sign(keys.privateKey, "activate", c, "", { login, public_key: spki });
      const started = await api("POST", "/activation", {
        login, password, public_key: spki, device: await deviceInfo(), challenge: c, signature,
      });
      showStatus("");
      $("#mobile-password").value = "";
      // The new keys replace the old ones only now that the server accepted them.
      await dbErase();
      await dbPut({ deviceKey: keys, deviceSecret: secret, pinLength: started.pin_length, fingerprint: false });
      pinLength = started.pin_length;
      applyTexts();
      if (started.otp_required) {
        pendingActivation = started.activation_id;
        $("#sms-code").value = "";
        show("code");
      } else {
        await dbPut({ deviceId: started.device_id });
        show("set-pin");
      }
    } catch (err) {
      showStatus("");
      await handleError(err);
    }
  }

  async function onCode(event) {
    event.preventDefault();
    clearMessages();
    try {
      const bound = await api("POST", "/activation/confirm", {
        activation_id: pendingActivation, code: $("#sms-code").value,
      });
      pendingActivation = null;
      pinLength = bound.pin_length;
      await dbPut({ deviceId: bound.device_id, pinLength: bound.pin_length });
      applyTexts();
      $("#new-pin").value = $("#new-pin-repeat").value = "";
      show("set-pin");
    } catch (err) {
      await handleError(err);
    }
  }

  async function onSetPin(event) {
    event.preventDefault();
    clearMessages();
    const pin = $("#new-pin").value;
    if (pin !== $("#new-pin-repeat").value) return showError(t("pins_differ"), $("#new-pin-repeat"));
    try {
      const proof = await pinProof(pin);
      const session = await signedRequest("/pin", "set_pin", { pin_proof: proof }, { pin, pin_proof: proof });
      $("#new-pin").value = $("#new-pin-repeat").value = "";
      startSession(session);
      if (window.PublicKeyCredential) show("fingerprint");
      else await showStart();
    } catch (err) {
      await handleError(err);
    }
  }

  // ---------------------------------------------------------------------------------------
  // Fingerprint = WebAuthn with user verification (R-M4)

  function creationOptions(o) {
    return {
      ...o,
      challenge: fromB64url(o.challenge),
      user: { ...o.user, id: fromB64url(o.user.id) },
      excludeCredentials: (o.excludeCredentials || []).map((c) => ({ ...c, id: fromB64url(c.id) })),
    };
  }

  function requestOptions(o) {
    return {
      ...o,
      challenge: fromB64url(o.challenge),
      allowCredentials: (o.allowCredentials || []).map((c) => ({ ...c, id: fromB64url(c.id) })),
    };
  }

  function credentialJson(cred) {
    if (typeof cred.toJSON === "function") return cred.toJSON();
    const r = cred.response;
    const response = { clientDataJSON: b64url(r.clientDataJSON) };
    if (r.attestationObject) {
      response.attestationObject = b64url(r.attestationObject);
      response.transports = r.getTransports ? r.getTransports() : [];
    } else {
      response.authenticatorData = b64url(r.authenticatorData);
      response.signature = b64url(r.signature);
      response.userHandle = r.userHandle ? b64url(r.userHandle) : null;
    }
    return {
      id: cred.id, rawId: b64url(cred.rawId), type: cred.type, response,
      authenticatorAttachment: cred.authenticatorAttachment || null,
      clientExtensionResults: cred.getClientExtensionResults(),
    };
  }

  async function enableFingerprint() {
    clearMessages();
    try {
      const options = await api("POST", "/fingerprint/options", {}, true);
      let cred;
      try {
        cred = await navigator.credentials.create({ publicKey: creationOptions(options) });
      } catch (e) {
        showError(t("fingerprint_unavailable"));
        return;
      }
      await api("POST", "/fingerprint/register", {
        challenge: options.challenge, credential: credentialJson(cred),
      }, true);
      await dbPut({ fingerprint: true });
      showStatus(t("fingerprint_enabled"));
      await showStart();
    } catch (err) {
      if (err.code === "pin_confirmation_needed") {
        enrolAfterPin = true;
        // The session that may not enrol is ended, not left open behind the PIN screen.
        try { await api("POST", "/logout", {}, true); } catch (e) { /* it ends anyway */ }
        lock(err.message);
        return;
      }
      await handleError(err);
    }
  }

  async function fingerprintLogin() {
    clearMessages();
    try {
      const deviceId = await dbGet("deviceId");
      const options = await api("POST", "/login/fingerprint/options", { device_id: deviceId });
      let cred;
      try {
        cred = await navigator.credentials.get({ publicKey: requestOptions(options) });
      } catch (e) {
        if (e && e.name === "NotAllowedError") return reportFailedFingerprint();
        throw e;
      }
      const keys = await dbGet("deviceKey");
      const credential = credentialJson(cred);
      const signature = await sign(keys.privateKey, "login_fingerprint", options.challenge, deviceId, {
        credential_id: credential.id,
      });
      const session = await api("POST", "/login/fingerprint", {
        device_id: deviceId, challenge: options.challenge, credential, signature,
        device: await deviceInfo(),
      });
      enrolAfterPin = false; // the member chose the finger: no enrolment behind their back
      startSession(session);
      await showStart();
    } catch (err) {
      await handleError(err);
    }
  }

  // The phone did not recognise the finger: the server counts it like a wrong PIN (R-M5).
  async function reportFailedFingerprint() {
    try {
      const answer = await signedRequest("/login/fingerprint/failed", "fingerprint_failed", {}, {});
      showError(t("fingerprint_not_recognised") + " " + t("attempts_left", { n: answer.attempts_left }));
    } catch (err) {
      await handleError(err);
    }
  }

  // ---------------------------------------------------------------------------------------
  // PIN login (R-M3)

  async function showPinScreen() {
    pinLength = (await dbGet("pinLength")) || pinLength;
    $("#pin").value = "";
    announcePinCount();
    $("#pin").maxLength = pinLength;
    const fingerprint = Boolean(await dbGet("fingerprint")) && Boolean(window.PublicKeyCredential);
    $("#fingerprint-login").hidden = !fingerprint;
    $("#pad-spacer").hidden = fingerprint;
    show("pin");
  }

  async function submitPin() {
    const pin = $("#pin").value;
    $("#pin").value = "";
    clearMessages();
    try {
      const proof = await pinProof(pin);
      const session = await signedRequest("/login/pin", "login_pin", { pin_proof: proof }, {
        pin_proof: proof, device: await deviceInfo(),
      });
      startSession(session);
      if (enrolAfterPin) {
        enrolAfterPin = false;
        await enableFingerprint();
        return;
      }
      await showStart();
    } catch (err) {
      await handleError(err);
    }
  }

  function onPinInput() {
    const input = $("#pin");
    input.value = input.value.replace(/\D/g, "").slice(0, pinLength);
    announcePinCount();
    if (input.value.length === pinLength) submitPin();
  }

  // The pad's digits are hidden: how many are entered is said aloud (a polite live region).
  function announcePinCount() {
    const n = $("#pin").value.length;
    $("#pin-count").textContent = n ? t("pin_digits", { n, total: pinLength }) : "";
  }

  // ---------------------------------------------------------------------------------------
  // Start, help, reset

  async function showStart() {
    try {
      const me = await api("GET", "/me", undefined, true);
      greetingName = me.first_name;
      $("#greeting").textContent = t("greeting", { name: greetingName });
      $("#credit-union-name").textContent = me.credit_union;
      showBrand(me.credit_union, me.credit_union_logo);
      const fingerprint = Boolean(await dbGet("fingerprint"));
      $("#start-enable-fingerprint").hidden = fingerprint || !window.PublicKeyCredential;
      show("start");
      document.dispatchEvent(new CustomEvent("skarbiec:start")); // ledger.js fills the accounts
    } catch (err) {
      await handleError(err);
    }
  }

  // The header names the member's credit union with its logo, once the app knows the member.
  function showBrand(name, logo) {
    const brand = $("#app-brand");
    brand.removeAttribute("data-t");
    brand.textContent = name;
    if (logo) $("#app-mark").src = logo;
  }

  async function fetchHelp() {
    const deviceId = (await dbGet("deviceId")) || "";
    return api("GET", "/help" + (deviceId ? "?device_id=" + encodeURIComponent(deviceId) : ""));
  }

  async function showHelp() {
    if (screen !== "help" && screen !== "loading") returnTo = screen;
    clearMessages();
    try {
      const help = await fetchHelp();
      fillPhones($("#help-phones"), help.helpline);
      const faq = $("#faq");
      faq.replaceChildren();
      for (const item of help.faq) {
        const details = document.createElement("details");
        const summary = document.createElement("summary");
        summary.textContent = item.question;
        const p = document.createElement("p");
        p.textContent = item.answer;
        details.append(summary, p);
        faq.appendChild(details);
      }
      show("help");
    } catch (err) {
      await handleError(err);
    }
  }

  async function resetApplication() {
    // R-M6: everything this app keeps on the phone goes; the server forgets the device when
    // the app is activated again.
    stopSession();
    pendingActivation = null;
    await dbErase();
    localStorage.clear();
    sessionStorage.clear();
    clearMessages();
    $("#login").value = "";
    showStatus(t("reset_done"));
    show("activate");
  }

  async function logout() {
    try { await api("POST", "/logout", {}, true); } catch (e) { /* the session ends anyway */ }
    stopSession();
    clearMessages();
    showStatus(t("logged_out"));
    await showPinScreen();
  }

  // ---------------------------------------------------------------------------------------
  // Wiring

  function bind() {
    $("#activate-form").addEventListener("submit", onActivate);
    $("#code-form").addEventListener("submit", onCode);
    $("#set-pin-form").addEventListener("submit", onSetPin);
    $("#pin-form").addEventListener("submit", (e) => { e.preventDefault(); submitPin(); });
    $("#pin").addEventListener("input", onPinInput);
    document.querySelectorAll("[data-digit]").forEach((b) => b.addEventListener("click", () => {
      const input = $("#pin");
      if (input.value.length < pinLength) input.value += b.dataset.digit;
      onPinInput();
    }));
    $("#pin-delete").addEventListener("click", () => { $("#pin").value = $("#pin").value.slice(0, -1); announcePinCount(); });
    $("#idle-extend").addEventListener("click", keepAlive);
    document.addEventListener("input", onTyping);
    $("#fingerprint-login").addEventListener("click", fingerprintLogin);
    $("#enable-fingerprint").addEventListener("click", enableFingerprint);
    $("#start-enable-fingerprint").addEventListener("click", enableFingerprint);
    $("#skip-fingerprint").addEventListener("click", showStart);
    $("#logout").addEventListener("click", logout);
    $("#help-button").addEventListener("click", showHelp);
    $("#help-back").addEventListener("click", () => { clearMessages(); show(returnTo || "activate"); });
    $("#reset-confirm").addEventListener("click", resetApplication);
    $("#reset-cancel").addEventListener("click", showPinScreen);
    $("#activate-again").addEventListener("click", resetApplication);
    document.querySelectorAll("[data-go]").forEach((b) => b.addEventListener("click", () => {
      clearMessages();
      show(b.dataset.go);
    }));
    $("#lang-switch").addEventListener("click", () => {
      lang = lang === "pl" ? "en" : "pl";
      localStorage.setItem("skarbiec-lang", lang);
      applyTexts();
    });
  }

  async function start() {
    lang = chooseLanguage();
    bind(); // at once: a tap must never hit a button without its handler
    try {
      const response = await fetch(body.dataset.texts, { credentials: "omit" });
      texts = await response.json();
    } catch (e) {
      texts = {};
    }
    applyTexts();
    if ("serviceWorker" in navigator && window.isSecureContext) {
      navigator.serviceWorker.register(body.dataset.sw, { scope: "/m/" }).catch(() => {});
    }
    if (!window.isSecureContext || !window.crypto || !crypto.subtle || !window.indexedDB) {
      show("unsupported");
      return;
    }
    const deviceId = await dbGet("deviceId").catch(() => null);
    if (deviceId) await showPinScreen();
    else show("activate");
  }

  // The account and transfer screens (ledger.js) share the session, texts and error handling.
  // A file of the API (a statement PDF) as a Blob, with the session's bearer token.
  async function apiFile(path) {
    let response;
    try {
      response = await fetch(API + path, {
        headers: { "Authorization": "Bearer " + token, "Accept-Language": lang },
        credentials: "omit", cache: "no-store",
      });
    } catch (e) {
      throw new ApiError(0, { code: "offline", message: t("offline") });
    }
    if (!response.ok) {
      let json = null;
      try { json = await response.json(); } catch (e) { json = null; }
      throw new ApiError(response.status, json || { message: t("unexpected") });
    }
    restartIdleTimer();
    return response.blob();
  }

  window.SkarbiecApp = {
    api, apiFile, t, show, showError, showStatus, clearMessages, handleError, showStart,
    get lang() { return lang; },
  };

  start();
})();
