package apitest

import (
	"testing"

	newsroomhttp "github.com/newsroom/newsroom/http"
)

func TestScratchLoad(t *testing.T) {
	_, err := Load(newsroomhttp.OpenAPI())
	if err != nil {
		t.Fatal(err)
	}
}
