/* Callback widget loader: the one script a site embeds.
 *
 *   <script src="https://PROXY/widget.js" data-site="SITE" async></script>
 *
 * - Settings: data-site, data-api, data-locale, data-position (left|right),
 *   data-color (#rrggbb), data-privacy (strict), data-ym (a Metrica counter),
 *   data-invite-* (the invitations: data-invite-scroll_percent="50", ...),
 *   or the same keys in window.CallbackWidgetSettings set before the script
 *   (which may also carry eventNames: {submitted: "my_goal", ...}, or
 *   eventNames: "callkeeper" for the name CallKeeper's own widget pushes
 *   when a call is ordered, so goals set up for it keep counting).
 *   data-* attributes win.
 * - window.CallbackWidget is the page's API, usable before anything has
 *   loaded: open(), close(), destroy(), setLocale(tag), set({...}),
 *   invite({force}), on(event, handler). A page that runs before this script can queue the
 *   same commands as arrays: (window.CallbackWidget = window.CallbackWidget
 *   || []).push(["set", {calltouch_session: "..."}]).
 * - Any element with data-callback-open opens the widget on click.
 * - The wasm loads at idle time after the page's load event, or at once on
 *   the first sign of intent (open() or a data-callback-open click), with
 *   streaming instantiation, and the site's config (GET /v1/sites/SITE/config)
 *   with it. Nothing is drawn until it has loaded: the
 *   launcher appears complete, in one frame.
 * - No inline styles, no eval: a strict CSP needs only the proxy's origin
 *   and 'wasm-unsafe-eval'.
 *
 * Keep it small (the budget is 2 KB brotli) and never let an error escape to
 * the page. xtask minifies it and replaces the two file names below with the
 * hashed ones. */
