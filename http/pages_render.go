package http

import (
	"bytes"
	"embed"
	"encoding/json"
	"html/template"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/newsroom/newsroom/domain"
	"github.com/newsroom/newsroom/projections"
)

//go:embed templates/*.html templates/style.css
var pageFiles embed.FS

// pageTemplates are the pages' templates. html/template escapes every value for where it
// lands: text, attributes, URLs; the two values written as they are, the body and the JSON-LD,
// are typed as safe where they are made (sanitised by the published view; encoded by
// encoding/json, which escapes <, > and &).
var pageTemplates = template.Must(template.ParseFS(pageFiles, "templates/*.html"))

// pageStyle is the pages' stylesheet, inline: one request per page, and a few hundred bytes.
var pageStyle = func() template.CSS {
	b, err := pageFiles.ReadFile("templates/style.css")
	if err != nil {
		panic(err)
	}
	return template.CSS(b)
}()

// pageView is what the layout renders: the head's links and metadata, and one of an article,
// a listing or an error.
type pageView struct {
	Lang, Dir   string
	Title       string
	Description string
	SiteName    string
	Home        string
	Canonical   string
	NoIndex     bool
	Alternates  []hreflangLink
	Feeds       []feedLink
	Prev, Next  string
	Meta        []metaTag
	JSONLD      template.JS
	Style       template.CSS
	// UILang marks the pages' own words (English: "Published", the dates, the footer) on a
	// page in another language, so that a screen reader reads them as English.
	UILang template.HTMLAttr

	Article *articleView
	List    *listView
	Error   *Problem
}

type hreflangLink struct{ Lang, Href string }

type feedLink struct{ Type, Title, Label, Href string }

type metaTag struct{ Property, Name, Content string }

// pageTime is a time as a person reads it and as a machine does (<time datetime>).
type pageTime struct{ Human, Machine string }

func timeOf(t time.Time) pageTime {
	t = t.UTC()
	return pageTime{Human: t.Format("2 January 2006, 15:04 UTC"), Machine: t.Format(machineTime)}
}

// machineTime is RFC 3339 to the millisecond: HTML's <time datetime> takes at most three
// digits of a second, and a correction made within the second of its publication is still
// later.
const machineTime = "2006-01-02T15:04:05.999Z07:00"

type articleView struct {
	Headline, Summary, Byline, Dateline string
	Body                                template.HTML
	Published                           pageTime
	Updated                             *pageTime // nil when never changed after publication
	Corrections                         []correctionView
	Retraction                          *retractionView
	Tags                                []tagLink
	Translations                        []hreflangLink
	UILang                              template.HTMLAttr
	MainImage                           *mainImageView // nil: none (or a retraction)
}

// mainImageView is the article's lead picture: its <img> (renditions in srcset, its size, its
// alt text), and its caption and credit.
type mainImageView struct {
	Img             template.HTML
	Caption, Credit string
}

// mainImageSizes is the sizes attribute of the main image: the page's text column (42rem at
// most, in a 1rem padding).
const mainImageSizes = "(max-width: 44rem) calc(100vw - 2rem), 42rem"

// mainImage is the article's main image as the page shows it, with its widest rendition (what
// og:image and schema.org name); ok is false when it has none to show.
func mainImage(a projections.PublicArticle, images map[string]domain.Image) (domain.Image, domain.MediaRef, bool) {
	ref, ok := domain.MainMedia(a.Media)
	if !ok || a.Status == projections.VisibilityRetracted {
		return domain.Image{}, ref, false
	}
	img, ok := images[ref.ID]
	if !ok || img.Erased || len(img.Renditions) == 0 {
		return domain.Image{}, ref, false
	}
	return img, ref, true
}

// widest is an image's widest rendition.
func widest(img domain.Image) domain.Rendition {
	w := img.Renditions[0]
	for _, r := range img.Renditions {
		if r.Width > w.Width {
			w = r
		}
	}
	return w
}

type correctionView struct {
	Note string
	At   pageTime
}

type retractionView struct {
	Reason string
	At     pageTime
}

type tagLink struct{ Name, Href string }

type listView struct {
	Heading    string
	Items      []listItem
	Page       int
	Prev, Next string
	UILang     template.HTMLAttr
}

