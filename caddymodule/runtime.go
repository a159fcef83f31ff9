package caddymodule

import (
	"bytes"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/tdewolff/minify/v2/js"

	"github.com/firstparty/firstparty/blocklists"
	"github.com/firstparty/firstparty/rewrite"
)

//go:embed assets/consent.js
var consentSource []byte

// minifiedRuntime is the runtime minified once, at start-up.
var minifiedRuntime, minifyErr = minifyJS(consentSource)

func minifyJS(src []byte) ([]byte, error) {
	var out bytes.Buffer
	m := &js.Minifier{KeepVarNames: false}
	if err := m.Minify(nil, &out, bytes.NewReader(src), nil); err != nil {
		return nil, err
	}
	return bytes.TrimRight(out.Bytes(), ";\n"), nil
}

// Banner is the optional consent banner.
type Banner struct {
	// Enabled shows the banner to visitors who have not chosen yet, on
	// pages where something was deferred, and a "cookie settings" link
	// afterwards. Default: false (the site calls firstparty.consent
	// itself, or a consent manager's cookie is read).
	Enabled bool `json:"enabled,omitempty"`
	// PrivacyURL is the link to the site's privacy policy in the banner.
	PrivacyURL string `json:"privacy_url,omitempty"`
	// Position is bottom (default), top or center.
	Position string `json:"position,omitempty"`
	// Colors are the background, text and accent colours, as CSS colours.
	// Default: #ffffff #1a1a1a #1d4ed8.
	Colors []string `json:"colors,omitempty"`
	// Language is auto (the browser's preferred language among those with
	// texts, else English) or a language code, whose texts alone the
	// runtime then carries. Built in: en, fr, de, es, it, nl. Default: auto.
	Language string `json:"language,omitempty"`
	// Texts overrides or adds texts: Texts["fr"]["title"] = "…". Keys are
	// those of DefaultTexts.
	Texts map[string]map[string]string `json:"texts,omitempty"`
}

