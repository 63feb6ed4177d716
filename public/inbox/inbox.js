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
    if (f.file) {
      const a = el("a", "file");
      a.href = f.file.url;
      a.setAttribute("download", "");
      a.append("📎 ", el("span", "file-name", f.file.name), " ", el("span", "file-size", sizeText(f.file.size)));
      div.append(a);
    }
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
  // Typing before the live socket is open is told once it opens.
  let typingPending = false;
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

  // The agent has read what the page shows while it is visible: told over
  // the live socket, or by a POST while it is not open (showing the page,
  // a GET, marks nothing).
  let readSent = 0;
  function markRead() {
    if (!thread || document.visibilityState !== "visible" || lastSeq <= readSent) return;
    readSent = lastSeq;
    if (ws && ws.readyState === 1) {
      ws.send(JSON.stringify({ type: "read", conversation: convId, seq: lastSeq }));
      return;
    }
    fetch("/inbox/conversations/" + convId + "/read", {
      method: "POST", credentials: "same-origin",
      headers: { "X-CSRF-Token": csrf, Accept: "application/json", "Content-Type": "application/x-www-form-urlencoded" },
      body: "seq=" + lastSeq,
    }).then((r) => { if (!r.ok) readSent = 0; }).catch(() => { readSent = 0; });
  }
  document.addEventListener("visibilitychange", () => live && markRead());
  if (live) markRead();

  function sizeText(n) {
    if (n >= 1048576) return (n / 1048576).toFixed(1) + " MB";
    if (n >= 1024) return Math.round(n / 1024) + " KB";
    return n + " bytes";
  }

  // ---- the visitor's page (side panel) ----

  // The page the visitor is on, from the live socket: shown as text, and a
  // link only when it is an http(s) URL. The start page shows once they moved.
  function pageEntry(dd, url) {
    if (!dd) return;
    if (!url) return dd.replaceChildren("—");
    let href = "";
    try {
      const u = new URL(url);
      if (u.protocol === "http:" || u.protocol === "https:") href = u.href;
    } catch { /* not a URL: text only */ }
    if (!href) return dd.replaceChildren(url);
    const a = el("a", "", url);
    a.href = href;
    a.target = "_blank";
    a.rel = "noopener noreferrer";
    dd.replaceChildren(a);
  }
  function setPage(f) {
    if (f.conversation !== convId || typeof f.page !== "string") return;
    pageEntry(document.getElementById("panel-page"), f.page);
    const start = document.getElementById("panel-start-page");
    const label = document.getElementById("panel-start-page-label");
    if (!start || !label) return;
    const moved = typeof f.start === "string" && f.start !== f.page;
    start.textContent = moved ? f.start : "";
    start.hidden = label.hidden = !moved;
  }

  // ---- unread count, notifications and sound ----

  const baseTitle = document.title;
  function updateTitle() {
    if (!list) return;
    const n = list.querySelectorAll('li[data-unread="1"]').length;
    document.title = n > 0 ? "(" + n + ") " + baseTitle : baseTitle;
  }
  updateTitle();

  const notifyBtn = document.getElementById("notify");
  if (notifyBtn && "Notification" in window && Notification.permission === "default") {
    notifyBtn.hidden = false;
    notifyBtn.addEventListener("click", () => {
      Notification.requestPermission().finally(() => { notifyBtn.hidden = true; });
    });
  }

  // A short two-tone chime, made on the spot: no audio file to fetch.
  let audio = null;
  function chime() {
    try {
      audio = audio || new (window.AudioContext || window.webkitAudioContext)();
      [880, 1320].forEach((hz, i) => {
        const o = audio.createOscillator();
        const g = audio.createGain();
        o.frequency.value = hz;
        g.gain.setValueAtTime(0.12, audio.currentTime + i * 0.15);
        g.gain.exponentialRampToValueAtTime(0.001, audio.currentTime + i * 0.15 + 0.3);
        o.connect(g).connect(audio.destination);
        o.start(audio.currentTime + i * 0.15);
        o.stop(audio.currentTime + i * 0.15 + 0.3);
      });
    } catch { /* no sound available */ }
  }

  const alerted = new Set(); // chats this page has rung for
  window.parleyNotified = 0; // how many new-chat alerts this page raised (tests read it)
  function newChatAlert(it) {
    window.parleyNotified++;
    chime();
    if ("Notification" in window && Notification.permission === "granted" && document.visibilityState !== "visible") {
      const n = new Notification("New chat: " + it.label, { body: it.preview, tag: it.public_id });
      n.onclick = () => { window.focus(); location.href = it.href; };
    }
  }

  // ---- conversation list ----

  // Rows shown when the page loaded are not news.
  list?.querySelectorAll("a[data-conversation]").forEach((a) => a.parentNode.dataset.seen = "1");

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
    const label = el("span", "label", it.label);
    if (it.claim) {
      // An address typed into the chat: the visitor's claim, not proven.
      const cl = el("span", "claim", it.claim + " ");
      cl.title = "Typed into the chat; not verified";
      cl.append(el("em", "unverified", "unverified"));
      label.append(" ", cl);
    }
    a.append(label, t, pv, el("span", "inbox", it.inbox + (it.assignee ? " · " + it.assignee : "")));
    if (it.unread) li.dataset.unread = "1";
    li.append(a);
    return li;
  }

  const findEntry = (publicId) =>
    [...list.querySelectorAll("a[data-conversation]")].find((a) => a.dataset.conversation === publicId)?.parentNode;

  function upsert(it) {
    const old = findEntry(it.public_id);
    // A chat new to this page rings once, when its first visitor message
    // arrives (the row may come a moment earlier, still empty).
    if (it.unread && !alerted.has(it.public_id) && !(old && old.dataset.seen === "1")) {
      alerted.add(it.public_id);
      newChatAlert(it);
    }
    old?.remove();
    const li = listEntry(it);
    if (old?.dataset.seen) li.dataset.seen = "1";
    // Newest activity first; RFC 3339 UTC strings sort as times.
    const next = [...list.children].find((c) => (c.dataset.at || "") <= it.at);
    list.insertBefore(li, next || null);
    empty.hidden = true;
    updateTitle();
  }

  function removeEntry(publicId) {
    findEntry(publicId)?.remove();
    empty.hidden = list.children.length > 0;
    updateTitle();
  }

  function setCounts(counts) {
    document.querySelectorAll("[data-count]").forEach((e) => {
      const n = counts[e.dataset.count];
      e.textContent = String(n || 0);
    });
  }

  function replaceList(items) {
    list.replaceChildren(...items.map((it) => {
      const li = listEntry(it);
      li.dataset.seen = "1";
      return li;
    }));
    empty.hidden = items.length > 0;
    updateTitle();
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
      sock.send(JSON.stringify(live ? { type: "subscribe", conversation: convId, last_seq: lastSeq }
        : { type: "list", view: list.dataset.view || "open", inbox: Number(list.dataset.inbox) || 0, q: list.dataset.q || "" }));
      if (live) { readSent = 0; markRead(); }
      if (live && typingPending) {
        typingPending = false;
        sock.send(JSON.stringify({ type: "typing", conversation: convId }));
      }
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
      else if (f.type === "page" && live) setPage(f);
      else if (f.type === "list" && list) replaceList(f.items || []);
      else if (f.type === "conversation" && list && f.item) upsert(f.item);
      else if (f.type === "remove" && list) removeEntry(f.public_id);
      else if (f.type === "counts" && f.counts) setCounts(f.counts);
    };
    sock.onclose = (ev) => {
      if (ws === sock) ws = null;
      if (ev.code === 4401) return toLogin();
      if (ev.code === 4403) return location.reload(); // no longer this inbox's member: the page says so
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
      if (!text.value.trim() || form.elements.internal?.checked || now - typingSent < TYPING_EVERY) return;
      if (!ws || ws.readyState !== 1) { typingPending = true; return; }
      typingSent = now;
      ws.send(JSON.stringify({ type: "typing", conversation: convId }));
    });

    // Saved replies: pick one from the list, or type /shortcut and press Tab.
    const saved = document.getElementById("saved-replies");
    const insert = (body) => {
      const at = text.selectionStart ?? text.value.length;
      text.value = text.value.slice(0, at) + body + text.value.slice(text.selectionEnd ?? at);
      text.focus();
    };
    saved?.addEventListener("change", () => {
      if (saved.value) insert(saved.value);
      saved.value = "";
    });
    text.addEventListener("keydown", (e) => {
      if (e.key !== "Tab" || !saved) return;
      const before = text.value.slice(0, text.selectionStart);
      const m = before.match(/(^|\s)\/([a-z0-9_-]{1,32})$/);
      const opt = m && [...saved.options].find((o) => o.dataset.shortcut === m[2]);
      if (!opt) return;
      e.preventDefault();
      text.setSelectionRange(before.length - m[2].length - 1, text.selectionStart);
      insert(opt.value);
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
