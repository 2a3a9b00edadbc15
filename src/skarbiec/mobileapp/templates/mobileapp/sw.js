// Service worker of the Skarbiec mobile app. It caches ONLY the static shell (page, script,
// stylesheet, texts, icons). API answers and account data are never stored: /api/ goes to the
// network only, and anything not in the shell list is not touched.
const VERSION = "{{ version }}";
const SHELL = {{ shell_json|safe }};
{% verbatim %}
const CACHE = "skarbiec-shell-" + VERSION;

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches.open(CACHE).then((cache) => cache.addAll(SHELL)).then(() => self.skipWaiting())
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys()
      .then((names) => Promise.all(
        names.filter((n) => n.startsWith("skarbiec-shell-") && n !== CACHE).map((n) => caches.delete(n))
      ))
      .then(() => self.clients.claim())
  );
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (url.pathname.startsWith("/api/")) return; // network only: account data is never cached
  if (!SHELL.includes(url.pathname)) return;
  if (request.mode === "navigate" || url.pathname === "/m/i18n.json") {
    // Network first, so a new version arrives at once; the cached shell when offline.
    event.respondWith(
      fetch(request).catch(() => caches.match(url.pathname, { cacheName: CACHE }))
    );
    return;
  }
  event.respondWith(
    caches.match(url.pathname, { cacheName: CACHE }).then((hit) => hit || fetch(request))
  );
});
{% endverbatim %}
