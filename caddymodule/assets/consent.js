/* firstparty consent runtime: activates the markup the rewriter deferred,
   for the categories the visitor granted. First party, no dependencies. */
(function () {
  "use strict";
  var me = document.currentScript, token = me && me.getAttribute("data-fp-token");
  var NAME = "fp_consent", listeners = [];
  function read() {
    var m = document.cookie.match(/(?:^|;\s*)fp_consent=v1:([a-z_,]*)(?:;|$)/), g = {};
    if (m) m[1].split(",").forEach(function (c) { if (c) g[c] = true; });
    return g;
  }
  function write(g) {
    var cats = Object.keys(g).filter(function (k) { return g[k]; }).sort();
    var c = NAME + "=v1:" + cats.join(",") + "; Path=/; Max-Age=" + (395 * 86400) + "; SameSite=Lax";
    if (location.protocol === "https:") c += "; Secure";
    document.cookie = c;
  }
  function restore(el) {
    var names = el.getAttributeNames ? el.getAttributeNames() : [];
    if (el.tagName === "SCRIPT") {
      var s = document.createElement("script");
      names.forEach(function (n) {
        if (n === "type" || /^data-fp-(category|vendor|token|placeholder)$/.test(n)) return;
        var v = el.getAttribute(n);
        if (n.indexOf("data-fp-") === 0) n = n.slice(8);
        s.setAttribute(n, v);
      });
      if (!s.src) s.text = el.text;
      el.parentNode.replaceChild(s, el);
      return;
    }
    if (el.tagName === "STYLE") {
      var tw = el.previousElementSibling;
      if (tw && tw.tagName === "STYLE" && tw.hasAttribute("data-fp-neutral")) tw.parentNode.removeChild(tw);
      el.removeAttribute("type");
      if (el.hasAttribute("data-fp-type")) { el.setAttribute("type", el.getAttribute("data-fp-type")); el.removeAttribute("data-fp-type"); }
    }
    names.forEach(function (n) {
      var m = /^data-fp-(src|srcset|srcdoc|href|xlink:href|poster|data|ping|background|imagesrcset|style)$/.exec(n);
      if (!m) return;
      if (m[1] === "xlink:href") el.setAttributeNS("http://www.w3.org/1999/xlink", "xlink:href", el.getAttribute(n));
      else el.setAttribute(m[1], el.getAttribute(n));
      el.removeAttribute(n);
    });
    el.removeAttribute("data-fp-token");
  }
  function activate(g) {
    if (!token) return;
    var els = document.querySelectorAll('[data-fp-token="' + token + '"][data-fp-category]');
    for (var i = 0; i < els.length; i++) {
      var el = els[i], cat = el.getAttribute("data-fp-category");
      if (!g[cat] || el.classList.contains("fp-placeholder")) continue;
      if (el.hasAttribute("data-fp-placeholder")) {
        var ph = el.previousElementSibling;
        if (ph && ph.classList.contains("fp-placeholder")) ph.parentNode.removeChild(ph);
      }
      restore(el);
    }
  }
  document.addEventListener("click", function (e) {
    var b = e.target.closest && e.target.closest("[data-fp-load]");
    if (!b) return;
    var ph = b.closest(".fp-placeholder"), el = ph && ph.nextElementSibling;
    if (el && el.getAttribute("data-fp-token") === token) { restore(el); ph.parentNode.removeChild(ph); }
  });
  var api = {
    get: function () { return read(); },
    set: function (choices) {
      var g = read();
      for (var k in choices) g[k] = !!choices[k];
      write(g);
      activate(g);
      listeners.forEach(function (f) { try { f(read()); } catch (e) {} });
    },
    onChange: function (f) { listeners.push(f); },
    open: function () {}
  };
  window.firstparty = window.firstparty || {};
  window.firstparty.consent = api;
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", function () { activate(read()); });
  else activate(read());
})();
