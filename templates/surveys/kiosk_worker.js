/* The kiosk page's service worker: the page and its files from the network, kept for when the
   connection is down (a kiosk that reloads offline still opens). Posts are never touched:
   the page queues submissions itself (kiosk.js). */
"use strict";

var CACHE = {{ cache_name|safe }};
var START = {{ start_url|safe }};
var ASSETS = {{ assets|safe }};

self.addEventListener("install", function (event) {
  event.waitUntil(
    caches.open(CACHE)
      .then(function (cache) { return cache.addAll([START].concat(ASSETS)); })
      .then(function () { return self.skipWaiting(); })
  );
});

self.addEventListener("activate", function (event) {
  event.waitUntil(
    caches.keys().then(function (names) {
      return Promise.all(names.filter(function (name) {
        return name.indexOf("xm-kiosk-") === 0 && name !== CACHE;
      }).map(function (name) { return caches.delete(name); }));
    }).then(function () { return self.clients.claim(); })
  );
});

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET") {
    return;
  }
  var url = new URL(request.url);
  var page = request.mode === "navigate" && url.pathname === START;
  if (!page && ASSETS.indexOf(url.pathname) === -1) {
    return;
  }
  event.respondWith(
    fetch(request).then(function (response) {
      // Only the fresh start page is kept (not a thank-you page, nor another language's).
      if (response.ok && (!page || url.search === "")) {
        var copy = response.clone();
        caches.open(CACHE).then(function (cache) { cache.put(page ? START : request, copy); });
      }
      return response;
    }).catch(function () {
      return caches.match(page ? START : request).then(function (cached) {
        return cached || Response.error();
      });
    })
  );
});
