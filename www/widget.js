/* Callback widget loader. Embed:
 *   <script src="https://PROXY/widget/widget.js" data-site="SITE" async></script>
 * It makes one host element with an open Shadow DOM, loads the widget's wasm
 * at idle time and mounts it there. No inline styles, no eval: a strict CSP
 * needs only the proxy's origin and 'wasm-unsafe-eval'.
 * xtask replaces __WIDGET_GLUE__ and __WIDGET_WASM__ with the hashed names. */
(function () {
  "use strict";
  var w = window, d = document;
  // Added twice, it still makes one widget.
  if (w.__callbackWidgetLoaded) return;
  w.__callbackWidgetLoaded = true;
  var script = d.currentScript;
  if (!script) return;
  var src = new URL(script.src, d.baseURI);
  var base = new URL(".", src).href;
  var settings = w.CallbackWidgetSettings || {};
  var site = script.getAttribute("data-site") || settings.site;
  var api = script.getAttribute("data-api") || settings.api || src.origin;
  var locale = script.getAttribute("data-locale") || settings.locale;

  function start() {
    var host = d.createElement("div");
    host.setAttribute("data-callback-widget", "");
    var root = host.attachShadow({ mode: "open" });
    d.body.appendChild(host);
    import(base + "__WIDGET_GLUE__")
      .then(function (glue) {
        return glue.default({ module_or_path: base + "__WIDGET_WASM__" }).then(function () {
          w.__callbackWidget = glue.mount(root, { site: site, api: api, locale: locale });
        });
      })
      .catch(function (e) {
        // Never break the host page: report and stay quiet.
        if (w.console) console.warn("callback widget failed to load", e);
      });
  }

  function whenIdle() {
    if (w.requestIdleCallback) w.requestIdleCallback(start, { timeout: 2000 });
    else setTimeout(start, 1);
  }

  if (d.readyState === "complete") whenIdle();
  else w.addEventListener("load", whenIdle, { once: true });
})();
