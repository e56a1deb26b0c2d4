package sample

import (
	"fmt"
	"testing"
)

func TestPasses(t *testing.T) {
	fmt.Println("chatter of a test that passes")
}

func TestSkips(t *testing.T) {
	t.Skip("no widget here")
}

func TestFails(t *testing.T) {
	t.Error("the widget broke")
}

func TestHalf(t *testing.T) {
	t.Run("one", func(t *testing.T) {})
	t.Run("other", func(t *testing.T) { t.Skipf("WIDGET_URL not set: %s", "the other half is skipped") })
}
