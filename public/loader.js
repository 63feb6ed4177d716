/* Parley loader: the one script a site adds.
     <script src="https://EDGE/loader.js" data-site="SITE" async></script>
   Nothing else is fetched before the page's load event, unless the tag has
   data-load-immediately. window.ParleySettings, read once here:
     loadImmediately: false      wait for Parley.load() instead of loading on its own
     inlineEmbedSelector: "#id"  render the chat open inside that element
     identificationEmail, identificationToken  chat as a known contact
     disableAttachments: true    no file uploads
   window.Parley: load, open, close, refresh, remove, status, on, off. Calls
   made before the widget runs are queued; window.parleyOnReady = [fn, ...]
   runs fn once Parley exists. The edge replaces the __PARLEY_…__
   placeholders with content-hashed paths. Nothing here may throw into the page. */
(function () {
  "use strict";
  var w = window, d = document;
  if (w.__parleyBoot) return; // the script tag is on the page twice

  var s = d.currentScript || d.querySelector("script[data-site][src*='loader']");
  var handlers = {}, pending = [], started = false;
  var boot = w.__parleyBoot = {
    base: "", site: "", state: "not_loaded", impl: null,
    settings: w.ParleySettings || {},
    i18n: { en: "__PARLEY_I18N_EN_URL__", nl: "__PARLEY_I18N_NL_URL__", de: "__PARLEY_I18N_DE_URL__",
      fr: "__PARLEY_I18N_FR_URL__", es: "__PARLEY_I18N_ES_URL__" }
  };

  function warn(m, e) { try { w.console && console.warn("Parley: " + m, e || ""); } catch (_) {} }

  // emit calls the page's handlers of event name; a throwing handler is the page's bug, not ours.
  boot.emit = function (name, data) {
    var hs = (handlers[name] || []).slice();
    for (var i = 0; i < hs.length; i++) {
      try { hs[i](data); } catch (e) { warn("a " + name + " handler threw", e); }
    }
  };
  // attach is how the widget takes over: queued calls run now, in order.
  boot.attach = function (impl) {
    boot.impl = impl;
    var p = pending; pending = [];
    for (var i = 0; i < p.length; i++) call(p[i]);
  };
  function call(m) {
    if (!boot.impl) { pending.push(m); return; }
    try { boot.impl[m](); } catch (e) { warn(m + " failed", e); }
  }

  var api = w.Parley = {
    load: function () { if (!started) run(); else if (boot.state === "removed") call("refresh"); },
    open: function () { call("open"); },
    close: function () { call("close"); },
    refresh: function () { call("refresh"); },
    remove: function () { call("remove"); },
    status: function () { return boot.state; },
    on: function (name, fn) {
      if (typeof fn === "function") (handlers[name] = handlers[name] || []).push(fn);
    },
    off: function (name, fn) {
      var hs = handlers[name] || [];
      handlers[name] = fn ? hs.filter(function (h) { return h !== fn; }) : [];
    }
  };

  function fail(e) {
    boot.state = "failed";
    boot.impl = null;
    pending = [];
    warn("the chat widget failed to load; the page is not affected.", e);
  }

  try {
    boot.site = s && s.getAttribute("data-site") || "";
    // The inbox's preview points the widget at one chatflow's config (a path on the edge).
    var c = s && s.getAttribute("data-config") || "";
    if (/^\/[^\/]/.test(c)) boot.config = c;
    var m = s && /^(https?:\/\/[^\/?#]+)/i.exec(s.src);
    boot.base = m ? m[1] : location.protocol + "//" + location.host;
    for (var k in boot.i18n) boot.i18n[k] = boot.base + boot.i18n[k];
    if (!boot.site) throw new Error("the script tag has no data-site");
  } catch (e) { fail(e); return; }

  var wasmURL = boot.base + "__PARLEY_WASM_URL__";
  var execURL = boot.base + "__PARLEY_WASM_EXEC_URL__";
  function text(u) {
    return fetch(boot.base + u, { credentials: "omit" }).then(function (r) {
      if (!r.ok) throw new Error(u + ": HTTP " + r.status);
      return r.text();
    });
  }

  function instantiate(go) {
    function viaBuffer() {
      return fetch(wasmURL, { credentials: "omit" }).then(function (r) {
        if (!r.ok) throw new Error("widget.wasm: HTTP " + r.status);
        return r.arrayBuffer();
      }).then(function (b) { return WebAssembly.instantiate(b, go.importObject); });
    }
    if (!WebAssembly.instantiateStreaming) return viaBuffer();
    // Streaming needs the application/wasm type; fall back when a proxy drops it.
    return WebAssembly.instantiateStreaming(fetch(wasmURL, { credentials: "omit" }), go.importObject)
      .catch(viaBuffer);
  }

  function run() {
    started = true;
    boot.state = "loading";
    try {
      if (!w.WebAssembly || !w.fetch || !w.Promise) throw new Error("browser without WebAssembly");
      // The widget's look comes as two cached files, fetched while the wasm streams.
      boot.look = Promise.all([text("__PARLEY_WIDGET_CSS_URL__"), text("__PARLEY_WIDGET_HTML_URL__")]);
      boot.look.catch(function () {});
      var t = d.createElement("script");
      t.src = execURL;
      t.async = true;
      t.onerror = function () { fail(new Error("wasm_exec.js did not load")); };
      t.onload = function () {
        try {
          var go = new w.Go();
          instantiate(go).then(function (r) {
            // A task of its own for the Go program's start, so instantiating
            // and starting never add up to one long task on the page.
            return new Promise(function (ok) { setTimeout(ok, 0); }).then(function () {
              // run() settles only when the Go program exits, which it never
              // should: if it does, the widget is gone.
              return go.run(r.instance).then(function () { fail(new Error("widget exited")); });
            });
          }).catch(fail);
        } catch (e) { fail(e); }
      };
      (d.head || d.documentElement).appendChild(t);
    } catch (e) { fail(e); }
  }

  // The page's ready callbacks: those queued before this script ran, and any pushed later.
  var ready = w.parleyOnReady;
  w.parleyOnReady = { push: function (fn) { try { fn(); } catch (e) { warn("a parleyOnReady callback threw", e); } } };
  if (ready && ready.length) for (var i = 0; i < ready.length; i++) w.parleyOnReady.push(ready[i]);

  if (boot.settings.loadImmediately === false) return; // the page calls Parley.load()
  if (s && s.hasAttribute("data-load-immediately") || d.readyState === "complete") run();
  else w.addEventListener("load", run);
})();
