// Parley inbox: the agent's workspace made live, and alerts on every page.
// The pages work without this file; it only makes them live. Text from the
// server's live socket is only ever put into the page with textContent;
// the one HTML the script inserts is a thread partial the server rendered
// with the same templates as the full page.
(() => {
  "use strict";

  const csrf = document.querySelector('meta[name="csrf-token"]')?.content || "";
  if (!csrf) return; // the sign-in pages: nothing live
  const me = Number(document.querySelector('meta[name="parley-user"]')?.content) || 0;
  const statusEl = document.getElementById("live-status");
  const list = document.getElementById("conversations"); // kept across view switches
  const pane = document.getElementById("pane");
  let listEmpty = document.getElementById("list-empty");
  let ws = null; // the live socket while open

  const el = (tag, cls, text) => {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  };
  const hidden = () => document.visibilityState !== "visible";
  const send = (f) => { if (ws && ws.readyState === 1) { ws.send(JSON.stringify(f)); return true; } return false; };

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
  const localTimes = (root) => root.querySelectorAll("time[datetime]").forEach((t) => localTime(t, !!t.closest(".msg")));
  localTimes(document);

  function sizeText(n) {
    if (n >= 1048576) return (n / 1048576).toFixed(1) + " MB";
    if (n >= 1024) return Math.round(n / 1024) + " KB";
    return n + " bytes";
  }

  // ---- alerts: sound, desktop notification, count in the title ----

  let titleBase = document.title.replace(/^\(\d+\) /, "");
  const unread = new Map(); // public id -> unread messages, of chats that alert this agent
  function updateTitle() {
    let n = 0;
    unread.forEach((c) => { if (c > 0) n++; });
    document.title = n > 0 ? "(" + n + ") " + titleBase : titleBase;
  }

  const SOUND_KEY = "parley-sound";
  const soundBtn = document.getElementById("sound");
  const muted = () => localStorage.getItem(SOUND_KEY) === "off";
  function showSound() {
    if (!soundBtn) return;
    soundBtn.hidden = false;
    soundBtn.setAttribute("aria-pressed", String(!muted()));
    soundBtn.textContent = muted() ? "🔕 Sound off" : "🔔 Sound on";
  }
  soundBtn?.addEventListener("click", () => {
    localStorage.setItem(SOUND_KEY, muted() ? "on" : "off");
    showSound();
  });
  showSound();

  const notifyBtn = document.getElementById("notify");
  if (notifyBtn && "Notification" in window && Notification.permission === "default") {
    notifyBtn.hidden = false;
    notifyBtn.addEventListener("click", () => {
      Notification.requestPermission().finally(() => { notifyBtn.hidden = true; });
    });
  }

  // A short two-tone beep made on the spot (Web Audio): no file to fetch.
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
      window.parleyChimes = (window.parleyChimes || 0) + 1;
    } catch { /* no sound available */ }
  }

  window.parleyNotified = 0; // alerts this page raised (tests read it)
  function ring(it) {
    window.parleyNotified++;
    if (!muted()) chime();
    if ("Notification" in window && Notification.permission === "granted" && hidden()) {
      const title = it.unread_count > 1 || it.assignee_id ? it.label + " wrote" : "New chat: " + it.label;
      const n = new Notification(title, { body: it.preview, tag: it.public_id });
      n.onclick = () => { window.focus(); open(it.id, true); };
    }
  }

  // alertOf learns a conversation's row: a chat assigned to this agent or
  // waiting for anyone rings when its unread count grows, unless the agent
  // is looking at it.
  function alertOf(it) {
    const prev = unread.get(it.public_id) || 0;
    const cur = it.alert ? it.unread_count || 0 : 0;
    if (cur > 0) unread.set(it.public_id, cur); else unread.delete(it.public_id);
    const watching = cur && thread && thread.id === it.id && !hidden();
    if (cur > prev && !watching) ring(it);
    updateTitle();
  }
  function alertsBaseline(items) {
    unread.clear();
    items.forEach((it) => { if (it.alert && it.unread_count > 0) unread.set(it.public_id, it.unread_count); });
    updateTitle();
  }

  // ---- conversation list ----

  const findRow = (publicId) =>
    list && [...list.querySelectorAll("a[data-conversation]")].find((a) => a.dataset.conversation === publicId)?.parentNode;
  const rowById = (id) => list?.querySelector('li[data-id="' + id + '"]');

  function rowEntry(it) {
    const li = el("li");
    li.dataset.at = it.at;
    li.dataset.id = String(it.id);
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
    const badge = el("span", "badge", it.unread_count > 99 ? "99+" : it.unread_count > 0 ? String(it.unread_count) : "");
    badge.dataset.badge = "";
    if (!(it.unread_count > 0)) badge.hidden = true;
    const typing = el("span", "row-typing", "typing…");
    typing.hidden = true;
    a.append(label, t, badge, pv, typing, el("span", "inbox", it.inbox + (it.assignee ? " · " + it.assignee : "")));
    if (it.labels && it.labels.length) a.append(labelChips(it.labels));
    if (it.unread) li.dataset.unread = "1";
    if (thread && thread.id === it.id) a.setAttribute("aria-current", "true");
    li.append(a);
    return li;
  }

  // The row's labels as the server draws them (templates/_labels.html):
  // the colour is an SVG attribute, never an inline style.
  function labelChips(labels) {
    const box = el("span", "chips row-labels");
    for (const l of labels) {
      const chip = el("span", "chip");
      chip.dataset.label = String(l.id);
      const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
      svg.setAttribute("class", "label-dot");
      svg.setAttribute("width", "10");
      svg.setAttribute("height", "10");
      svg.setAttribute("viewBox", "0 0 10 10");
      svg.setAttribute("aria-hidden", "true");
      const dot = document.createElementNS("http://www.w3.org/2000/svg", "circle");
      dot.setAttribute("cx", "5");
      dot.setAttribute("cy", "5");
      dot.setAttribute("r", "5");
      if (/^#[0-9a-f]{6}$/.test(l.color)) dot.setAttribute("fill", l.color);
      svg.append(dot);
      chip.append(svg, el("span", "chip-name", l.name));
      box.append(chip);
    }
    return box;
  }

  function upsert(it) {
    if (!list) return;
    const old = findRow(it.public_id);
    old?.remove();
    const li = rowEntry(it);
    // Newest activity first; RFC 3339 UTC strings sort as times.
    const next = [...list.children].find((c) => (c.dataset.at || "") <= it.at);
    list.insertBefore(li, next || null);
    if (listEmpty) listEmpty.hidden = true;
  }

  function removeRow(publicId) {
    findRow(publicId)?.remove();
    if (listEmpty) listEmpty.hidden = list.children.length > 0;
  }

  function setCounts(counts) {
    document.querySelectorAll("[data-count]").forEach((e) => {
      e.textContent = String(counts[e.dataset.count] || 0);
    });
  }

  function replaceList(items) {
    if (!list) return;
    list.replaceChildren(...items.map(rowEntry));
    if (listEmpty) listEmpty.hidden = items.length > 0;
  }

  // The visitor's typing shows in their row for a few seconds.
  const rowTyping = new Map();
  function typingInRow(id) {
    const span = rowById(id)?.querySelector(".row-typing");
    if (!span) return;
    span.hidden = false;
    clearTimeout(rowTyping.get(id));
    rowTyping.set(id, setTimeout(() => { const s = rowById(id)?.querySelector(".row-typing"); if (s) s.hidden = true; }, 5000));
  }

  function markCurrent() {
    list?.querySelectorAll("a[aria-current]").forEach((a) => a.removeAttribute("aria-current"));
    if (thread) rowById(thread.id)?.querySelector("a")?.setAttribute("aria-current", "true");
  }

  // ---- the open thread ----

  let thread = null; // the open conversation's state; null when none

  const TYPING_EVERY = 2500; // ms between two typing frames of this page
  const TYPING_SHOW_FOR = 5000; // an indicator without news expires

  function bindThread() {
    const box = document.getElementById("thread");
    if (!box) { thread = null; return; }
    const t = {
      id: Number(box.dataset.conversationId),
      publicId: box.dataset.conversation,
      box,
      live: box.dataset.live === "1",
      lastSeq: Number(box.dataset.lastSeq) || 0,
      visitorRead: Number(box.dataset.visitorRead) || 0,
      readSent: 0,
      typingTimer: 0,
      typingPending: false,
      viewers: new Map(),
    };
    thread = t;
    localTimes(pane || document);
    markCurrent();
    if (t.live) toEnd();
    bindReply(t);
    bindEmoji(t);
    if (t.live) {
      if (send({ type: "subscribe", conversation: t.id, last_seq: t.lastSeq })) markRead();
    }
    const heading = document.getElementById("conv-heading");
    if (heading) titleBase = heading.textContent.trim() + " · Parley inbox";
    updateTitle();
  }

  const nearEnd = () => {
    const b = thread?.box;
    if (!b) return false;
    if (b.scrollHeight > b.clientHeight) return b.scrollTop + b.clientHeight >= b.scrollHeight - 120;
    return window.innerHeight + window.scrollY >= document.body.scrollHeight - 120;
  };
  const toEnd = () => {
    const b = thread?.box;
    if (b) b.scrollTop = b.scrollHeight;
    if (!pane) window.scrollTo(0, document.body.scrollHeight);
  };

  function avatarOf(f) {
    const span = el("span", "avatar");
    span.setAttribute("aria-hidden", "true");
    if (f.avatar && f.avatar.startsWith("/")) {
      const img = el("img");
      img.src = f.avatar;
      img.alt = "";
      span.append(img);
    } else {
      span.textContent = initials(f.name || "");
    }
    return span;
  }
  const initials = (name) => name.split(/\s+/).filter(Boolean).slice(0, 2).map((w) => [...w][0].toUpperCase()).join("") || "?";

  // Text made safe: put in with textContent; http(s) addresses become links.
  function linkified(text) {
    const frag = document.createDocumentFragment();
    const re = /https?:\/\/[^\s<>"']+/g;
    let at = 0;
    for (const m of text.matchAll(re)) {
      let url = m[0].replace(/[.,;:!?)\]]+$/, "");
      frag.append(text.slice(at, m.index));
      const a = el("a", "", url);
      a.href = url;
      a.target = "_blank";
      a.rel = "noopener noreferrer nofollow";
      frag.append(a);
      at = m.index + url.length;
    }
    frag.append(text.slice(at));
    return frag;
  }

  function fileEntry(f) {
    if (/^image\/(png|jpeg|gif|webp)$/.test(f.type || "")) {
      const a = el("a", "thumb");
      a.href = f.url + "?inline=1";
      a.target = "_blank";
      a.rel = "noopener";
      const img = el("img");
      img.src = f.url + "?inline=1";
      img.alt = f.name;
      img.loading = "lazy";
      a.append(img);
      return a;
    }
    const a = el("a", "file");
    a.href = f.url;
    a.setAttribute("download", "");
    a.append("📎 ", el("span", "file-name", f.name), " ", el("span", "file-size", sizeText(f.size)));
    return a;
  }

  function addMessage(f) {
    const t = thread;
    if (!t || f.conversation !== t.id || !(f.seq > 0)) return;
    t.lastSeq = Math.max(t.lastSeq, f.seq);
    if (t.box.querySelector('[data-seq="' + f.seq + '"]')) return; // already shown
    const stick = nearEnd();
    const div = el("div", f.internal ? "msg note" : "msg");
    div.id = "m" + f.seq;
    div.dataset.seq = String(f.seq);
    div.dataset.from = f.from;
    if (f.internal) div.dataset.internal = "1";
    const head = el("div", "head");
    if (f.from === "agent") head.append(avatarOf(f));
    head.append(el("span", "name", f.name));
    if (f.internal) head.append(el("span", "tag", "Internal note"));
    const tm = el("time");
    tm.setAttribute("datetime", f.at);
    localTime(tm, true);
    head.append(tm);
    const text = el("div", "text");
    text.append(linkified(f.text || ""));
    div.append(head, text);
    if (f.file) div.append(fileEntry(f.file));
    // Keep seq order even if frames arrive after a newer one.
    const next = [...t.box.children].find((c) => Number(c.dataset.seq) > f.seq);
    t.box.insertBefore(div, next || null);
    const empty = document.getElementById("empty");
    if (empty) empty.hidden = true;
    if (f.from === "visitor" && !f.internal) showTyping(""); // they sent what they typed
    placeSeen();
    if (stick) toEnd();
    markRead();
  }

  let typingTimer = 0;
  function showTyping(text) {
    const typingEl = document.getElementById("typing");
    if (!typingEl) return;
    clearTimeout(typingTimer);
    typingEl.textContent = text;
    typingEl.hidden = !text;
    if (text) typingTimer = setTimeout(() => showTyping(""), TYPING_SHOW_FOR);
  }

  // Other agents with this thread open: "Ana is viewing", for a while after
  // each word from their page.
  function showViewers() {
    const e = document.getElementById("viewers");
    if (!e || !thread) return;
    const names = [...thread.viewers.values()].filter((v) => v.until > Date.now()).map((v) => v.name + (v.typing > Date.now() ? " is typing" : " is viewing"));
    e.textContent = names.join(" · ");
    e.hidden = names.length === 0;
  }
  setInterval(showViewers, 5000);

  // "Seen" goes under the newest message the visitor can see (not a note,
  // not their own) with a seq they have read.
  function placeSeen() {
    if (!thread) return;
    const target = [...thread.box.querySelectorAll(".msg[data-seq]")]
      .filter((m) => !m.dataset.internal && m.dataset.from !== "visitor" && Number(m.dataset.seq) <= thread.visitorRead)
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
  function markRead() {
    const t = thread;
    if (!t || !t.live || hidden() || t.lastSeq <= t.readSent) return;
    t.readSent = t.lastSeq;
    if (send({ type: "read", conversation: t.id, seq: t.lastSeq })) return;
    fetch("/inbox/conversations/" + t.id + "/read", {
      method: "POST", credentials: "same-origin",
      headers: { "X-CSRF-Token": csrf, Accept: "application/json", "Content-Type": "application/x-www-form-urlencoded" },
      body: "seq=" + t.lastSeq,
    }).then((r) => { if (!r.ok) t.readSent = 0; }).catch(() => { t.readSent = 0; });
  }
  document.addEventListener("visibilitychange", markRead);

  // ---- the visitor: where they are (side panel) ----

  // A page URL from the live socket: text, and a link only when http(s).
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
    if (!thread || f.conversation !== thread.id || typeof f.page !== "string") return;
    pageEntry(document.getElementById("panel-page"), f.page);
    const start = document.getElementById("panel-start-page");
    const label = document.getElementById("panel-start-page-label");
    if (!start || !label) return;
    const moved = typeof f.start === "string" && f.start !== f.page;
    start.textContent = moved ? f.start : "";
    start.hidden = label.hidden = !moved;
  }
  // Online, typing or gone. "Gone" waits a few seconds: a page change
  // closes the widget's socket and opens another.
  let goneTimer = 0;
  function setVisitor(f) {
    if (!thread || f.conversation !== thread.id) return;
    const e = document.getElementById("panel-presence");
    if (!e) return;
    clearTimeout(goneTimer);
    const show = (state) => {
      e.dataset.state = state;
      e.textContent = state === "online" ? "On the site now" : "Gone";
    };
    if (f.state === "online") show("online");
    else goneTimer = setTimeout(() => show("gone"), 4000);
    if (typeof f.page === "string" && f.page) setPage({ conversation: f.conversation, page: f.page, start: f.start });
  }

  // The visitor types: the panel says so for a few seconds, then "on the site".
  let panelTypingTimer = 0;
  function panelTyping() {
    const e = document.getElementById("panel-presence");
    if (!e) return;
    clearTimeout(goneTimer);
    clearTimeout(panelTypingTimer);
    e.dataset.state = "typing";
    e.textContent = "Typing…";
    panelTypingTimer = setTimeout(() => {
      if (e.dataset.state !== "typing") return;
      e.dataset.state = "online";
      e.textContent = "On the site now";
    }, TYPING_SHOW_FOR);
  }

  // ---- reply form, emoji ----

  function bindReply(t) {
    const form = document.getElementById("reply");
    if (!form || !t.live) return;
    const text = form.elements.text;
    const clientId = form.elements.client_id;
    const button = form.querySelector('[data-action="send"]');
    const error = document.getElementById("reply-error");
    const draftKey = "parley-draft-" + t.id;

    // A draft saved before a forced sign-in, or before switching away, comes back.
    const draft = sessionStorage.getItem(draftKey);
    if (draft && !text.value) text.value = draft;
    sessionStorage.removeItem(draftKey);
    t.saveDraft = () => { if (text.value.trim()) sessionStorage.setItem(draftKey, text.value); };

    const newId = () => (crypto.randomUUID ? crypto.randomUUID() :
      [...crypto.getRandomValues(new Uint8Array(16))].map((b) => b.toString(16).padStart(2, "0")).join(""));
    const showError = (msg) => { error.textContent = msg; error.hidden = !msg; };

    // Tell the visitor the agent is typing, at most once every TYPING_EVERY.
    let typingSent = 0;
    text.addEventListener("input", () => {
      const now = Date.now();
      if (!text.value.trim() || form.elements.internal?.checked || now - typingSent < TYPING_EVERY) return;
      if (!send({ type: "typing", conversation: t.id })) { t.typingPending = true; return; }
      typingSent = now;
    });

    // Saved replies: pick one from the list, or type /shortcut and press Tab.
    const saved = document.getElementById("saved-replies");
    const insert = (body) => {
      const at = text.selectionStart ?? text.value.length;
      text.value = text.value.slice(0, at) + body + text.value.slice(text.selectionEnd ?? at);
      text.focus();
    };
    t.insert = insert;
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

  const EMOJI = ["😀", "😊", "😉", "😂", "🙂", "🙁", "😮", "😍", "🤔", "🙏", "👍", "👎", "👋", "👏", "🎉", "❤️", "✅", "❌", "⭐", "🚀", "📦", "💡", "⏰", "☕"];
  function bindEmoji(t) {
    const btn = document.getElementById("emoji-button");
    const box = document.getElementById("emoji-picker");
    if (!btn || !box || !t.insert) return;
    btn.hidden = false;
    box.replaceChildren(...EMOJI.map((e) => {
      const b = el("button", "emoji", e);
      b.type = "button";
      b.dataset.emoji = e;
      b.setAttribute("aria-label", "Insert " + e);
      return b;
    }));
    btn.addEventListener("click", () => {
      box.hidden = !box.hidden;
      btn.setAttribute("aria-expanded", String(!box.hidden));
    });
    box.addEventListener("click", (e) => {
      const b = e.target.closest("[data-emoji]");
      if (!b) return;
      t.insert(b.dataset.emoji);
      box.hidden = true;
      btn.setAttribute("aria-expanded", "false");
    });
  }

  // ---- switching conversations without a page load ----

  // The list's own parameters (view, inbox, search, label) travel with a
  // thread's URL, so a deep link shows the same list.
  function listSearch() {
    const p = new URLSearchParams(location.search);
    p.delete("before");
    const s = p.toString();
    return s ? "?" + s : "";
  }

  let switching = 0;
  async function open(id, push) {
    if (!pane) { location.href = "/inbox/conversations/" + id; return; }
    const url = "/inbox/conversations/" + id + listSearch();
    const mine = ++switching;
    thread?.saveDraft?.();
    let res;
    try {
      // A redirect (the session ended) is not followed here: the
      // full page is loaded instead, and goes where it must.
      res = await fetch(url, { credentials: "same-origin", redirect: "manual", headers: { "X-Parley-Partial": "thread" } });
    } catch {
      location.href = url;
      return;
    }
    if (mine !== switching) return; // another switch overtook this one
    if (res.status === 401) return toLogin();
    if (!res.ok || !(res.headers.get("Content-Type") || "").startsWith("text/html")) {
      location.href = url; // the full page says what went wrong
      return;
    }
    const html = await res.text();
    if (mine !== switching) return;
    pane.innerHTML = html;
    if (push) history.pushState({ conversation: id }, "", url);
    bindThread();
  }

  function showList() {
    if (!pane) return;
    thread?.saveDraft?.();
    thread = null;
    send({ type: "unsubscribe" });
    pane.replaceChildren(el("p", "none pick", "Pick a conversation from the list."));
    titleBase = (document.getElementById("view-heading")?.textContent.trim() || "Conversations") + " · Parley inbox";
    markCurrent();
    updateTitle();
  }

  // ---- switching views (tabs, search, label) without a page load ----

  // The list element itself stays: the socket's rows and the click
  // handlers use it; the rest of the list's section is the server's partial.
  let shownSearch = listSearch();
  let listing = 0;
  async function switchList(search, push) {
    const fallback = () => { location.href = "/inbox" + search; };
    const sec = list?.closest(".ws-list");
    if (!sec) return fallback();
    const mine = ++listing;
    let res;
    try {
      res = await fetch("/inbox" + search, { credentials: "same-origin", redirect: "manual", headers: { "X-Parley-Partial": "list" } });
    } catch {
      return fallback();
    }
    if (mine !== listing) return;
    if (res.status === 401) return toLogin();
    if (!res.ok || !(res.headers.get("Content-Type") || "").startsWith("text/html")) return fallback();
    const html = await res.text();
    if (mine !== listing) return;
    const t = document.createElement("template");
    t.innerHTML = html;
    const next = t.content.querySelector(".ws-list");
    const ul = next?.querySelector("#conversations");
    if (!ul) return fallback();
    for (const a of ["data-view", "data-inbox", "data-q", "data-label"]) list.setAttribute(a, ul.getAttribute(a) || "");
    list.replaceChildren(...ul.childNodes);
    ul.replaceWith(list);
    sec.replaceWith(next);
    listEmpty = document.getElementById("list-empty");
    localTimes(next);
    shownSearch = search;
    if (push) history.pushState({ conversation: thread ? thread.id : 0 }, "", (thread ? "/inbox/conversations/" + thread.id : "/inbox") + search);
    if (!thread) titleBase = (document.getElementById("view-heading")?.textContent.trim() || "Conversations") + " · Parley inbox";
    markCurrent();
    updateTitle();
    send({ type: "list", view: list.dataset.view || "open", inbox: Number(list.dataset.inbox) || 0, q: list.dataset.q || "", label: Number(list.dataset.label) || 0 });
  }

  if (pane && list) {
    document.addEventListener("click", (e) => {
      const a = e.target.closest(".ws-list nav.views a[href]");
      if (!a || e.button !== 0 || e.ctrlKey || e.metaKey || e.shiftKey || e.altKey) return;
      const u = new URL(a.href, location.href);
      if (u.origin !== location.origin || u.pathname !== "/inbox") return;
      e.preventDefault();
      switchList(u.search, true);
    });
    document.addEventListener("submit", (e) => {
      const f = e.target.closest(".ws-list form.search");
      if (!f) return;
      e.preventDefault();
      const p = new URLSearchParams(new FormData(f));
      for (const k of [...p.keys()]) if (!p.get(k)) p.delete(k);
      const q = p.toString();
      switchList(q ? "?" + q : "", true);
    });
    list.addEventListener("click", (e) => {
      const a = e.target.closest("a[data-conversation]");
      if (!a || e.button !== 0 || e.ctrlKey || e.metaKey || e.shiftKey || e.altKey) return;
      const id = Number(a.parentNode.dataset.id);
      if (!id) return;
      e.preventDefault();
      if (thread && thread.id === id) return;
      open(id, true);
    });
    history.replaceState({ conversation: thread ? thread.id : 0 }, "", location.href);
    window.addEventListener("popstate", () => {
      const m = location.pathname.match(/^\/inbox\/conversations\/(\d+)$/);
      if (m) { if (!thread || thread.id !== Number(m[1])) open(Number(m[1]), false); }
      else if (location.pathname === "/inbox") { if (thread) showList(); }
      else return location.reload();
      if (listSearch() !== shownSearch) switchList(listSearch(), false);
    });
  }

  // ---- live socket ----

  function setStatus(state) {
    if (!statusEl) return;
    statusEl.hidden = false;
    statusEl.dataset.state = state;
    statusEl.textContent = state === "live" ? "Live" : "Reconnecting…";
  }

  function toLogin() {
    thread?.saveDraft?.();
    location.href = "/inbox/login?next=" + encodeURIComponent(location.pathname + location.search);
  }

  let failures = 0;
  function connect() {
    const sock = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/inbox/ws?batch=1");
    sock.onopen = () => {
      failures = 0;
      ws = sock;
      setStatus("live");
      send({ type: "alerts" });
      if (list) send({ type: "list", view: list.dataset.view || "open", inbox: Number(list.dataset.inbox) || 0, q: list.dataset.q || "", label: Number(list.dataset.label) || 0 });
      // Resume from the last message shown: the server sends what was missed.
      if (thread && thread.live) {
        send({ type: "subscribe", conversation: thread.id, last_seq: thread.lastSeq });
        thread.readSent = 0;
        markRead();
        if (thread.typingPending) {
          thread.typingPending = false;
          send({ type: "typing", conversation: thread.id });
        }
      }
    };
    // A message holds one frame, or several as an array (?batch=1).
    sock.onmessage = (ev) => {
      let data;
      try { data = JSON.parse(ev.data); } catch { return; }
      for (const f of Array.isArray(data) ? data : [data]) onFrame(f);
    };
    function onFrame(f) {
      const here = thread && f.conversation === thread.id;
      switch (f.type) {
        case "message": if (here) addMessage(f); break;
        case "typing":
          if (here && f.from === "visitor") { showTyping((f.name || "Visitor") + " is typing…"); panelTyping(); }
          else if (here && f.name) { seeViewer(f.name, true); showTyping(f.name + " is typing…"); }
          if (f.from === "visitor") typingInRow(f.conversation);
          break;
        case "viewing": if (here && f.name) { if (f.state === "left") thread.viewers.delete(f.name); else seeViewer(f.name, false); showViewers(); } break;
        case "read":
          if (here && f.from === "visitor") {
            thread.visitorRead = Math.max(thread.visitorRead, f.seq || 0);
            placeSeen();
          }
          break;
        case "page": if (here) setPage(f); break;
        case "visitor": if (here) setVisitor(f); break;
        case "list": replaceList(f.items || []); break;
        case "rows":
          (f.items || []).forEach((it) => { upsert(it); alertOf(it); });
          (f.removed || []).forEach(removeRow);
          (f.alert_items || []).forEach(alertOf);
          break;
        case "alerts": alertsBaseline(f.items || []); break;
        case "counts": if (f.counts) setCounts(f.counts); break;
      }
    }
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

  function seeViewer(name, typing) {
    if (!thread) return;
    const v = thread.viewers.get(name) || { name };
    v.until = Date.now() + 45000;
    if (typing) v.typing = Date.now() + TYPING_SHOW_FOR;
    thread.viewers.set(name, v);
    showViewers();
  }

  bindThread();
  connect();
})();