type listItem struct {
	Headline, Summary, Byline, Lang, Dir, Href string
	Retracted                                  bool
	Published                                  pageTime
	UILang                                     template.HTMLAttr // an item is in its own language
}

// renderPage renders v with the layout.
func renderPage(v pageView) ([]byte, error) {
	v.Style = pageStyle
	var buf bytes.Buffer
	buf.Grow(8 << 10)
	if err := pageTemplates.ExecuteTemplate(&buf, "layout", v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// pageURL is the address of the article page of slug on base.
func pageURL(base, slug string) string { return base + "/news/" + url.PathEscape(slug) }

func tagURL(base, tag string) string { return base + "/news/tag/" + url.PathEscape(tag) }

// rtlLanguages are the primary language subtags written right to left by default.
var rtlLanguages = map[string]bool{"ar": true, "arc": true, "ckb": true, "dv": true, "fa": true, "he": true, "iw": true,
	"ks": true, "ku-arab": true, "nqo": true, "ps": true, "sd": true, "syr": true, "ug": true, "ur": true, "yi": true}

// rtlScripts are the script subtags written right to left.
var rtlScripts = map[string]bool{"arab": true, "hebr": true, "syrc": true, "thaa": true, "nkoo": true, "adlm": true, "rohg": true}

// textDirection is the direction a BCP 47 language tag is written in: a script subtag decides
// (sd-Deva is left to right, az-Arab right to left), else the language's own script.
func textDirection(lang string) string {
	parts := strings.Split(strings.ToLower(lang), "-")
	for _, p := range parts[1:] {
		if len(p) == 4 && p[0] >= 'a' && p[0] <= 'z' {
			if rtlScripts[p] {
				return "rtl"
			}
			return "ltr"
		}
	}
	if rtlLanguages[parts[0]] {
		return "rtl"
	}
	return "ltr"
}

// pageLanguage is the language a page declares: the article's, else English (the pages' own
// words).
func pageLanguage(lang string) string {
	if lang == "" {
		return "en"
	}
	return lang
}

// uiLang is the attribute that marks the pages' own (English) words on a page in lang.
func uiLang(lang string) template.HTMLAttr {
	if primary, _, _ := strings.Cut(strings.ToLower(lang), "-"); primary == "en" {
		return ""
	}
	return ` lang="en"`
}

// ogLocale is a language tag as Open Graph writes locales (pt_BR).
func ogLocale(lang string) string { return strings.ReplaceAll(lang, "-", "_") }

func (api *pagesAPI) feeds(base string, l listing) []feedLink {
	// The feeds of the listing: their addresses and titles as the feeds themselves say them.
	f := feed{base: base, language: l.language, tag: l.tag, siteName: api.siteName}
	return []feedLink{
		{Type: "application/atom+xml", Title: f.title() + " (Atom)", Label: "Atom feed", Href: f.url("/public/v1/feeds/atom.xml")},
		{Type: "application/feed+json", Title: f.title() + " (JSON Feed)", Label: "JSON Feed", Href: f.url("/public/v1/feeds/feed.json")},
	}
}

func (api *pagesAPI) view(base, lang string) pageView {
	lang = pageLanguage(lang)
	return pageView{Lang: lang, Dir: textDirection(lang), SiteName: api.siteName, Home: base + "/news", UILang: uiLang(lang)}
}

// articlePage is the page of a published or retracted article.
func (api *pagesAPI) articlePage(base string, a projections.PublicArticle, images map[string]domain.Image) pageView {
	v := api.view(base, a.Language)
	canonical := pageURL(base, a.Slug)
	v.Title, v.Description, v.Canonical = a.Headline+" – "+api.siteName, a.Summary, canonical
	v.Feeds = api.feeds(base, listing{language: a.Language})
	art := &articleView{Headline: a.Headline, Summary: a.Summary, Byline: a.Byline, Dateline: a.Dateline,
		Body:      template.HTML(projections.ResolveImages(a.BodyHTML, a.Media, images, publicMediaHref(base))),
		Published: timeOf(a.PublishedAt), UILang: v.UILang}
	img, ref, hasImage := mainImage(a, images)
	var lead domain.Rendition
	if hasImage {
		caption := ref.Caption
		if caption == "" {
			caption = img.Caption
		}
		// ImgTag escapes every value it writes: its output is HTML as it stands. The lead
		// picture is what a reader sees first: it is not loaded lazily.
		tag := projections.LeadImgTag(img, img.Alt, mainImageSizes, publicMediaHref(base))
		art.MainImage = &mainImageView{Img: template.HTML(tag), Caption: caption, Credit: img.Credit}
		lead = widest(img)
	}
	if a.UpdatedAt.After(a.PublishedAt) {
		t := timeOf(a.UpdatedAt)
		art.Updated = &t
	}
	for _, c := range a.Corrections {
		art.Corrections = append(art.Corrections, correctionView{Note: c.Note, At: timeOf(c.At)})
	}
	if a.Status == projections.VisibilityRetracted {
		art.Retraction = &retractionView{Reason: a.RetractedReason, At: timeOf(a.RetractedAt)}
		v.Description = retractionNotice(a)
	}
	for _, t := range a.Tags {
		art.Tags = append(art.Tags, tagLink{Name: t, Href: tagURL(base, t)})
	}
	// hreflang (Google's rules): every version lists itself and each other version, once per
	// language.
	seen := map[string]bool{strings.ToLower(v.Lang): true}
	v.Alternates = []hreflangLink{{Lang: v.Lang, Href: canonical}}
	for _, t := range a.Translations {
		if l := strings.ToLower(t.Language); !seen[l] {
			seen[l] = true
			link := hreflangLink{Lang: t.Language, Href: pageURL(base, t.Slug)}
			v.Alternates = append(v.Alternates, link)
			art.Translations = append(art.Translations, link)
		}
	}
	if len(v.Alternates) == 1 {
		v.Alternates = nil // a page alone in its language needs none
	}
	v.Article = art

	published, modified := a.PublishedAt.UTC().Format(machineTime), a.UpdatedAt.UTC().Format(machineTime)
	v.Meta = []metaTag{
		{Property: "og:type", Content: "article"},
		{Property: "og:title", Content: a.Headline},
		{Property: "og:url", Content: canonical},
		{Property: "og:site_name", Content: api.siteName},
		{Property: "og:locale", Content: ogLocale(v.Lang)},
	}
	if v.Description != "" {
		v.Meta = append(v.Meta, metaTag{Property: "og:description", Content: v.Description})
	}
	v.Meta = append(v.Meta,
		metaTag{Property: "article:published_time", Content: published},
		metaTag{Property: "article:modified_time", Content: modified})
	for _, t := range a.Tags {
		v.Meta = append(v.Meta, metaTag{Property: "article:tag", Content: t})
	}
	card, href := "summary", ""
	if hasImage {
		card, href = "summary_large_image", publicMediaHref(base)(img.ID, lead.Name)
		v.Meta = append(v.Meta,
			metaTag{Property: "og:image", Content: href},
			metaTag{Property: "og:image:type", Content: lead.ContentType},
			metaTag{Property: "og:image:width", Content: strconv.Itoa(lead.Width)},
			metaTag{Property: "og:image:height", Content: strconv.Itoa(lead.Height)},
			metaTag{Property: "og:image:alt", Content: img.Alt})
	}
	v.Meta = append(v.Meta, metaTag{Name: "twitter:card", Content: card}, metaTag{Name: "twitter:title", Content: a.Headline})
	if v.Description != "" {
		v.Meta = append(v.Meta, metaTag{Name: "twitter:description", Content: v.Description})
	}
	var ldImage *imageLD
	if hasImage {
		v.Meta = append(v.Meta, metaTag{Name: "twitter:image", Content: href}, metaTag{Name: "twitter:image:alt", Content: img.Alt})
		ldImage = &imageLD{Type: "ImageObject", URL: href, ContentURL: href, Width: lead.Width, Height: lead.Height,
			Caption: art.MainImage.Caption, CreditText: img.Credit, CopyrightNotice: img.Copyright}
	}
	v.JSONLD = api.jsonLD(a, canonical, published, modified, v.Description, ldImage)
	return v
}

// newsArticleLD is schema.org's NewsArticle, as much of it as an article has.
type newsArticleLD struct {
	Context          string   `json:"@context"`
	Type             string   `json:"@type"`
	Headline         string   `json:"headline"`
	Description      string   `json:"description,omitempty"`
	DatePublished    string   `json:"datePublished"`
	DateModified     string   `json:"dateModified"`
	InLanguage       string   `json:"inLanguage,omitempty"`
	URL              string   `json:"url"`
	MainEntityOfPage string   `json:"mainEntityOfPage"`
	Keywords         []string `json:"keywords,omitempty"`
	Author           thingLD  `json:"author"`
	Publisher        thingLD  `json:"publisher"`
	Dateline         string   `json:"dateline,omitempty"`
	Correction       []string `json:"correction,omitempty"`
	Image            *imageLD `json:"image,omitempty"`
}

// imageLD is schema.org's ImageObject: the main image, at its widest rendition.
type imageLD struct {
	Type            string `json:"@type"`
	URL             string `json:"url"`
	ContentURL      string `json:"contentUrl"`
	Width           int    `json:"width"`
	Height          int    `json:"height"`
	Caption         string `json:"caption,omitempty"`
	CreditText      string `json:"creditText,omitempty"`
	CopyrightNotice string `json:"copyrightNotice,omitempty"`
}

type thingLD struct {
	Type string `json:"@type"`
	Name string `json:"name"`
}

// jsonLD is the article's schema.org NewsArticle as a <script> block's text. encoding/json
// escapes <, > and & (and U+2028, U+2029), so no headline can close the script or open a
// comment; the result is JSON, which html/template writes as it is (template.JS).
func (api *pagesAPI) jsonLD(a projections.PublicArticle, canonical, published, modified, description string, image *imageLD) template.JS {
	ld := newsArticleLD{Context: "https://schema.org", Type: "NewsArticle", Headline: a.Headline, Description: description,
		DatePublished: published, DateModified: modified, InLanguage: a.Language, URL: canonical, MainEntityOfPage: canonical,
		Keywords: a.Tags, Author: thingLD{Type: "Organization", Name: api.siteName},
		Publisher: thingLD{Type: "Organization", Name: api.siteName}, Dateline: a.Dateline, Image: image}
	if a.Byline != "" {
		ld.Author = thingLD{Type: "Person", Name: a.Byline}
	}
	for _, c := range a.Corrections {
		ld.Correction = append(ld.Correction, c.Note)
	}
	b, err := json.Marshal(ld)
	if err != nil {
		return "{}" // strings and slices of strings always marshal
	}
	return template.JS(b)
}

// listPage is one page of a listing; more says whether an older page follows.
func (api *pagesAPI) listPage(base string, l listing, page int, items []projections.PublicArticle, more bool) pageView {
	v := api.view(base, l.language)
	v.Title = l.heading + " – " + api.siteName
	if page > 1 {
		v.Title = l.heading + ", page " + strconv.Itoa(page) + " – " + api.siteName
	}
	self := base + l.path
	v.Canonical = pageNumberURL(self, page)
	v.Feeds = api.feeds(base, l)
	lv := &listView{Heading: l.heading, Page: page, Items: make([]listItem, 0, len(items)), UILang: v.UILang}
	for _, a := range items {
		lang := pageLanguage(a.Language)
		lv.Items = append(lv.Items, listItem{Headline: a.Headline, Summary: a.Summary, Byline: a.Byline, Lang: lang,
			Dir: textDirection(lang), Href: pageURL(base, a.Slug), Retracted: a.Status == projections.VisibilityRetracted,
			Published: timeOf(a.PublishedAt), UILang: uiLang(lang)})
	}
	if page > 1 {
		lv.Prev = pageNumberURL(self, page-1)
	}
	if more {
		lv.Next = pageNumberURL(self, page+1)
	}
	v.Prev, v.Next, v.List = lv.Prev, lv.Next, lv
	return v
}

// pageNumberURL is page n of the listing at self (page 1 is self itself).
func pageNumberURL(self string, n int) string {
	if n == 1 {
		return self
	}
	return self + "?page=" + strconv.Itoa(n)
}

// errorPage is a refusal as a page.
func (api *pagesAPI) errorPage(base string, p Problem) pageView {
	v := api.view(base, "")
	v.Title, v.NoIndex, v.Error = p.Title+" – "+api.siteName, true, &p
	return v
}
