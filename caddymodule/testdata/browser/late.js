/* late.js: the browser test delays this script (TestBrowserConsent, no layout shift when the runtime starts late). */
