package browsertest

import (
	_ "embed"
	"fmt"
	"strings"
)

// axeSource is axe-core, vendored with its licence in axe/ (see axe/README.md for where it came
// from). It is injected into the page under test by the DevTools protocol, which a page's
// Content-Security-Policy does not restrict, so the desk's strict CSP needs no exception.
//
//go:embed axe/axe.min.js
var axeSource string

// AxeVersion is the version of the vendored axe-core.
const AxeVersion = "4.14.1"

// Violation is one axe-core rule a page breaks, with the elements that break it.
type Violation struct {
	ID      string `json:"id"`     // the rule, e.g. color-contrast
	Impact  string `json:"impact"` // minor, moderate, serious or critical
	Help    string `json:"help"`
	HelpURL string `json:"helpUrl"`
	Nodes   []struct {
		Target         []any  `json:"target"` // CSS selectors (nested arrays inside frames)
		HTML           string `json:"html"`
		FailureSummary string `json:"failureSummary"`
	} `json:"nodes"`
}

// Serious says whether the violation is serious or critical: what the tests refuse.
func (v Violation) Serious() bool { return v.Impact == "serious" || v.Impact == "critical" }

func (v Violation) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s (%s): %s <%s>", v.ID, v.Impact, v.Help, v.HelpURL)
	for i, n := range v.Nodes {
		if i == 5 {
			fmt.Fprintf(&b, "\n    … and %d more", len(v.Nodes)-i)
			break
		}
		fmt.Fprintf(&b, "\n    %v %s\n      %s", n.Target, abbreviate(n.HTML), strings.ReplaceAll(n.FailureSummary, "\n", "\n      "))
	}
	return b.String()
}

// Axe runs axe-core on the page as it is now (WCAG 2.x A and AA rules and axe's best practices)
// and returns every violation.
func (p *Page) Axe() []Violation {
	p.tb.Helper()
	var loaded bool
	p.Eval(`typeof window.axe === 'object'`, &loaded)
	if !loaded {
		p.Eval(axeSource+"\n;true", nil)
	}
	var violations []Violation
	p.Eval(`axe.run(document, {resultTypes: ['violations']}).then(r => r.violations)`, &violations)
	return violations
}

// Accessible fails the test if axe-core finds a serious or critical violation on the page; what
// names the page in the message. Lesser violations are logged.
func (p *Page) Accessible(what string) {
	p.tb.Helper()
	var serious, other []string
	for _, v := range p.Axe() {
		if v.Serious() {
			serious = append(serious, v.String())
		} else {
			other = append(other, v.ID+" ("+v.Impact+"): "+v.Help)
		}
	}
	if len(other) > 0 {
		p.tb.Logf("axe-core on %s: minor or moderate: %s", what, strings.Join(other, "; "))
	}
	if len(serious) > 0 {
		p.tb.Errorf("axe-core %s on %s (%s): %d serious or critical violations:\n  %s", AxeVersion, what, p.location(), len(serious), strings.Join(serious, "\n  "))
	}
}
