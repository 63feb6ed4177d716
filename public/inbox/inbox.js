// Parley inbox: live updates and sending without a page reload.
// The pages work without this file; it only makes them live. Text from the
// server is only ever put into the page with textContent, never as HTML.
(() => {
  "use strict";

  const csrf = document.querySelector('meta[name="csrf-token"]')?.content || "";
  const thread = document.getElementById("thread");
  const list = document.getElementById("conversations");
  const form = document.getElementById("reply");
  const statusEl = document.getElementById("live-status");
  const empty = document.getElementById("empty");
  const typingEl = document.getElementById("typing");

  const convId = thread ? Number(thread.dataset.conversationId) : 0;
  const live = !!thread && thread.dataset.live === "1";
  let lastSeq = thread ? Number(thread.dataset.lastSeq) || 0 : 0;
  let visitorRead = thread ? Number(thread.dataset.visitorRead) || 0 : 0;
  let ws = null; // the live socket while open

  const el = (tag, cls, text) => {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  };

  // Times come as UTC from the server; show them in the agent's own zone.
  const sameDay = (a, b) => a.toDateString() === b.toDateString();
  const clock = (d) => d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  function localTime(t, withClock) {
    const d = new Date(t.getAttribute("datetime"));
    if (isNaN(d)) return;
    const day = d.toLocaleDateString([], { month: "short", day: "numeric" });
    t.textContent = sameDay(d, new Date()) ? clock(d) : withClock ? day + ", " + clock(d) : day;
    t.title = d.toLocaleString();
  }
  document.querySelectorAll("time[datetime]").forEach((t) => localTime(t, !!t.closest(".msg")));

  // ---- thread ----

  const nearEnd = () => window.innerHeight + window.scrollY >= document.body.scrollHeight - 120;
  const toEnd = () => window.scrollTo(0, document.body.scrollHeight);
  if (live) toEnd();

  function addMessage(f) {
    if (f.conversation !== convId || !(f.seq > 0)) return;
    lastSeq = Math.max(lastSeq, f.seq);
    if (thread.querySelector('[data-seq="' + f.seq + '"]')) return; // already shown
    const stick = nearEnd();
    const div = el("div", f.internal ? "msg note" : "msg");
    div.id = "m" + f.seq;
    div.dataset.seq = String(f.seq);
    div.dataset.from = f.from;
    if (f.internal) div.dataset.internal = "1";
    const head = el("div", "head");
    head.append(el("span", "name", f.name));
    if (f.internal) head.append(el("span", "tag", "Internal note"));
    const t = el("time");
    t.setAttribute("datetime", f.at);
    localTime(t, true);
    head.append(t);
    div.append(head, el("div", "text", f.text));
    // Keep seq order even if frames arrive after a newer one.
    const next = [...thread.children].find((c) => Number(c.dataset.seq) > f.seq);
    thread.insertBefore(div, next || null);
    if (empty) empty.hidden = true;
    if (f.from === "visitor" && !f.internal) showTyping(""); // they sent what they typed
    placeSeen();
    if (stick) toEnd();
    markRead();
  }

  // ---- typing and read receipts ----

  const TYPING_EVERY = 2500; // ms between two typing frames of this page
  const TYPING_SHOW_FOR = 5000; // an indicator without news expires
  let typingTimer = 0;
  function showTyping(text) {
    if (!typingEl) return;
    clearTimeout(typingTimer);
    typingEl.textContent = text;
    typingEl.hidden = !text;
    if (text) typingTimer = setTimeout(() => showTyping(""), TYPING_SHOW_FOR);
  }

  // "Seen" goes under the newest message the visitor can see (not a note,
  // not their own) with a seq they have read.
  function placeSeen() {
    const target = [...thread.querySelectorAll(".msg[data-seq]")]
      .filter((m) => !m.dataset.internal && m.dataset.from !== "visitor" && Number(m.dataset.seq) <= visitorRead)
      .pop();
    let seen = document.getElementById("seen");
    if (!target) return seen?.remove();
    if (!seen) {
      seen = el("div", "receipt", "Seen");
      seen.id = "seen";
    }
    if (seen.parentNode !== target) target.append(seen);
  }

  // The agent has read what the page shows while it is visible.
  let readSent = 0;
  function markRead() {
    if (!ws || ws.readyState !== 1 || document.visibilityState !== "visible" || lastSeq <= readSent) return;
    readSent = lastSeq;
    ws.send(JSON.stringify({ type: "read", conversation: convId, seq: lastSeq }));
  }
  document.addEventListener("visibilitychange", () => live && markRead());

  // ---- conversation list ----

  function listEntry(it) {
    const li = el("li");
    li.dataset.at = it.at;
    const a = el("a");
    a.href = it.href;
    a.dataset.conversation = it.public_id;
    const t = el("time", "", it.when);
    t.setAttribute("datetime", it.at);
    localTime(t, false);
    const pv = el("span", "preview");
    if (it.note) pv.append(el("em", "", "Note:"), " ");
    pv.append(it.preview);
    a.append(el("span", "label", it.label), t, pv, el("span", "inbox", it.inbox));
    li.append(a);
    return li;
  }

  const findEntry = (publicId) =>
    [...list.querySelectorAll("a[data-conversation]")].find((a) => a.dataset.conversation === publicId)?.parentNode;

  function upsert(it) {
    findEntry(it.public_id)?.remove();
    const li = listEntry(it);
    // Newest activity first; RFC 3339 UTC strings sort as times.
    const next = [...list.children].find((c) => (c.dataset.at || "") <= it.at);
    list.insertBefore(li, next || null);
    empty.hidden = true;
  }

  function replaceList(items) {
    list.replaceChildren(...items.map(listEntry));
    empty.hidden = items.length > 0;
  }

  // ---- live socket ----

  function setStatus(state) {
    if (!statusEl) return;
    statusEl.hidden = false;
    statusEl.dataset.state = state;
    statusEl.textContent = state === "live" ? "Live" : "Reconnecting…";
  }

  const toLogin = () => {
    location.href = "/inbox/login?next=" + encodeURIComponent(location.pathname + location.search);
  };

  let failures = 0;
  function connect() {
    const sock = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/inbox/ws");
    sock.onopen = () => {
      failures = 0;
      ws = sock;
      setStatus("live");
      // Resume from the last message shown: the server sends what was missed.
      sock.send(JSON.stringify(live ? { type: "subscribe", conversation: convId, last_seq: lastSeq } : { type: "list" }));
      if (live) { readSent = 0; markRead(); }
    };
    sock.onmessage = (ev) => {
      let f;
      try { f = JSON.parse(ev.data); } catch { return; }
      if (f.type === "message" && live) addMessage(f);
      else if (f.type === "typing" && live && f.conversation === convId) showTyping((f.name || "Someone") + " is typing…");
      else if (f.type === "read" && live && f.conversation === convId && f.from === "visitor") {
        visitorRead = Math.max(visitorRead, f.seq || 0);
        placeSeen();
      }
      else if (f.type === "list" && list) replaceList(f.items || []);
      else if (f.type === "conversation" && list && f.item) upsert(f.item);
      else if (f.type === "remove" && list) findEntry(f.public_id)?.remove();
    };
    sock.onclose = (ev) => {
      if (ws === sock) ws = null;
      if (ev.code === 4401) return toLogin();
      setStatus("reconnecting");
      failures++;
      // After a few failures, see whether the session is gone (the handshake
      // then fails with 401, which a WebSocket cannot tell us).
      if (failures >= 3) {
        fetch("/inbox", { headers: { Accept: "application/json" }, credentials: "same-origin" })
          .then((r) => { if (r.status === 401) toLogin(); })
          .catch(() => {});
      }
      const delay = Math.min(15000, 500 * 2 ** Math.min(failures, 5));
      setTimeout(connect, delay / 2 + Math.random() * delay / 2);
    };
  }
  if (live || list) connect();

  // ---- reply form ----

  if (form && live) {
    const text = form.elements.text;
    const clientId = form.elements.client_id;
    const button = form.querySelector('[data-action="send"]');
    const error = document.getElementById("reply-error");
    const draftKey = "parley-draft-" + convId;

    // A draft saved before a forced sign-in comes back.
    const draft = sessionStorage.getItem(draftKey);
    if (draft && !text.value) text.value = draft;
    sessionStorage.removeItem(draftKey);

    const newId = () => (crypto.randomUUID ? crypto.randomUUID() :
      [...crypto.getRandomValues(new Uint8Array(16))].map((b) => b.toString(16).padStart(2, "0")).join(""));
    const showError = (msg) => { error.textContent = msg; error.hidden = !msg; };

    // Tell the visitor the agent is typing, at most once every TYPING_EVERY.
    let typingSent = 0;
    text.addEventListener("input", () => {
      const now = Date.now();
      if (!text.value.trim() || form.elements.internal?.checked || !ws || ws.readyState !== 1 || now - typingSent < TYPING_EVERY) return;
      typingSent = now;
      ws.send(JSON.stringify({ type: "typing", conversation: convId }));
    });

    text.addEventListener("keydown", (e) => {
      if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
        e.preventDefault();
        form.requestSubmit();
      }
    });

    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      const sent = text.value;
      if (!sent.trim()) return showError("Write a reply before sending.");
      button.disabled = true;
      try {
        // The same client id on a retry makes the server store the reply once.
        const res = await fetch(form.action, {
          method: "POST",
          body: new URLSearchParams(new FormData(form)),
          headers: { "X-CSRF-Token": csrf, Accept: "application/json" },
          credentials: "same-origin",
        });
        const data = await res.json().catch(() => ({}));
        if (res.ok) {
          if (text.value === sent) text.value = "";
          clientId.value = newId();
          showError("");
          toEnd();
        } else if (res.status === 401) {
          sessionStorage.setItem(draftKey, text.value);
          toLogin();
        } else {
          showError(data.error || "The reply was not sent (error " + res.status + "). Try again.");
        }
      } catch {
        showError("The reply was not sent: the connection failed. Your text is still here; send it again.");
      } finally {
        button.disabled = false;
        text.focus();
      }
    });
  }
})();
