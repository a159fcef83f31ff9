/* firstparty consent runtime: activates the markup the rewriter deferred,
   for what the visitor granted, and shows the optional banner. First party,
   no dependencies. The module minifies it and calls it with the config
   (runtime.go); caddymodule/consent.go applies the same rules server side. */
(function (C) {
  var d = document, w = window, me = d.currentScript;
  var token = me && me.getAttribute("data-fp-token"), nonce = me && (me.nonce || me.getAttribute("nonce"));
  // A copy without a token (a site's own <script src>, or one a library
  // runs from inserted HTML) after the page's own runtime adds nothing.
  if (!token && w.firstparty) return;
  var NAME = C.cookie, MAXAGE = 395 * 86400, listeners = [], lastCookie, state, granted = {};
  var gpc = navigator.globalPrivacyControl === true;

  /* ---- reading: the same rule as consent.go ---- */
  var merge = (a, b) => {
    var ea = a.s >= 2, eb = b.s >= 2;
    if (ea != eb) return ea ? a : b;
    if (!ea) return a.s >= b.s ? a : b;
    if (a.t != b.t) return a.t > b.t ? a : b;
    return b.s == 3 ? b : a;
  };
  var add = (m, k, s) => { m[k] = merge(m[k] || { s: 0, t: 0 }, s); };
  // (no prototype: a cookie named constructor or __proto__ is a cookie)
  var jar = () => {
    var m = { __proto__: null };
    d.cookie.split(/; */).forEach((p) => {
      var i = p.indexOf("=");
      if (i > 0) (m[p.slice(0, i)] ||= []).push(p.slice(i + 1));
    });
    return m;
  };
  var one = (j, n) => { var v = j[n]; return v?.length == 1 && v[0] && v[0].length <= 4096 ? v[0] : null; };
  var dec = (v) => { try { return decodeURIComponent(v.replace(/\+/g, " ")); } catch (e) { return null; } };
  var vkey = (v) => (v + "").toLowerCase().replace(/[^a-z0-9]+/g, "_").replace(/^_|_$/g, "");
  var OWN = /^1\.(\d{1,11})\.(\d{1,11})((?:\.(?:\*|@?[a-z0-9_]{1,64})-[gda])*)$/;
  var ownCookie = (j) => {
    var v = one(j, NAME), m = v && OWN.exec(v), now = Date.now() / 1000;
    if (!m || +m[2] < +m[1] || +m[1] > now + 86400 || now - m[1] > MAXAGE) return null;
    // an item twice makes it no cookie of ours, as in consent.go
    var items = { __proto__: null }, its = m[3].split(".").slice(1);
    its.forEach((it) => { items[it.slice(0, -2)] = it.slice(-1); });
    return Object.keys(items).length < its.length ? null : { c: +m[1], u: +m[2], i: items };
  };
  // apply records one source: within it a category is granted only when
  // every key that maps to it is.
  var apply = (st, cmp, keys, t, implicit) => {
    var got = {}, map = C.maps[cmp] || {}, n = 0;
    for (var k in keys) {
      var mk = cmp == "klaro" ? vkey(k).replace(/_/g, "") : k;
      (Object.hasOwn(map, mk) ? map[mk] : []).forEach((c) => {
        var s = { s: keys[k] ? (implicit ? 1 : 2) : 3, t: t };
        if (!got[c] || s.s == 3) got[c] = s;
      });
    }
    for (var c in got) { add(st.c, c, got[c]); n++; }
    return n > 0;
  };
  // isObj: a JSON object, not null nor an array; obj: a cookie of
  // URL-encoded JSON as its object, else {}
  var isObj = (o) => o && typeof o == "object" && !Array.isArray(o);
  var obj = (v) => { try { v = JSON.parse(dec(v)); } catch (e) {} return isObj(v) ? v : {}; };
  // b64: a cookie of base64 of JSON (base64JSON in consent.go)
  var b64 = (v) => { try { return /^[A-Za-z\d+/]*={0,2}$/.test(v) && JSON.parse(atob(v)); } catch (e) {} };
  var jsonMap = (v) => {
    var o, s = dec(v);
    try { o = JSON.parse(s); } catch (e) { return null; }
    if (!isObj(o)) return null;
    // a duplicated key is refused, as in consent.go
    if ((s.match(/"(?:[^"\\]|\\.)*"\s*:/g) || []).length != Object.keys(o).length) return null;
    for (var k in o) if (typeof o[k] != "boolean") return null;
    return o;
  };
  // fields reads "key:value,…" (Cookiebot's, CookieYes's), as cmpFields.
  var fields = (s) => {
    var f = {};
    for (var kv of s.split(",")) {
      var c = kv.indexOf(":"), k = kv.slice(0, c).trim();
      if (c < 0 || !k || Object.hasOwn(f, k)) return null;
      f[k] = kv.slice(c + 1).trim().replace(/^'+|'+$/g, "");
    }
    return f;
  };
  var cookiebot = (v) => {
    var s, f, keys = {};
    try { s = decodeURIComponent(v); } catch (e) { return null; }
    if (!/^\{[^]*\}$/.test(s) || !(f = fields(s.slice(1, -1)))) return null;
    for (var k of ["preferences", "statistics", "marketing"]) {
      if (!/^(true|false)$/.test(f[k])) return null;
      keys[k] = f[k] == "true";
    }
    // utc: milliseconds, up to 13 digits; anything else leaves it undated
    return [keys, Math.floor((/^\d{1,13}$/.test(f.utc) && f.utc) / 1000), f.method == "implied"];
  };
  // iso: an ISO 8601 time in milliseconds (isoMilli in consent.go);
  // when: a choice's time in seconds, from such a string (isoSeconds)
  var iso = (c) => /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/.test(c) && Date.parse(c);
  var when = (t) => ((t = typeof t == "string" && iso(t)) > 0 ? Math.floor(t / 1000) : 0);
  var onetrust = (v, closed) => {
    // only "groups=", once, is read; a group's id ends at its last colon
    var t = iso(dec(closed)), keys = {}, ok = true, g = v.split("&").filter((p) => p.startsWith("groups="));
    if (!(t > 0) || g.length != 1 || !(g = dec(g[0].slice(7)))) return null;
    g.split(",").forEach((x) => {
      var m = /^([^]*):([01])$/.exec(x);
      if (!m) ok = false; else keys[m[1]] = m[2] == "1";
    });
    return ok ? [keys, Math.floor(t / 1000)] : null;
  };
  var tcf = (v, st) => {
    var b = "", s = v.split(".")[0], o = 0, bad = false, bin, i;
    if (/[^\w-]/.test(s)) return false; // base64url, unpadded, as consent.go
    try { bin = atob(s.replace(/-/g, "+").replace(/_/g, "/")); } catch (e) { return false; }
    for (var ch of bin) b += (256 + ch.charCodeAt()).toString(2).slice(1);
    var r = (n) => { if (o + n > b.length) { bad = true; return 0; } o += n; return parseInt(b.slice(o - n, o), 2); };
    if (r(6) != 2) return false;
    r(36);
    var t = Math.floor(r(36) / 10);
    r(74);
    var p = b.slice(o, o + 24), vend = {}, ids = C.tcf.vendors;
    r(61);
    var max = r(16);
    if (r(1) == 0) {
      for (i = 1; i <= max && !bad; i++) if (r(1) && ids[i]) vend[i] = 1;
    } else {
      for (var n = r(12), e; n-- > 0 && !bad;) {
        var rg = r(1), a = r(16); e = rg ? r(16) : a;
        if (e < a || e > max) return false;
        for (i in ids) if (i >= a && i <= e) vend[i] = 1;
      }
    }
    if (bad) return false;
    for (var c in C.tcf.cats) add(st.c, c, { s: C.tcf.cats[c].every((q) => { return p[q - 1] == "1"; }) ? 2 : 3, t: t });
    for (i in ids) if (!vend[i]) ids[i].forEach((k) => { add(st.v, k, { s: 3, t: t }); });
    return true;
  };
  var evaluate = () => {
    var j = jar(), st = { c: {}, v: {} }, o = ownCookie(j), v, x, y;
    if (o) for (var k in o.i) add(k[0] == "@" ? st.v : st.c, k.replace(/^@/, ""), { s: { g: 2, d: 3, a: 1 }[o.i[k]], t: o.u });
    if ((v = one(j, "CookieConsent")) && (x = cookiebot(v))) apply(st, "cookiebot", x[0], x[1], x[2]);
    if ((v = one(j, "OptanonConsent")) && (x = onetrust(v, one(j, "OptanonAlertBoxClosed") || ""))) apply(st, "onetrust", x[0], x[1]);
    if ((v = one(j, "klaro")) && (x = jsonMap(v))) apply(st, "klaro", x, 0);
    if ((v = one(j, "cf_consent")) && (x = jsonMap(v))) apply(st, "zaraz", x, 0);
    if ((v = one(j, "euconsent-v2"))) tcf(v, st);
    // Complianz: cmplz_<key>=allow|deny, once its banner was dismissed
    if (one(j, "cmplz_banner-status") == "dismissed") {
      x = {};
      for (k in C.maps.complianz) if (/^(allow|deny)$/.test(v = one(j, "cmplz_" + k))) x[k] = v == "allow";
      apply(st, "complianz", x, 0);
    }
    // Borlabs Cookie: the groups consented to; one missing was refused
    if (isObj(x = obj(one(j, "borlabs-cookie")).consents) && Object.values(x).every(Array.isArray)) {
      v = {};
      for (k in C.maps.borlabs) v[k] = Object.hasOwn(x, k);
      apply(st, "borlabs", v, 0);
    }
    // CookieYes: key:yes|no, once the visitor acted on its banner
    if ((x = fields(one(j, "cookieyes-consent") || "")) && x.action == "yes") {
      v = {};
      for (k in C.maps.cookieyes) if (/^(yes|no)$/.test(x[k])) v[k] = x[k] == "yes";
      apply(st, "cookieyes", v, 0);
    }
    // CookieFirst: its categories true|false, in URL-encoded JSON
    x = obj(one(j, "cookiefirst-consent"));
    v = {};
    for (k in C.maps.cookiefirst) if (typeof x[k] == "boolean") v[k] = x[k];
    apply(st, "cookiefirst", v, 0);
    // CookieHub: base64 of JSON, once answered; a category listed true or
    // false is that, one not listed is allAllowed
    x = b64(one(j, "cookiehub") || "");
    if (isObj(x) && x.answered === true && Array.isArray(x.categories)) {
      v = {};
      for (k in C.maps.cookiehub) {
        v[k] = x.allAllowed === true;
        for (y of x.categories) if (isObj(y) && y.id === k && typeof y.value == "boolean") v[k] = y.value;
      }
      apply(st, "cookiehub", v, when(x.timestamp));
    }
    // CookieScript: JSON, URL-encoded or raw, once the visitor acted:
    // accept grants the categories listed (a JSON string of a list),
    // reject none
    x = obj(one(j, "CookieScriptConsent"));
    try { y = x.action === "reject" ? [] : x.action === "accept" && JSON.parse(typeof x.categories == "string" && x.categories); } catch (e) { y = 0; }
    if (Array.isArray(y)) {
      v = {};
      for (k in C.maps.cookiescript) v[k] = y.includes(k);
      apply(st, "cookiescript", v, 0);
    }
    // Didomi: base64 of JSON; its purposes (the site's ids: consent_map
    // didomi) enabled and disabled, lists (or absent, or null): disabled
    // wins
    x = b64(one(j, "didomi_token") || "");
    if (isObj(y = x && x.purposes) && (y = [y.enabled ?? [], y.disabled ?? []]).every(Array.isArray)) {
      v = {};
      for (k in C.maps.didomi) if (y[0].includes(k) || y[1].includes(k)) v[k] = !y[1].includes(k);
      apply(st, "didomi", v, when(x.updated));
    }
    // tarteaucitron: !<service>=true|false|wait…, once a service was
    // answered (wait refuses); other entries are skipped, and a service
    // twice says nothing
    v = { __proto__: null };
    y = 0;
    for (x of (one(j, "tarteaucitron") || "").split("!")) if ((x = /^([^=]+)=(true|false|wait)$/.exec(x))) { y |= x[1] in v ? 2 : x[2] != "wait"; v[x[1]] = x[2] == "true"; }
    if (y == 1) apply(st, "tarteaucitron", v, 0);
    // iubenda: _iub_cs-<site id> (one such name), URL-encoded JSON of its
    // purposes true|false, or of consent for all
    x = Object.keys(j).filter((n) => /^_iub_cs-\d+$/.test(n));
    x = obj(x.length == 1 && one(j, x[0]));
    v = {};
    for (k in C.maps.iubenda) if (typeof (y = isObj(x.purposes) ? x.purposes[k] : x.consent) == "boolean") v[k] = y;
    apply(st, "iubenda", v, when(x.timestamp));
    st.own = o;
    return st;
  };
  var isGranted = (st, cat) => {
    var s = st.c[cat] || st.c["*"] || { s: 0 };
    if (s.s < 2 && gpc && C.gpc.includes(cat)) return false;
    return s.s % 3 > 0; // 1 or 2
  };
  // cat may list several categories ("analytics social": one script or
  // element holding vendors of each): every one must be granted.
  var cats = (c) => (c + "").split(" ");
  // An element held for several vendors names them together ("Google
  // Ads; Google Analytics"): one vendor refused (TCF's vendor consents)
  // holds it, and vendor grants run it once each of them is granted.
  var allowed = (st, cat, vendor) => {
    var s = (vendor || "").split("; ").map((x) => st.v[vkey(x)]?.s);
    return s.every((x) => x == 2) || (cats(cat).every((c) => isGranted(st, c)) && !s.includes(3));
  };

  /* ---- writing ---- */
  var save = (items) => {
    var now = Math.floor(Date.now() / 1000), o = state.own, created = o ? o.c : now, v = "1." + created + "." + Math.max(now, o ? o.u : 0);
    Object.keys(items).sort().forEach((k) => { if (items[k]) v += "." + k + "-" + items[k]; });
    d.cookie = NAME + "=" + v + "; Path=/; Max-Age=" + Math.max(0, created + MAXAGE - now) + "; SameSite=Lax" + (location.protocol == "https:" ? "; Secure" : "");
    refresh(true);
  };
  var items = () => ({ ...state.own?.i });
  // expire removes the first-party cookies of the vendors of a category
  // that is no longer granted, on this host and each parent domain.
  var expire = (cat) => {
    var pats = (C.expire[cat] || []).map((p) => { return new RegExp("^" + p.replace(/\*/g, ".*") + "$"); });
    Object.keys(jar()).forEach((n) => {
      if (!pats.some((p) => { return p.test(n); })) return;
      // on the host alone (i = 0), then on it and on each parent domain
      for (var h = location.hostname.split("."), i = 0; i < h.length; i++) d.cookie = n + "=; Path=/; Max-Age=0" + (i ? "; Domain=." + h.slice(i - 1).join(".") : "");
    });
  };

  /* ---- activation ---- */
  // HELD names what the rewriter held, data-fp-NAME, to be given back as
  // NAME (src, srcset, style, onclick, data-bg…): any but its own marks.
  // (The rewriter drops a page's own data-fp- attributes from an element
  // it marks, so every other one on such an element is its own.)
  var HELD = /^data-fp-(?!category$|vendor$|placeholder$)(.+)$/;
  var restore = (el) => {
    el.removeAttribute("data-fp-token");
    if (el.localName == "style") {
      var tw = el.previousElementSibling;
      if (tw?.hasAttribute("data-fp-neutral")) tw.remove();
      el.removeAttribute("type"); // data-fp-type, if any, is given back below
    }
    el.getAttributeNames().forEach((n) => {
      var m = HELD.exec(n);
      if (!m) return;
      if (m[1] == "xlink:href") el.setAttributeNS("http://www.w3.org/1999/xlink", "xlink:href", el.getAttribute(n));
      else el.setAttribute(m[1], el.getAttribute(n));
      el.removeAttribute(n);
    });
    // A video or audio element chose among its sources when it was
    // parsed: a source given back its URL is not tried until it loads again.
    if (el.localName == "source") el.parentNode?.load?.();
    // An SVG animation given back its values starts again.
    el.beginElement?.();
  };
  // script re-creates a deferred script so that it runs.
  var script = (el) => {
    var s = d.createElement("script");
    // every attribute but the type (text/plain), given back as restore
    // gives back an element's: data-fp-src becomes src, data-fp-type type
    el.getAttributeNames().forEach((n) => { n != "type" && s.setAttribute(n, el.getAttribute(n)); });
    restore(s);
    s.nonce = el.nonce || nonce || "";
    if (!s.src) s.text = el.textContent; // an SVG script has no text
    return s;
  };
  // running is the script the queue waits for; last, the last script
  // inserted or written.
  var queue = [], running, last, wrote, defaulted;
  // blocks says whether a script with a URL runs in order and tells when
  // it has: a classic one (no async, not a module, no nomodule, a
  // JavaScript type), which held the parser and now holds the queue. One
  // out of the document never loads: a write whose place was gone (a
  // script that took itself out, written to from a callback) leaves its
  // scripts unplaced.
  var blocks = (s) => s.isConnected && s.src && !s.hasAttribute("async") && !s.noModule && /^$|javascript$/i.test(s.type);
  // wait holds the queue until x has loaded or failed (listeners, not
  // onload/onerror: those are the script's own handlers, which it may
  // carry as data-fp-onload); then a script that x wrote holds it in turn.
  var wait = (x) => {
    running = x;
    x.addEventListener("load", next);
    x.addEventListener("error", next);
  };
  var next = () => { blocks(last) && last != running ? wait(last) : (running = 0, run()); };
  // write stands in for document.write and writeln while the queue runs:
  // on a parsed page the browser's would replace it whole (an inline
  // script's) or do nothing (an external one's). It puts the markup just
  // before the script that writes, in the order written.
  var write = (...a) => {
    var f = d.createRange().createContextualFragment(a.join(""));
    f.querySelectorAll("script").forEach((x) => { last = x; });
    (d.currentScript || last).before(f);
  };
  // run inserts deferred scripts in document order. While they run, and
  // until the last that holds the queue has, what would have worked where
  // the parser ran them works here too:
  // - a document.write, inline or from a script's URL, puts its markup
  //   where the script stands (write), and the queue waits for the last
  //   script written, as the parser did;
  // - a listener for the page's load or DOMContentLoaded added on the
  //   window or the document once that event has passed, which would never
  //   be called, is called once, just after, from an EventTarget of its own
  //   (which keeps its options and calls handleEvent objects);
  // - window.onload set by an inline script becomes such a listener, and
  //   the page's own onload is put back and not called again: a tag that
  //   chains it finds none.
  // wrote holds the browser's own (or what stood in their place) while
  // the queue runs; each is put back after it where ours still stands: a
  // tag held with the others may have taken one for its own meanwhile (an
  // error tracker wraps addEventListener; postscribe takes document.write
  // while it writes a tag, past the queue's end, and puts back ours).
  // Our addEventListener is on EventTarget's prototype, where the
  // window's and the document's come from: own properties on them would
  // hide a later wrapper of the prototype's (zone.js). It is made for each
  // run of the queue, and calls on to what it found: one kept from an
  // earlier run, under a tracker's wrapper, calls on to what that run
  // found.
  // readyState: "complete" < "d" (load passed), "interactive" < "l"
  // (DOMContentLoaded passed) < "loading". (x's own call comes back here,
  // and goes on.)
  var E = EventTarget.prototype, listen;
  var run = () => {
    if (running) return;
    if (queue.length && !defaulted) defaulted = consentMode("default") || 1;
    if (!wrote) {
      var was = wrote = [d.write, d.writeln, E.addEventListener];
      d.write = d.writeln = write;
      E.addEventListener = listen = function (t, f, o) {
        var x = new EventTarget();
        (this == w || this == d) && (t == "load" ? "d" : t == "DOMContentLoaded" && "l") > d.readyState
          ? (x.addEventListener(t, f, o), setTimeout(() => x.dispatchEvent(new Event(t))))
          : was[2].call(this, t, f, o);
      };
    }
    while (queue.length) {
      var el = queue.shift(), s = last = script(el), o = w.onload;
      s.async = s.hasAttribute("async"); // ordered, as the parser ran it
      if (!s.src) w.onload = null;
      el.parentNode ? el.replaceWith(s) : d.head.append(s);
      if (!s.src) { if (w.onload) w.addEventListener("load", w.onload); w.onload = o; }
      if (blocks(last)) return wait(last);
    }
    if (d.write == write) d.write = wrote[0];
    if (d.writeln == write) d.writeln = wrote[1];
    if (E.addEventListener == listen) E.addEventListener = wrote[2];
    wrote = 0;
    consentMode();
  };
  // known holds the markup the rewriter produced: what carries our token
  // when the page has parsed. Anything added later is never activated.
  var known = null;
  var mine = (el) => { return token && known?.has(el) && el.getAttribute("data-fp-token") === token; };
  var activate = () => {
    if (!token) return;
    known?.forEach((el) => {
      var c = el.getAttribute("data-fp-category");
      if (c && mine(el) && !el.matches(".fp-placeholder") && allowed(state, c, el.getAttribute("data-fp-vendor"))) load(el);
    });
    run();
  };
  var load = (el) => {
    if (el.hasAttribute("data-fp-placeholder")) {
      var ph = el.previousElementSibling;
      if (ph?.matches(".fp-placeholder")) ph.remove();
    }
    if (el.localName == "script") { el.removeAttribute("data-fp-token"); queue.push(el); } else restore(el);
  };
  // Google Consent Mode: the state as a default before the first held
  // script runs (a tag's config must find one: processed before any, its
  // first hit is sent as if everything were granted), pushed as gtag
  // pushes it when the page has no gtag yet; an update after each change.
  // A page's gtag that throws, or a dataLayer that is an object of the
  // page's own, must not stop the held scripts from running.
  var consentMode = (how) => {
    var g = (c) => { return isGranted(state, c) ? "granted" : "denied"; };
    var f = typeof w.gtag == "function" ? w.gtag : how && function () { (w.dataLayer ||= []).push(arguments); };
    try { f && f("consent", how || "update", { analytics_storage: g("analytics"), ad_storage: g("advertising"), ad_user_data: g("advertising"), ad_personalization: g("advertising") }); } catch (e) {}
  };

  /* ---- state changes ---- */
  var snapshot = () => Object.fromEntries(C.cats.map((c) => [c, isGranted(state, c)]));
  var refresh = (force) => {
    var c = d.cookie;
    if (c === lastCookie && !force) return;
    lastCookie = c;
    var before = granted;
    state = evaluate();
    granted = snapshot();
    var changed = JSON.stringify(before) != JSON.stringify(granted);
    C.cats.forEach((k) => { if (before[k] && !granted[k]) expire(k); });
    if (d.readyState != "loading") activate();
    if (changed || force) {
      consentMode();
      listeners.forEach((f) => { try { f(snapshot()); } catch (e) {} });
    }
  };
  refresh(true);
  setInterval(refresh, 1000); // a consent manager's choice arrives as a cookie

  d.addEventListener("click", (e) => {
    var t = e.composedPath()[0], b = t.closest?.("[data-fp-load],[data-fp-open]");
    if (!b) return;
    if (b.hasAttribute("data-fp-open")) { e.preventDefault(); open(true); return; }
    var ph = b.closest(".fp-placeholder"), el = ph?.nextElementSibling;
    if (!el || !mine(ph) || !mine(el)) return;
    if (b.getAttribute("data-fp-load") == "always") {
      var it = items();
      // each of the element's vendors, which it names together
      (el.getAttribute("data-fp-vendor") || ph.getAttribute("data-fp-placeholder")).split("; ").forEach((x) => it["@" + vkey(x)] = "g");
      save(it);
    }
    load(el);
    run();
  });

  /* ---- banner ---- */
  var T = C.texts[C.lang] || C.texts.en, host, root, dlg, back, reopen;
  if (C.lang == "auto") {
    (navigator.languages || [navigator.language || "en"]).some((l) => {
      l = String(l).toLowerCase().split("-")[0];
      return C.texts[l] && (T = C.texts[l]);
    });
  }
  var el = (tag, attrs, kids) => {
    var e = d.createElement(tag);
    for (var k in attrs || {}) k == "text" ? (e.textContent = attrs[k]) : e.setAttribute(k, attrs[k]);
    (kids || []).forEach((c) => { c && e.append(c); });
    return e;
  };
  // onPage lists the categories and vendors deferred on this page, read
  // when it has parsed (activation takes the markers away).
  var page;
  var onPage = () => {
    if (page) return page;
    page = {};
    known.forEach((e) => {
      // An element held for several categories names its vendors together
      // ("Google Ads; Google Analytics"): each is listed once.
      var v = (e.getAttribute("data-fp-vendor") || e.getAttribute("data-fp-placeholder") || "").split("; ");
      cats(e.getAttribute("data-fp-category")).forEach((c) => {
        if (!C.cats.includes(c)) return;
        page[c] ||= [];
        v.forEach((x) => { if (x && !page[c].includes(x)) page[c].push(x); });
      });
    });
    return page;
  };
  var choose = (it) => { save(it); close(); };
  var close = () => {
    if (!dlg) return;
    dlg.remove(); dlg = null;
    reopen.hidden = false;
    back?.focus?.();
  };
  var open = (settings) => {
    if (!root) return;
    dlg?.remove();
    back = d.activeElement;
    var cats = onPage(), boxes = {}, names = Object.keys(cats);
    var b = (k, f, cls) => { var x = el("button", { type: "button", "class": cls || "b", text: T[k] }); x.onclick = f; return x; };
    var list = el("div", { "class": "l2" }, names.map((c) => {
      var id = "fp-" + c, cb = boxes[c] = el("input", { type: "checkbox", id: id });
      cb.checked = isGranted(state, c);
      return el("div", { "class": "row" }, [cb, el("label", { "for": id, text: T["cat_" + c] || c }),
        cats[c].length ? el("small", { text: cats[c].join(", ") }) : null]);
    }));
    list.hidden = !settings;
    var links = el("p", { "class": "s" }, [C.privacy ? el("a", { href: C.privacy, text: T.privacy }) : null]);
    var save2 = b("save", () => {
      var it = items();
      names.forEach((c) => { it[c] = boxes[c].checked ? "g" : "d"; });
      choose(it);
    });
    save2.hidden = !settings;
    var more = b("settings", () => { list.hidden = save2.hidden = false; more.hidden = true; boxes[names[0]]?.focus(); }, "link");
    more.hidden = settings || !names.length;
    // Accept all keeps the vendors' grants (Always allow); Reject all
    // withdraws them too, as it withdraws every category.
    var keep = (v) => { return () => { var it = items(); for (var k in it) if (k[0] != "@" || v == "d") delete it[k]; it["*"] = v; choose(it); }; };
    dlg = el("div", { role: "dialog", "aria-modal": "true", "aria-labelledby": "fp-t", "aria-describedby": "fp-b", "class": "d " + C.position }, [
      el("h2", { id: "fp-t", text: T.title }),
      el("p", { id: "fp-b", text: T.body }),
      names.length ? el("p", { "class": "s", text: T.vendors + " " + names.map((c) => { return cats[c].join(", "); }).filter(String).join(", ") }) : null,
      links, list,
      el("div", { "class": "btns" }, [b("accept", keep("a")), b("reject", keep("d")), more, save2])
    ]);
    dlg.onkeydown = (e) => {
      if (e.key == "Escape" && !list.hidden && !settings) { list.hidden = save2.hidden = true; more.hidden = false; more.focus(); }
      if (e.key != "Tab") return;
      var f = [...dlg.querySelectorAll("button,input,a[href]")].filter((x) => !x.closest("[hidden]"));
      var first = f[0], last = f[f.length - 1], a = root.activeElement;
      if (e.shiftKey && a == first) { last.focus(); e.preventDefault(); }
      else if (!e.shiftKey && a == last) { first.focus(); e.preventDefault(); }
    };
    reopen.hidden = true;
    root.append(dlg);
    dlg.querySelector("button").focus();
  };
  var banner = () => {
    host = el("div", { id: "fp-consent" });
    root = host.attachShadow({ mode: "open" });
    var css = ":host{all:initial}.d,.r{position:fixed;z-index:2147483647;font:16px/1.4 system-ui,sans-serif;color:" + C.colors[1] +
      ";background:" + C.colors[0] + ";box-shadow:0 2px 20px #0006;box-sizing:border-box}" +
      ".d{left:50%;transform:translateX(-50%);width:min(40em,100vw - 1em);max-height:calc(100vh - 1em);overflow:auto;overflow-wrap:anywhere;padding:1em 1.25em;border-radius:.5em}" +
      ".bottom{bottom:.5em}.top{top:.5em}.center{top:50%;transform:translate(-50%,-50%)}" +
      "h2{font-size:1.15em;margin:0 0 .4em}p,.row{margin:.4em 0}.s,small{font-size:.85em}small{display:block;margin-left:1.6em}" +
      ".btns{display:flex;flex-wrap:wrap;gap:.5em;margin-top:.8em}" +
      "button{font:inherit;cursor:pointer}.b{flex:1 1 10em;font-weight:600;padding:.6em 1em;border:2px solid " + C.colors[2] + ";border-radius:.4em;background:" + C.colors[2] + ";color:" + C.colors[0] + "}" +
      ".link,.r{font-size:.9em;background:none;border:0;color:inherit;text-decoration:underline;padding:.6em}" +
      "a{color:inherit}:focus-visible{outline:3px solid " + C.colors[2] + ";outline-offset:2px}" +
      ".r{bottom:.5em;left:.5em;border-radius:.4em;background:" + C.colors[0] + "}[hidden]{display:none!important}";
    try { var sh = new CSSStyleSheet(); sh.replaceSync(css); root.adoptedStyleSheets = [sh]; }
    catch (e) { var st = el("style", { text: css }); st.nonce = nonce || ""; root.append(st); }
    reopen = el("button", { type: "button", "class": "r", text: T.reopen });
    reopen.onclick = () => { open(true); };
    root.append(reopen);
    d.body.append(host);
    var chose = state.own || Object.keys(state.c).length;
    if (!chose && Object.keys(onPage()).length) open(false); else reopen.hidden = false;
  };
  var start = () => {
    // A copy without a token that ran before the loader (the site's own,
    // above a loader the rewriter placed late) leaves the page to the
    // loader's runtime, which has taken firstparty.consent since: no
    // second banner. The loader's own always starts, whatever a page
    // script did to firstparty.consent.
    if (!token && w.firstparty.consent != api) return;
    // known: what carries our token in the document and in the open
    // shadow roots the parse made (declarative ones, <template
    // shadowrootmode>), at any depth. The document's shadow hosts are
    // looked for in document.all, a live collection, indexed: over 20,000
    // elements in Chromium that took a tenth of what a callback on each
    // element of querySelectorAll("*") did.
    known = new Set();
    var q = (r) => {
      r.querySelectorAll("[data-fp-token]").forEach((e) => {
        if (e.getAttribute("data-fp-token") === token) {
          known.add(e);
          // placeholders' two buttons, written with them, in the visitor's language
          var b = e.matches(".fp-placeholder") && e.querySelectorAll("button[data-fp-load]");
          if (b?.length == 2) { b[0].textContent = T.load; b[1].textContent = T.always + " " + e.getAttribute("data-fp-placeholder"); }
        }
      });
      for (var a = r == d ? d.all : r.querySelectorAll("*"), i = 0, e; e = a[i++];) e.shadowRoot && q(e.shadowRoot);
    };
    q(d);
    onPage();
    activate();
    if (C.banner) banner();
  };
  w.firstparty ||= {};
  var api = w.firstparty.consent = {
    get: snapshot,
    set: (choices) => {
      var it = items();
      for (var k in choices) if (C.cats.includes(k) || k == "*") it[k] = choices[k] ? "g" : "d";
      save(it);
    },
    onChange: (f) => { listeners.push(f); }, // (each called in a try)
    open: () => { open(true); }
  };
  if (d.readyState == "loading") d.addEventListener("DOMContentLoaded", start); else start();
})
