// Parley setup page: fill the time zone in from the browser. The form works
// without this file (the field then says UTC until changed).
(() => {
  "use strict";
  const tz = document.getElementById("setup-timezone");
  if (!tz || tz.dataset.prefill !== "browser") return;
  try {
    const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    if (zone) tz.value = zone;
  } catch (e) { /* keep the server's guess */ }
})();
