/* What a site does before the widget's script has loaded: settings, a
 * dataLayer, a Metrica stub, and commands queued for the widget (with a
 * page's mistakes among them). */
window.CallbackWidgetSettings = { ym: 4242, eventNames: { submitted: "lead_callback" } };
window.dataLayer = [];
window.ymCalls = [];
window.ym = function () { window.ymCalls.push(Array.prototype.slice.call(arguments)); };
window.pageEvents = [];
window.handlerDetails = [];
["opened", "submitted", "status", "closed", "failed"].forEach(function (name) {
  window.addEventListener("callbackwidget:" + name, function (event) {
    window.pageEvents.push(name);
  });
});
(window.CallbackWidget = window.CallbackWidget || []).push(
  ["set", { calltouch_session: "ct-e2e", order: "A-1" }],
  ["on", "submitted", function (detail) { window.handlerDetails.push(detail); }],
  // A handler that calls the widget back while it reports, and a page's
  // mistakes (not an array, not a function): none may throw.
  ["on", "opened", function () { window.CallbackWidget.set({ opened: "yes" }); }],
  "open",
  ["on", "closed", "not a function"]
);
window.__probe.baseline();
