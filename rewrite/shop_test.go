package rewrite

import (
	"fmt"
	"net/url"
	"strings"
)

// shopHead is the head of a generated shop page: the usual vendors' tags
// in the shapes their install guides give.
const shopHead = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Ridge &amp; Pine Outfitters — Jackets</title>
<link rel="preconnect" href="https://fonts.googleapis.com">
<link rel="preconnect" href="https://fonts.gstatic.com" crossorigin>
<link rel="dns-prefetch" href="//connect.facebook.net">
<link rel="stylesheet" href="https://fonts.googleapis.com/css2?family=Inter:wght@400;700&display=swap">
<link rel="stylesheet" href="/assets/theme.css?v=4812">
<link rel="icon" href="/favicon.ico">
<!-- Google Tag Manager -->
<script>(function(w,d,s,l,i){w[l]=w[l]||[];w[l].push({'gtm.start':
new Date().getTime(),event:'gtm.js'});var f=d.getElementsByTagName(s)[0],
j=d.createElement(s),dl=l!='dataLayer'?'&l='+l:'';j.async=true;j.src=
'https://www.googletagmanager.com/gtm.js?id='+i+dl;f.parentNode.insertBefore(j,f);
})(window,document,'script','dataLayer','GTM-K9X2ZQ');</script>
<!-- End Google Tag Manager -->
<script async src="https://www.googletagmanager.com/gtag/js?id=G-7QH3R2LJ5B"></script>
<script>
  window.dataLayer = window.dataLayer || [];
  function gtag(){dataLayer.push(arguments);}
  gtag('js', new Date());
  gtag('config', 'G-7QH3R2LJ5B');
</script>
<!-- Meta Pixel Code -->
<script>
!function(f,b,e,v,n,t,s)
{if(f.fbq)return;n=f.fbq=function(){n.callMethod?
n.callMethod.apply(n,arguments):n.queue.push(arguments)};
if(!f._fbq)f._fbq=n;n.push=n;n.loaded=!0;n.version='2.0';
n.queue=[];t=b.createElement(e);t.async=!0;
t.src=v;s=b.getElementsByTagName(e)[0];
s.parentNode.insertBefore(t,s)}(window, document,'script',
'https://connect.facebook.net/en_US/fbevents.js');
fbq('init', '1234567890123456');
fbq('track', 'PageView');
</script>
<noscript><img height="1" width="1" style="display:none"
src="https://www.facebook.com/tr?id=1234567890123456&ev=PageView&noscript=1"
/></noscript>
<!-- End Meta Pixel Code -->
<!-- Hotjar Tracking Code -->
<script>
    (function(h,o,t,j,a,r){
        h.hj=h.hj||function(){(h.hj.q=h.hj.q||[]).push(arguments)};
        h._hjSettings={hjid:3412876,hjsv:6};
        a=o.getElementsByTagName('head')[0];
        r=o.createElement('script');r.async=1;
        r.src=t+h._hjSettings.hjid+j+h._hjSettings.hjsv;
        a.appendChild(r);
    })(window,document,'https://static.hotjar.com/c/hotjar-','.js?sv=');
</script>
<script type="text/javascript">
    (function(c,l,a,r,i,t,y){
        c[a]=c[a]||function(){(c[a].q=c[a].q||[]).push(arguments)};
        t=l.createElement(r);t.async=1;t.src="https://www.clarity.ms/tag/"+i;
        y=l.getElementsByTagName(r)[0];y.parentNode.insertBefore(t,y);
    })(window, document, "clarity", "script", "k3j9x8w2q1");
