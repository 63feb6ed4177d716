/* The chatflow editor's live preview. The editor's form works without
   this script; with it, every change posts the form (as a save would read
   it) to the draft endpoint, which validates it through REST without saving
   and answers a draft id; the frame then shows the real widget from that
   draft, at the chosen device size, in the chosen state. */
(function () {
  "use strict";
  var box = document.getElementById("live-preview");
  var form = document.getElementById("chatflow-form");
  if (!box || !form || !window.fetch || !window.URLSearchParams) return;
  var bar = document.getElementById("preview-bar");
  var stage = document.getElementById("preview-stage");
  var frame = document.getElementById("preview-frame");
  var status = document.getElementById("preview-status");
  var state = document.getElementById("preview-state");
  var consent = document.getElementById("preview-consent");
  var prompt = document.getElementById("preview-prompt");
  var sizes = { desktop: [1280, 800], tablet: [820, 1180], mobile: [390, 844], app: [390, 844] };
  var device = box.getAttribute("data-mobile") === "true" ? "app" : "desktop";
  var draft = "", seq = 0, timer = null;
  bar.hidden = false;
  stage.hidden = false;

  function fit() {
    var s = sizes[device];
    var room = box.clientWidth || 400;
    var k = Math.min(1, room / s[0]);
    frame.width = s[0];
    frame.height = s[1];
    frame.style.transform = "scale(" + k + ")";
    stage.style.width = Math.round(s[0] * k) + "px";
    stage.style.height = Math.round(s[1] * k) + "px";
    stage.className = "preview-stage" + (device === "mobile" || device === "app" ? " phone" : "");
    stage.setAttribute("data-device", device);
  }

  function show() {
    if (!draft) return;
    var q = new URLSearchParams();
    q.set("draft", draft);
    q.set("state", state.value);
    q.set("consent", consent.checked ? "1" : "0");
    q.set("prompt", prompt.checked ? "1" : "0");
    if (device === "app") q.set("app", "1");
    fit();
    frame.src = box.getAttribute("data-frame") + "?" + q.toString();
    stage.setAttribute("data-state", state.value);
  }

  function describe(errors) {
    var out = [];
    for (var k in errors) if (Object.prototype.hasOwnProperty.call(errors, k)) out.push((k ? k + ": " : "") + errors[k]);
    return out.join("; ");
  }

  function send() {
    var n = ++seq;
    var body = new URLSearchParams(new FormData(form));
    status.textContent = "Updating the preview…";
    fetch(box.getAttribute("data-draft"), {
      method: "POST", body: body, credentials: "same-origin",
      headers: { "Accept": "application/json" }
    }).then(function (r) {
      return r.json().then(function (j) { return { ok: r.ok, j: j || {} }; });
    }).then(function (x) {
      if (n !== seq) return;
      if (x.ok && x.j.id) {
        draft = x.j.id;
        status.textContent = "";
        show();
      } else {
        status.textContent = "The preview shows the last valid settings. " + (x.j.errors ? describe(x.j.errors) : (x.j.error || ""));
      }
    }).catch(function () {
      if (n === seq) status.textContent = "The preview could not be updated; it shows the last valid settings.";
    });
  }

  function later() {
    clearTimeout(timer);
    timer = setTimeout(send, 400);
  }

  form.addEventListener("input", later);
  form.addEventListener("change", later);
  var buttons = bar.querySelectorAll("button[data-device]");
  for (var i = 0; i < buttons.length; i++) {
    buttons[i].addEventListener("click", function (ev) {
      device = ev.currentTarget.getAttribute("data-device");
      for (var j = 0; j < buttons.length; j++) buttons[j].setAttribute("aria-pressed", buttons[j] === ev.currentTarget ? "true" : "false");
      show();
    });
  }
  state.addEventListener("change", show);
  consent.addEventListener("change", show);
  prompt.addEventListener("change", show);
  window.addEventListener("resize", fit);
  send();
})();
