/* Parley loader: the one script a site adds.
   <script src="https://EDGE/loader.js" data-site="SITE" async></script>
   Add data-load-immediately to load before the page's load event.
   The edge replaces the two __PARLEY_…__ placeholders with content-hashed
   paths when it serves this file. Nothing here may throw into the page. */
(function () {
  "use strict";
  var w = window, d = document;
  if (w.__parleyBoot) return; // the script tag is on the page twice

  var s = d.currentScript || d.querySelector("script[data-site][src*='loader']");
  var state = "loading";
  var boot = w.__parleyBoot = { base: "", site: "", open: false };

  // Until the widget runs, window.Parley answers from here; the widget then
  // replaces these methods with its own.
  var api = w.Parley = {
    status: function () { return state; },
    open: function () { boot.open = true; },
    close: function () { boot.open = false; }
  };

  function fail(e) {
    state = "failed";
    api.status = function () { return "failed"; };
    api.open = api.close = function () {};
    try { w.console && console.warn("Parley: widget failed to load", e); } catch (_) {}
  }

  try {
    boot.site = s && s.getAttribute("data-site") || "";
    var m = s && /^(https?:\/\/[^\/?#]+)/i.exec(s.src);
    boot.base = m ? m[1] : location.protocol + "//" + location.host;
    if (!boot.site) throw new Error("the script tag has no data-site");
  } catch (e) { fail(e); return; }

  var wasmURL = boot.base + "__PARLEY_WASM_URL__";
  var execURL = boot.base + "__PARLEY_WASM_EXEC_URL__";

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
    try {
      if (!w.WebAssembly || !w.fetch) throw new Error("browser without WebAssembly");
      var t = d.createElement("script");
      t.src = execURL;
      t.async = true;
      t.onerror = function () { fail(new Error("wasm_exec.js did not load")); };
      t.onload = function () {
        try {
          var go = new w.Go();
          instantiate(go).then(function (r) {
            // run() settles only when the Go program exits, which it never
            // should: if it does, the widget is gone.
            return go.run(r.instance).then(function () { fail(new Error("widget exited")); });
          }).catch(fail);
        } catch (e) { fail(e); }
      };
      (d.head || d.documentElement).appendChild(t);
    } catch (e) { fail(e); }
  }

  if (s && s.hasAttribute("data-load-immediately") || d.readyState === "complete") run();
  else w.addEventListener("load", run);
})();
