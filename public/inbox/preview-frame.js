/* The console preview's app screen: the chat opens inside the element the
   script tag names (data-embed), full-screen, as the mobile SDK shows it.
   Runs before the loader, which reads window.ParleySettings once. */
(function () {
  "use strict";
  var s = document.currentScript;
  window.ParleySettings = { inlineEmbedSelector: (s && s.getAttribute("data-embed")) || "#app-chat" };
})();
