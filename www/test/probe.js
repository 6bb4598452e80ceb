/* Records, from the first moment of the page, what the widget must never
 * cause or leave behind: CSP violations, uncaught errors and rejections,
 * long tasks (and, from Chrome's long animation frames, the scripts of the
 * widget's files that ran 50 ms or more), layout shifts, and the listeners,
 * timers, observers and event streams it adds; and how long the wasm took
 * to compile and instantiate. */
(function (w, d) {
  "use strict";
  var probe = (w.__probe = {
    violations: [],
    longTasks: [],
    layoutShift: 0,
    loadEnd: 0,
    listeners: [],
    timers: new Set(),
    observers: new Set(),
    streams: [],
    base: 0,
    errors: [],
  });
  // Uncaught errors and unhandled rejections (listened to before the
  // listeners below are counted, so they are the page's, not the widget's).
  w.addEventListener("error", function (e) { probe.errors.push("error: " + e.message); });
  w.addEventListener("unhandledrejection", function (e) {
    probe.errors.push("unhandledrejection: " + (e.reason && e.reason.stack || e.reason));
  });
  d.addEventListener("securitypolicyviolation", function (e) {
    probe.violations.push(e.violatedDirective + " " + e.blockedURI);
  });
  new PerformanceObserver(function (list) {
    list.getEntries().forEach(function (e) { probe.longTasks.push(Math.round(e.duration)); probe.longTaskAt = (probe.longTaskAt || []).concat([Math.round(e.startTime)]); });
  }).observe({ type: "longtask" });
  // A script is the widget's when its file is the loader (PROXY/widget.js)
  // or one of its files (PROXY/widget/…).
  probe.widgetLongScripts = [];
  probe.longFrames = [];
  try {
    new PerformanceObserver(function (list) {
      list.getEntries().forEach(function (frame) {
        if (frame.duration > 50) {
          probe.longFrames.push([Math.round(frame.duration), (frame.scripts || []).map(function (s) {
            return [s.invoker, Math.round(s.duration), s.sourceURL.slice(-40)];
          })]);
        }
        (frame.scripts || []).forEach(function (s) {
          if (/\/widget(\.js|\/)/.test(s.sourceURL) && s.duration > 50) {
            probe.widgetLongScripts.push([s.invoker, Math.round(s.duration), s.sourceURL]);
          }
        });
      });
    }).observe({ type: "long-animation-frame", buffered: true });
  } catch (error) {}
  // Compiling and instantiating the wasm (the glue streams it).
  var streaming = WebAssembly.instantiateStreaming;
  WebAssembly.instantiateStreaming = function () {
    var started = performance.now();
    return streaming.apply(WebAssembly, arguments).then(function (result) {
      probe.instantiate = performance.now() - started;
      return result;
    });
  };
  new PerformanceObserver(function (list) {
    list.getEntries().forEach(function (e) { if (!e.hadRecentInput) probe.layoutShift += e.value; });
  }).observe({ type: "layout-shift", buffered: true });
  w.addEventListener("load", function () {
    setTimeout(function () { probe.loadEnd = performance.getEntriesByType("navigation")[0].loadEventEnd; });
  });

  // Listeners on window and document, by target, type and function.
  var add = EventTarget.prototype.addEventListener;
  var remove = EventTarget.prototype.removeEventListener;
  EventTarget.prototype.addEventListener = function (type, listener, options) {
    if (this === w || this === d) probe.listeners.push([this, type, listener]);
    return add.call(this, type, listener, options);
  };
  EventTarget.prototype.removeEventListener = function (type, listener, options) {
    var self = this;
    probe.listeners = probe.listeners.filter(function (l) {
      return !(l[0] === self && l[1] === type && l[2] === listener);
    });
    return remove.call(this, type, listener, options);
  };
  // Pending timeouts and idle callbacks.
  function timer(set, clear) {
    var setter = w[set], clearer = w[clear];
    if (!setter) return;
    w[set] = function (callback, a, b, c) {
      var id = setter.call(w, function () {
        probe.timers.delete(set + id);
        return callback.apply(this, arguments);
      }, a, b, c);
      probe.timers.add(set + id);
      return id;
    };
    w[clear] = function (id) {
      probe.timers.delete(set + id);
      return clearer.call(w, id);
    };
  }
  timer("setTimeout", "clearTimeout");
  timer("requestIdleCallback", "cancelIdleCallback");
  // Mutation observers that observe something.
  var observe = MutationObserver.prototype.observe;
  var disconnect = MutationObserver.prototype.disconnect;
  MutationObserver.prototype.observe = function () {
    probe.observers.add(this);
    return observe.apply(this, arguments);
  };
  MutationObserver.prototype.disconnect = function () {
    probe.observers.delete(this);
    return disconnect.apply(this, arguments);
  };
  // Event streams (the widget's status stream).
  var Source = w.EventSource;
  w.EventSource = function (url, init) {
    var source = new Source(url, init);
    probe.streams.push(source);
    return source;
  };
  w.EventSource.prototype = Source.prototype;
  w.EventSource.CLOSED = Source.CLOSED;

  // What the page itself has added so far; what the widget adds comes after.
  probe.baseline = function () { probe.base = probe.listeners.length; };
  probe.leftovers = function () {
    return {
      listeners: probe.listeners.slice(probe.base).map(function (l) { return l[1]; }),
      timers: Array.from(probe.timers),
      observers: probe.observers.size,
      openStreams: probe.streams.filter(function (s) { return s.readyState !== 2; }).length,
      hosts: d.querySelectorAll("[data-callback-widget]").length,
    };
  };
})(window, document);