// DefaultTexts are the banner's texts in the languages it ships with.
var DefaultTexts = map[string]map[string]string{
	"en": {
		"title": "Your privacy", "body": "We would like to use third-party services on this site. They only load if you agree, and you can change your mind at any time.",
		"accept": "Accept all", "reject": "Reject all", "settings": "Choose", "save": "Save my choices",
		"privacy": "Privacy policy", "reopen": "Cookie settings", "vendors": "On this page:", "always": rewrite.DefaultAlwaysLabel, "load": rewrite.DefaultLoadLabel,
		"placeholder":   rewrite.DefaultPlaceholderText,
		"cat_analytics": "Audience measurement", "cat_advertising": "Advertising", "cat_social": "Social networks",
		"cat_session_replay": "Session recording", "cat_tag_manager": "Tag managers", "cat_embeds": "Embedded content (videos, maps)",
		"cat_consent": "Consent management", "cat_fonts": "Web fonts", "cat_cdn": "Content delivery", "cat_payments": "Payments",
		"cat_unknown": "Other third parties",
	},
	"fr": {
		"title": "Votre vie privée", "body": "Nous aimerions utiliser des services tiers sur ce site. Ils ne se chargent qu'avec votre accord, et vous pouvez changer d'avis à tout moment.",
		"accept": "Tout accepter", "reject": "Tout refuser", "settings": "Choisir", "save": "Enregistrer mes choix",
		"privacy": "Politique de confidentialité", "reopen": "Gestion des cookies", "vendors": "Sur cette page :", "always": "Toujours autoriser", "load": "Charger le contenu",
		"placeholder":   "Ce contenu est hébergé par %s. Le charger partage vos données avec ce service.",
		"cat_analytics": "Mesure d'audience", "cat_advertising": "Publicité", "cat_social": "Réseaux sociaux",
		"cat_session_replay": "Enregistrement de session", "cat_tag_manager": "Gestionnaires de balises", "cat_embeds": "Contenus intégrés (vidéos, cartes)",
		"cat_consent": "Gestion du consentement", "cat_fonts": "Polices web", "cat_cdn": "Diffusion de contenu", "cat_payments": "Paiements",
		"cat_unknown": "Autres tiers",
	},
	"de": {
		"title": "Ihre Privatsphäre", "body": "Wir möchten auf dieser Website Dienste von Drittanbietern nutzen. Sie werden nur mit Ihrer Zustimmung geladen, und Sie können Ihre Entscheidung jederzeit ändern.",
		"accept": "Alle akzeptieren", "reject": "Alle ablehnen", "settings": "Auswählen", "save": "Auswahl speichern",
		"privacy": "Datenschutzerklärung", "reopen": "Cookie-Einstellungen", "vendors": "Auf dieser Seite:", "always": "Immer erlauben", "load": "Inhalt laden",
		"placeholder":   "Dieser Inhalt wird von %s bereitgestellt. Wenn Sie ihn laden, werden Ihre Daten an diesen Anbieter übermittelt.",
		"cat_analytics": "Reichweitenmessung", "cat_advertising": "Werbung", "cat_social": "Soziale Netzwerke",
		"cat_session_replay": "Sitzungsaufzeichnung", "cat_tag_manager": "Tag-Manager", "cat_embeds": "Eingebettete Inhalte (Videos, Karten)",
		"cat_consent": "Einwilligungsverwaltung", "cat_fonts": "Webschriften", "cat_cdn": "Inhaltsauslieferung", "cat_payments": "Zahlungen",
		"cat_unknown": "Weitere Drittanbieter",
	},
	"es": {
		"title": "Su privacidad", "body": "Nos gustaría utilizar servicios de terceros en este sitio. Solo se cargan si usted lo acepta, y puede cambiar de opinión en cualquier momento.",
		"accept": "Aceptar todo", "reject": "Rechazar todo", "settings": "Elegir", "save": "Guardar mi elección",
		"privacy": "Política de privacidad", "reopen": "Configuración de cookies", "vendors": "En esta página:", "always": "Permitir siempre", "load": "Cargar el contenido",
		"placeholder":   "Este contenido está alojado por %s. Cargarlo comparte sus datos con este servicio.",
		"cat_analytics": "Medición de audiencia", "cat_advertising": "Publicidad", "cat_social": "Redes sociales",
		"cat_session_replay": "Grabación de sesiones", "cat_tag_manager": "Gestores de etiquetas", "cat_embeds": "Contenido incrustado (vídeos, mapas)",
		"cat_consent": "Gestión del consentimiento", "cat_fonts": "Fuentes web", "cat_cdn": "Distribución de contenido", "cat_payments": "Pagos",
		"cat_unknown": "Otros terceros",
	},
	"it": {
		"title": "La tua privacy", "body": "Vorremmo utilizzare servizi di terze parti su questo sito. Vengono caricati solo con il tuo consenso, e puoi cambiare idea in qualsiasi momento.",
		"accept": "Accetta tutto", "reject": "Rifiuta tutto", "settings": "Scegli", "save": "Salva le mie scelte",
		"privacy": "Informativa sulla privacy", "reopen": "Impostazioni dei cookie", "vendors": "In questa pagina:", "always": "Consenti sempre", "load": "Carica il contenuto",
		"placeholder":   "Questo contenuto è ospitato da %s. Caricandolo, i tuoi dati vengono condivisi con questo servizio.",
		"cat_analytics": "Misurazione del pubblico", "cat_advertising": "Pubblicità", "cat_social": "Social network",
		"cat_session_replay": "Registrazione delle sessioni", "cat_tag_manager": "Gestori di tag", "cat_embeds": "Contenuti incorporati (video, mappe)",
		"cat_consent": "Gestione del consenso", "cat_fonts": "Font web", "cat_cdn": "Distribuzione dei contenuti", "cat_payments": "Pagamenti",
		"cat_unknown": "Altre terze parti",
	},
	"nl": {
		"title": "Uw privacy", "body": "We willen op deze site diensten van derden gebruiken. Die worden alleen geladen als u ermee instemt, en u kunt uw keuze altijd wijzigen.",
		"accept": "Alles accepteren", "reject": "Alles weigeren", "settings": "Kiezen", "save": "Mijn keuzes opslaan",
		"privacy": "Privacybeleid", "reopen": "Cookie-instellingen", "vendors": "Op deze pagina:", "always": "Altijd toestaan", "load": "Inhoud laden",
		"placeholder":   "Deze inhoud wordt gehost door %s. Als u deze laadt, worden uw gegevens met deze dienst gedeeld.",
		"cat_analytics": "Bezoekersmeting", "cat_advertising": "Advertenties", "cat_social": "Sociale netwerken",
		"cat_session_replay": "Sessie-opnamen", "cat_tag_manager": "Tagmanagers", "cat_embeds": "Ingesloten inhoud (video's, kaarten)",
		"cat_consent": "Toestemmingsbeheer", "cat_fonts": "Weblettertypen", "cat_cdn": "Contentlevering", "cat_payments": "Betalingen",
		"cat_unknown": "Overige derden",
	},
}

