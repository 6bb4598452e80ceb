/* A site whose analytics goals were set up for CallKeeper's own widget. */
window.CallbackWidgetSettings = { eventNames: "callkeeper" };
window.dataLayer = [];
