package main

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
	"unicode/utf8"

	apiclient "github.com/newsroom/newsroom/client" // named: the tests of this package have a type client
	"github.com/newsroom/newsroom/editorial"
)

const (
	// maxImportBytes is the largest file import sends: the API refuses request bodies over
	// 1 MiB, and the JSON of a file is never shorter than the file.
	maxImportBytes = 1 << 20
	// importTimeout bounds the whole request, so that a server that hangs does not hold the
	// command forever.
	importTimeout = time.Minute
)

// stringList is a flag that may be repeated.
type stringList []string

func (l *stringList) String() string { return strings.Join(*l, ",") }

func (l *stringList) Set(v string) error {
	*l = append(*l, v)
	return nil
}

// importCommand drafts an article from a plain-text communiqué through the API of a running
// serve, and prints the new article's id.
func importCommand(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	var (
		api, token, language string
		tags                 stringList
	)
	f := newFlags("import", stderr)
	f.string(&api, "api", "http://127.0.0.1:8080", "base URL of the API of a running 'newsroom serve'")
	f.string(&token, "token", "", "API token of a reporter, editor or admin (required)")
	f.fs.StringVar(&language, "language", "", "BCP 47 language tag of the article (default: the server's, en)")
	f.fs.Var(&tags, "tag", "a tag for the article; repeat the flag for several")
	f.fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: newsroom import [flags] FILE (- for stdin)\n\nFILE holds the headline on its first line and paragraphs after, one per line.\n\nFlags:")
		f.fs.PrintDefaults()
	}
	operands, err := parseOperands(f, args, "FILE")
	if err != nil {
		return err
	}
	file := operands[0]
	// A token read from a file or a command substitution often ends in a newline.
	token = strings.TrimSpace(token)
	if token == "" {
		return errors.New("import: --token (or NEWSROOM_TOKEN) is required: create one with 'newsroom token create'")
	}
	api = strings.TrimSpace(api)
	c, err := apiclient.New(api, apiclient.WithToken(token))
	if err != nil {
		return fmt.Errorf("import: --api %q: want the API's base URL, like http://127.0.0.1:8080", api)
	}
	text, err := readImport(file, stdin)
	if err != nil {
		return err
	}

	content := editorial.ParsePlainText(string(text))
	ctx, cancel := context.WithTimeout(ctx, importTimeout)
	defer cancel()
	a, err := c.Draft(ctx, apiclient.NewArticle{Headline: content.Headline, Body: content.Body, Language: language, Tags: tags},
		apiclient.IdempotencyKey(importKey(text, language, tags)))
	var problem *apiclient.Problem
	switch {
	case errors.As(err, &problem):
		return fmt.Errorf("import: %w", err)
	case err != nil:
		return fmt.Errorf("import: no answer from the API at %s (is 'newsroom serve' running? --api or NEWSROOM_API says where): %w", api, err)
	case a.ID == "":
		return fmt.Errorf("import: the API at %s answered without an article id", api)
	}
	_, err = fmt.Fprintln(stdout, a.ID)
	return err
}

// readImport reads the file to import; "-" is stdin.
func readImport(file string, stdin io.Reader) ([]byte, error) {
	r := stdin
	name := "stdin"
	if file != "-" {
		f, err := os.Open(file)
		if err != nil {
			return nil, fmt.Errorf("import: %w", err)
		}
		defer f.Close()
		r, name = f, file
	}
	text, err := io.ReadAll(io.LimitReader(r, maxImportBytes+1))
	if err != nil {
		return nil, fmt.Errorf("import: read %s: %w", name, err)
	}
	if len(text) > maxImportBytes {
		return nil, fmt.Errorf("import: %s is larger than 1 MiB, the most the API takes", name)
	}
	// JSON would silently turn invalid bytes into U+FFFD.
	if !utf8.Valid(text) {
		return nil, fmt.Errorf("import: %s is not UTF-8 text", name)
	}
	return text, nil
}

// importKey is the Idempotency-Key of an import: the SHA-256 of the file's bytes and of the
// flags that shape the draft, so that importing one file again with the same flags is the same
// request. The file's bytes are hashed rather than the request body, so the key does not change
// when the text parser does.
func importKey(text []byte, language string, tags []string) string {
	h := sha256.New()
	field := func(b []byte) {
		h.Write(binary.AppendUvarint(nil, uint64(len(b))))
		h.Write(b)
	}
	field([]byte("newsroom import v1"))
	field(text)
	field([]byte(language))
	for _, tag := range tags {
		field([]byte(tag))
	}
	return "import-" + hex.EncodeToString(h.Sum(nil))
}