(function (w, d) {
  "use strict";
  var prior = w.CallbackWidget;
  var script = d.currentScript;
  // Added twice, it still makes one widget.
  if ((prior && prior.v) || !script) return;

  var src = new URL(script.src, d.baseURI);
  // The widget's files are in the proxy's /widget/ folder, whether this
  // loader was fetched as PROXY/widget.js or PROXY/widget/widget.js.
  var base = new URL(/\/widget\/[^/]*$/.test(src.pathname) ? "." : "widget/", src).href;
  var settings = w.CallbackWidgetSettings || {};
  // The landing is read now, before a single-page app rewrites the URL.
  var options = { api: src.origin, landing: { href: location.href, referrer: d.referrer } };
  var key;
  for (key in settings) options[key] = settings[key];
  ["site", "api", "locale", "position", "color", "privacy", "ym"].forEach(function (name) {
    var value = script.getAttribute("data-" + name);
    if (value) options[name] = value;
  });
  // The invitations' settings (README, "Invitations"): the settings
  // object's invite: {...}, then data-invite-* (data-invite-scroll_percent),
  // every value as text, as the site's config writes them.
  var invite = (options.invite = {}), given = settings.invite || {}, data = script.dataset;
  for (key in given) invite[key] = String(given[key]);
  for (key in data) if (/^invite./.test(key)) invite[key.slice(6).toLowerCase()] = data[key];
  // Only a visitor's own click on a data-callback-open element passes this
  // token with open(): under privacy = "strict" that lets the widget use
  // storage, which the page's open() (an auto-open, say) does not.
  var visitor = (options.visitor = {});
  // The first page of the tab keeps its landing for the later ones, even if
  // the visitor leaves before the widget has loaded (the widget reads it;
  // see widget/src/capture.rs). Never under privacy = "strict".
  try {
    var stored = "callback-widget.landing";
    if (options.privacy != "strict" && !sessionStorage.getItem(stored)) {
      sessionStorage.setItem(stored, location.href + "\n" + d.referrer);
    }
  } catch (error) {}

  // The widget reports what happens; the page hears it as a CustomEvent on
  // window, in dataLayer (Google Tag Manager) and as a Yandex.Metrica goal,
  // named callback_<event> unless the site renamed it (eventNames).
  var names = options.eventNames || {};
  // CallKeeper's widget: an ordered call is "callkeeper-call_order-ckaction"
  // (category callkeeper, action call_order, label ckaction). It is the only
  // name of theirs we know; the other events keep ours.
  var ck = "callkeeper-call_order-ckaction";
  if (names == "callkeeper") names = { submitted: ck };
  // The page hears it once the widget is done (a microtask later): a handler
  // may call CallbackWidget.close(), set() or destroy() while the widget is
  // still inside the command that emitted the event.
  options.emit = function (event, detail) {
    queueMicrotask(function () { tell(event, detail); });
  };
  function tell(event, detail) {
    var goal = names[event] || "callback_" + event;
    var entry = { event: goal, callbackWidget: detail };
    if (goal == ck) {
      entry.eventCategory = "callkeeper";
      entry.eventAction = "call_order";
      entry.eventLabel = "ckaction";
    }
    w.dispatchEvent(new CustomEvent("callbackwidget:" + event, { detail: detail }));
    try {
      if (w.dataLayer) w.dataLayer.push(entry);
      if (options.ym && w.ym) w.ym(+options.ym, "reachGoal", goal, detail);
    } catch (error) {}
  }

  // 0: waiting, 1: loading, 2: mounted, 3: destroyed.
  var state = 0, queue = [], undo = [], handle, host, observer, idle;

  function listen(target, type, listener) {
    target.addEventListener(type, listener);
    undo.push(function () { target.removeEventListener(type, listener); });
  }

  function command(name, a, b) {
    if (state > 2) return;
    if (name == "destroy") return destroy();
    if (name == "on") {
      // Handlers get the event's details; they are the CustomEvents on window.
      if (typeof b == "function") listen(w, "callbackwidget:" + a, function (event) { b(event.detail); });
      return;
    }
    if (handle) return handle.command(name, a);
    queue.push([name, a]);
    if (name == "open" || name == "invite") load();
  }

  // A host that replaces <body> or its children (Turbo and the like) does not
  // lose the widget: it is put back, into whichever body there is now.
  function attach() {
    var body = d.body;
    if (!body) return;
    if (host.parentNode != body) body.appendChild(host);
    observer.observe(body, { childList: true });
  }

  function load() {
    if (state) return;
    state = 1;
    host = d.createElement("callback-widget");
    host.setAttribute("data-callback-widget", "");
    var root = host.attachShadow({ mode: "open" });
    var wasm = fetch(base + "__WIDGET_WASM__");
    // The site's config (colour, language, texts, offices…) comes with the
    // wasm, not after it; without it the widget keeps its defaults.
    // A proxy that does not answer within 8 s does not hold the launcher back.
    options.config = fetch(
      String(options.api).replace(/\/$/, "") + "/v1/sites/" + encodeURIComponent(options.site) + "/config",
      w.AbortSignal && AbortSignal.timeout ? { signal: AbortSignal.timeout(8000) } : {}
    )
      .then(function (response) { return response.ok ? response.json() : null; })
      .catch(function () {});
    import(base + "__WIDGET_GLUE__")
      .then(function (glue) {
        return glue.default({ module_or_path: wasm }).then(function () {
          // Mount in a task of its own, not in the one that finished
          // instantiating: two shorter tasks instead of one long one.
          return new Promise(function (done) { setTimeout(done, 0); });
        }).then(function () {
          if (state > 1) return;
          options.queue = queue;
          handle = glue.mount(root, options);
          state = 2;
          observer = new MutationObserver(attach);
          observer.observe(d.documentElement, { childList: true });
          attach();
        });
      })
      .catch(function (error) {
        // Never break the host page: report and stay quiet.
        if (w.console) console.warn("callback widget:", error);
      });
  }

  function destroy() {
    state = 3;
    api.v = 0;
    if (idle) (w.cancelIdleCallback || clearTimeout)(idle);
    if (observer) observer.disconnect();
    if (handle) handle.destroy(), handle.free();
    if (host) host.remove();
    undo.forEach(function (f) { f(); });
  }

  // A queued item that is not an array is a page's mistake: ignored.
  var api = { v: 1, push: function (args) { if (Array.isArray(args)) command.apply(null, args); } };
  ["open", "close", "destroy", "setLocale", "set", "on", "invite"].forEach(function (name) {
    api[name] = function (a, b) { command(name, a, b); };
  });
  w.CallbackWidget = api;
  if (Array.isArray(prior)) prior.forEach(api.push);

  listen(d, "click", function (event) {
    var target = event.target;
    if (target.closest && target.closest("[data-callback-open]")) {
      event.preventDefault();
      command("open", event.isTrusted && visitor);
    }
  });

  function whenIdle() {
    idle = w.requestIdleCallback ? requestIdleCallback(load, { timeout: 1000 }) : setTimeout(load, 1);
  }
  if (d.readyState == "complete") whenIdle();
  else listen(w, "load", whenIdle);
})(window, document);