// expireCookies are the first-party cookies of the usual vendors, per
// category, that withdrawing consent expires (* matches any run).
var expireCookies = map[string][]string{
	"analytics":      {"_ga", "_ga_*", "_gid", "_gat*", "_pk_*", "_hp2_*", "ajs_*", "mp_*", "_clck", "_clsk", "ph_*", "_plausible*", "_umami*"},
	"session_replay": {"_hj*", "_clck", "_clsk", "_fs_*", "mf_*", "_lo_*"},
	"advertising":    {"_gcl_*", "_fbp", "_fbc", "_uetsid", "_uetvid", "_ttp", "_pin_unauth", "_rdt_uuid", "__qca", "IDE"},
	"social":         {"_fbp", "_fbc", "li_*", "lidc", "bcookie", "_twitter_sess", "_pin_unauth", "_ttp"},
	"tag_manager":    {"_gcl_*", "_dc_gtm_*"},
}

var (
	cssColor   = regexp.MustCompile(`^(#[0-9a-fA-F]{3,8}|[a-zA-Z]{3,30}|(rgb|rgba|hsl|hsla)\([0-9.,% /]{1,40}\))$`)
	langCode   = regexp.MustCompile(`^[a-z]{2,3}$`)
	cookieName = regexp.MustCompile("^[!#$%&'*+\\-.^_`|~0-9A-Za-z]{1,64}$")
)

func (b *Banner) validate() error {
	if b == nil {
		return nil
	}
	switch b.Position {
	case "", "bottom", "top", "center":
	default:
		return fmt.Errorf("banner position %q: want bottom, top or center", b.Position)
	}
	if len(b.Colors) != 0 && len(b.Colors) != 3 {
		return fmt.Errorf("banner colors: want three (background, text, accent), got %d", len(b.Colors))
	}
	for _, c := range b.Colors {
		if !cssColor.MatchString(c) {
			return fmt.Errorf("banner color %q: want #rgb, #rrggbb, a colour name, or rgb()/hsl()", c)
		}
	}
	if p := strings.ToLower(strings.TrimSpace(b.PrivacyURL)); p != "" && !strings.HasPrefix(p, "/") && !strings.HasPrefix(p, "https://") && !strings.HasPrefix(p, "http://") {
		return fmt.Errorf("banner privacy_url %q: want a path or an http(s) URL", b.PrivacyURL)
	}
	for lang, texts := range b.Texts {
		if !langCode.MatchString(lang) {
			return fmt.Errorf("banner text: language %q is not a two- or three-letter code", lang)
		}
		for k := range texts {
			if _, ok := DefaultTexts["en"][k]; !ok {
				return fmt.Errorf("banner text %s %q: unknown key (want one of %s)", lang, k, strings.Join(textKeys(), ", "))
			}
		}
	}
	if l := b.Language; l != "" && l != "auto" {
		if _, ok := b.texts()[l]; !ok {
			return fmt.Errorf("banner language %q has no texts: give them with text %s <key> <text>", l, l)
		}
	}
	return nil
}

