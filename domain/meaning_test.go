package domain

import "testing"

func TestEveryEventTypeHasAMeaning(t *testing.T) {
	all := []Event{Drafted{}, Revised{}, Submitted{}, ChangesRequested{}, Approved{}, Published{},
		Corrected{}, Retracted{}, Spiked{}, Killed{}}
	for _, e := range all {
		status, ok := StatusAfter(e.EventType())
		if !ok || !status.Valid() {
			t.Errorf("StatusAfter(%s) = %q, %v; want a valid status", e.EventType(), status, ok)
		}
	}
	if _, ok := StatusAfter("article.unknown"); ok {
		t.Errorf("StatusAfter(article.unknown) = _, true; want false")
	}
}

func TestOnlyPublicationsArePublic(t *testing.T) {
	for typ, want := range map[string]bool{
		TypeDrafted: false, TypeRevised: false, TypeSubmitted: false, TypeChangesRequested: false,
		TypeApproved: false, TypeSpiked: false,
		TypePublished: true, TypeCorrected: true, TypeRetracted: true, TypeKilled: true,
	} {
		if got := IsPublic(typ); got != want {
			t.Errorf("IsPublic(%s) = %v; want %v", typ, got, want)
		}
	}
}

// The status an event leaves an article in is what Evolve makes of it.
func TestStatusAfterAgreesWithEvolve(t *testing.T) {
	for _, e := range []Event{Drafted{}, Revised{}, Submitted{}, ChangesRequested{}, Approved{}, Published{},
		Retracted{}, Spiked{}, Killed{}} {
		a := Evolve(Article{ID: "a", Status: StatusPublished}, Recorded{Event: e, Version: 2})
		if want, _ := StatusAfter(e.EventType()); a.Status != want {
			t.Errorf("Evolve(%s).Status = %q; StatusAfter says %q", e.EventType(), a.Status, want)
		}
	}
}