</script>
<script>
!function (w, d, t) {
  w.TiktokAnalyticsObject=t;var ttq=w[t]=w[t]||[];ttq.methods=["page","track","identify"];
  ttq.load=function(e,n){var r="https://analytics.tiktok.com/i18n/pixel/events.js";ttq._i=ttq._i||{};ttq._i[e]=[]};
  ttq.load('CABCDEFGHIJ123456789');
  ttq.page();
}(window, document, 'ttq');
</script>
<script type="application/ld+json">{"@context":"https://schema.org","@type":"Organization","name":"Ridge & Pine","url":"https://shop.example/","logo":"https://shop.example/logo.png"}</script>
<style>
.grid{display:grid;grid-template-columns:repeat(4,1fr);gap:16px}
.card{border:1px solid #ddd;border-radius:6px;padding:8px}
.hero{background:url(/assets/hero.jpg) center/cover no-repeat;min-height:320px}
</style>
<script src="/assets/shop.js?v=4812" defer></script>
</head>
<body class="template-collection">
<!-- Google Tag Manager (noscript) -->
<noscript><iframe src="https://www.googletagmanager.com/ns.html?id=GTM-K9X2ZQ"
height="0" width="0" style="display:none;visibility:hidden"></iframe></noscript>
<!-- End Google Tag Manager (noscript) -->
<header class="site-header"><a href="/" class="logo"><img src="/assets/logo.svg" alt="Ridge &amp; Pine" width="120" height="40"></a>
<nav><ul><li><a href="/collections/jackets">Jackets</a></li><li><a href="/collections/boots">Boots</a></li><li><a href="/pages/about">About</a></li></ul></nav>
<form action="/search" method="get"><input type="search" name="q" placeholder="Search"></form></header>
<main>
<section class="hero" style="background-image:url('/assets/hero-winter.jpg')"><h1>Winter collection</h1></section>
<div class="grid">
`

// shopFoot closes the page: a video embed, a chat widget and consent-free
// pixels that shops paste into the footer.
const shopFoot = `</div>
<section class="video"><iframe width="560" height="315" src="https://www.youtube.com/embed/dQw4w9WgXcQ" title="Our story" frameborder="0" allow="accelerometer; autoplay; clipboard-write; encrypted-media" allowfullscreen></iframe></section>
</main>
<footer><p>&copy; 2026 Ridge &amp; Pine Outfitters</p>
<a href="https://www.instagram.com/ridgepine" ping="https://ping.hotjar.com/p">Instagram</a>
<img src="https://bat.bing.com/action/0?ti=5512345&Ver=2" height="0" width="0" style="display:none; visibility: hidden;" alt="">
<img src="https://px.ads.linkedin.com/collect/?pid=123456&fmt=gif" height="1" width="1" style="display:none;" alt="">
</footer>
<script src="https://js.hs-scripts.com/1234567.js" async defer id="hs-script-loader"></script>
<script>
var _paq = window._paq = window._paq || [];
_paq.push(['trackPageView']);
(function() { var u="https://shop.matomo.cloud/"; _paq.push(['setTrackerUrl', u+'matomo.php']); })();
</script>
</body>
</html>
`

// shopCard is one product in the collection grid: first-party images with
// srcset, a price, microdata, inline JSON and, in the first rows, a vendor's
// widget or pixel.
func shopCard(i int) string {
	var sb strings.Builder
	fmt.Fprintf(&sb, `<div class="card" data-product-id="%d" itemscope itemtype="https://schema.org/Product">
<a href="/products/jacket-%d"><picture><source type="image/webp" srcset="/cdn/shop/products/jacket-%d_400x.webp 400w, /cdn/shop/products/jacket-%d_800x.webp 800w">
<img src="/cdn/shop/products/jacket-%d_400x.jpg" srcset="/cdn/shop/products/jacket-%d_400x.jpg 400w, /cdn/shop/products/jacket-%d_800x.jpg 800w" sizes="(min-width: 750px) 25vw, 50vw" alt="Alpine shell jacket, colour %d" loading="lazy" width="400" height="500"></picture></a>
<h3 itemprop="name">Alpine Shell Jacket &ndash; No. %d</h3>
<p class="price" itemprop="offers" itemscope itemtype="https://schema.org/Offer"><span itemprop="price" content="%d.00">&euro;%d,00</span></p>
<button type="button" class="add" onclick="addToCart(%d)" style="color:#fff;background:#1a5">Add to cart</button>
<script type="application/json" data-product-json>{"id":%d,"title":"Alpine Shell Jacket No. %d","price":%d00,"available":true,"variants":[{"id":%d1,"size":"M"},{"id":%d2,"size":"L"}]}</script>
`, i, i, i, i, i, i, i, i%12, i, 99+i%200, 99+i%200, i, i, i, 99+i%200, i, i)
	// The vendors' widgets in the grid sit in its first rows, so that every
	// page size carries the same third parties and only first-party markup
	// grows with the page.
	switch i {
	case 7:
		sb.WriteString(`<img src="https://www.facebook.com/tr?id=1234567890123456&ev=ViewContent&noscript=1" width="1" height="1" alt="">` + "\n")
	case 19:
		sb.WriteString(`<div class="reviews" style="background:url(https://cdn.trustpilot.net/brand-assets/stars.png)"><script src="https://widget.trustpilot.com/bootstrap/v5/tp.widget.bootstrap.min.js" async></script></div>` + "\n")
	case 31:
		sb.WriteString(`<script>gtag('event', 'view_item', {currency: 'EUR', value: 129.00, items: [{item_id: 'SKU_` + fmt.Sprint(i) + `'}]});</script>` + "\n")
	}
	sb.WriteString("</div>\n")
	return sb.String()
}

// shopPage generates a shop collection page of about size bytes.
func shopPage(size int) []byte {
	b := make([]byte, 0, size+4096)
	b = append(b, shopHead...)
	for i := 1; len(b)+len(shopFoot) < size; i++ {
		b = append(b, shopCard(i)...)
	}
	return append(b, shopFoot...)
}

// shopHosts are the third-party hosts on the generated shop page that a
// privacy policy removes or defers.
var shopHosts = []string{
	"googletagmanager.com", "facebook.net", "facebook.com",
	"hotjar.com", "clarity.ms", "tiktok.com", "bing.com", "linkedin.com",
	"hs-scripts.com", "matomo.cloud", "trustpilot.com", "trustpilot.net", "youtube.com",
	"fonts.googleapis.com", "fonts.gstatic.com",
}

// shopPolicy gives action a to every listed host and every inline script
// that calls a vendor's function or names a listed host, or cannot be
// read; the shop's own URLs are kept.
func shopPolicy(a Action) Policy {
	set := map[string]bool{}
	for _, h := range shopHosts {
		set[h] = true
	}
	listed := func(h string) bool {
		for {
			if set[h] {
				return true
			}
			i := strings.IndexByte(h, '.')
			if i < 0 {
				return false
			}
			h = h[i+1:]
		}
	}
	return PolicyFunc(func(page *url.URL, r *Resource) Decision {
		if r.Kind == KindInlineScript {
			if f := r.Script; f != nil {
				if f.Oversize || f.Malformed {
					return Decision{Action: a, Category: "unknown"}
				}
				for _, c := range f.Calls {
					switch c {
					case "gtag", "fbq", "ttq", "_paq", "clarity", "hj":
						return Decision{Action: a, Category: "analytics", Vendor: c}
					}
				}
				for _, h := range f.Hosts {
					if listed(h) {
						return Decision{Action: a, Category: "analytics", Vendor: h}
					}
				}
			}
			return Decision{}
		}
		if r.URL != nil && page != nil && r.URL.Host == page.Host {
			return Decision{} // first party
		}
		if r.URL != nil && listed(r.URL.Hostname()) {
			return Decision{Action: a, Category: "marketing", Vendor: r.URL.Hostname(), Host: r.URL.Hostname()}
		}
		return Decision{}
	})
}