func textKeys() []string {
	var ks []string
	for k := range DefaultTexts["en"] {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// texts merges the overrides over the defaults; a language added by the
// Caddyfile starts from English, so no key is ever missing.
func (b *Banner) texts() map[string]map[string]string {
	out := map[string]map[string]string{}
	for l, t := range DefaultTexts {
		out[l] = maps.Clone(t)
	}
	if b == nil {
		return out
	}
	for l, t := range b.Texts {
		if out[l] == nil {
			out[l] = maps.Clone(DefaultTexts["en"])
		}
		maps.Copy(out[l], t)
	}
	return out
}

// placeholderLabels returns the text ("%s" for the vendor) and the
// buttons' labels of the placeholders that the rewriter writes
// (rewrite.Options.PlaceholderText and PlaceholderButtons), in the
// banner's language when one is set, else in English. With language auto
// the runtime relabels the buttons in the visitor's language, which may
// move what follows a placeholder by the labels' difference in width; the
// text, which would move more, it leaves.
func (b *Banner) placeholderLabels() (text, load, always string) {
	lang := "en"
	if b != nil && b.Language != "" && b.Language != "auto" {
		lang = b.Language
	}
	t := b.texts()[lang]
	return t["placeholder"], t["load"], t["always"]
}

// runtimeConfig is what the runtime is called with.
type runtimeConfig struct {
	Cookie   string                         `json:"cookie"`
	Cats     []string                       `json:"cats"`
	GPC      []string                       `json:"gpc"`
	Maps     map[string]map[string][]string `json:"maps"`
	TCF      tcfConfig                      `json:"tcf"`
	Expire   map[string][]string            `json:"expire"`
	Banner   bool                           `json:"banner"`
	Privacy  string                         `json:"privacy,omitempty"`
	Position string                         `json:"position"`
	Colors   []string                       `json:"colors"`
	Lang     string                         `json:"lang"`
	Texts    map[string]map[string]string   `json:"texts"`
}

type tcfConfig struct {
	Cats    map[string][]int `json:"cats"`
	Vendors map[int][]string `json:"vendors"`
}

// consentCategories are the categories a visitor can grant.
func consentCategories() []string {
	var cs []string
	for _, c := range blocklists.Categories {
		if c != "essential" {
			cs = append(cs, c)
		}
	}
	return append(cs, "unknown")
}

// buildRuntime is the script served at RuntimePath: the minified runtime
// called with this handler's config, and its version (a hash of both).
func (h *Handler) buildRuntime() ([]byte, string, error) {
	if minifyErr != nil {
		return nil, "", fmt.Errorf("minifying the consent runtime: %w", minifyErr)
	}
	cr := h.consent
	if cr == nil { // not provisioned: the size tests
		cr = NewConsentReader(h.ConsentCookie, h.ConsentMaps)
	}
	cfg := runtimeConfig{
		Cookie: cr.cookie(), Cats: consentCategories(), Expire: expireCookies,
		Maps: cr.maps, Position: "bottom",
		Colors: []string{"#ffffff", "#1a1a1a", "#1d4ed8"}, Lang: "auto",
		TCF: tcfConfig{Cats: tcfCats, Vendors: map[int][]string{}},
	}
	for c := range gpcCategories {
		cfg.GPC = append(cfg.GPC, c)
	}
	sort.Strings(cfg.GPC)
	for id, names := range tcfVendors {
		for _, n := range names {
			cfg.TCF.Vendors[id] = append(cfg.TCF.Vendors[id], vendorKey(n))
		}
	}
	if b := h.Banner; b != nil {
		cfg.Banner, cfg.Privacy = b.Enabled, b.PrivacyURL
		if b.Position != "" {
			cfg.Position = b.Position
		}
		if len(b.Colors) == 3 {
			cfg.Colors = b.Colors
		}
		if b.Language != "" {
			cfg.Lang = b.Language
		}
	}
	cfg.Texts = h.Banner.texts()
	if cfg.Lang != "auto" {
		// One language for every visitor: the others are never read.
		cfg.Texts = map[string]map[string]string{cfg.Lang: cfg.Texts[cfg.Lang]}
	}
	for _, t := range cfg.Texts {
		delete(t, "placeholder") // the rewriter's alone
	}
	j, err := json.Marshal(cfg)
	if err != nil {
		return nil, "", err
	}
	var out bytes.Buffer
	out.WriteString("/* firstparty consent runtime */")
	out.Write(minifiedRuntime)
	out.WriteString("(")
	out.Write(j)
	out.WriteString(");\n")
	sum := sha256.Sum256(out.Bytes())
	return out.Bytes(), hex.EncodeToString(sum[:6]), nil
}

// serveRuntime serves the consent runtime. The loader asks for it with
// ?v=<version>, which is cached for a year; other requests get a short
// lifetime, so a config change reaches visitors on their next page.
func (h *Handler) serveRuntime(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("Content-Type", "text/javascript; charset=utf-8")
	hd.Set("X-Content-Type-Options", "nosniff")
	if r.URL.Query().Get("v") == h.runtimeVersion {
		hd.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		hd.Set("Cache-Control", "public, max-age=300")
	}
	hd.Set("ETag", `"`+h.runtimeVersion+`"`)
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		hd.Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	http.ServeContent(w, r, "", startTime, bytes.NewReader(h.runtime))
}

// startTime is the runtime's Last-Modified.
var startTime = time.Now()
