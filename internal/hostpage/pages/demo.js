// Test switches: ?manual waits for Parley.load(), ?inline embeds the chat,
// ?hostile adds CSS that tries to restyle every element. A file, not an
// inline script, so the page also runs under a strict Content-Security-Policy.
var q = location.search;
window.__events = [];
// Settings a test put in place before the page ran are kept.
window.ParleySettings = window.ParleySettings || {};
if (/manual/.test(q)) window.ParleySettings.loadImmediately = false;
if (/inline/.test(q)) window.ParleySettings.inlineEmbedSelector = "#embed";
if (/hostile/.test(q)) document.write('<style>#parley-widget, div, button, section { display: none !important; opacity: 0 !important; font-size: 40px !important; color: red !important; transform: scale(0) !important }</style>');
// The ready queue: callbacks pushed before the loader exists run once it does.
window.parleyOnReady = window.parleyOnReady || [];
window.parleyOnReady.push(function () {
  ["conversationStarted", "conversationClosed", "unreadConversationCountChanged", "widgetLoaded",
   "widgetClosed", "contactAssociated", "userInteractedWithWidget"].forEach(function (name) {
    Parley.on(name, function (data) { window.__events.push({ name: name, data: data }); });
  });
});
document.addEventListener("click", function (e) {
  var b = e.target;
  if (b && (b.id === "under" || b.id === "page-button")) b.textContent = "Clicked";
});
// Every Content-Security-Policy violation on the page, for the tests that
// serve it under a strict policy.
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__cspViolations.push(e.violatedDirective + " " + e.blockedURI);
});
