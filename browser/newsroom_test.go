package browser

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	nethttp "net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The newsroom every test of the package shares: built and started by the first test that
// asks for it (a run without a browser skips before it and builds nothing), stopped by
// TestMain. Tests draft articles of their own, so sharing one server is sharing nothing a test
// asserts on.
var shared struct {
	once sync.Once
	srv  *newsroom
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if shared.srv != nil {
		if err := shared.srv.stop(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			if code == 0 {
				code = 1
			}
		}
		os.RemoveAll(shared.srv.dir)
	}
	os.Exit(code)
}

// newsroom is `newsroom serve` running as a process, on a data directory of its own, with
// three users: rita (reporter), ed and eva (editors).
type newsroom struct {
	dir, bin, base string
	cmd            *exec.Cmd
	log            *lockedBuffer
	done           chan struct{}
	tokens         map[string]string // by user name
}

// server returns the shared newsroom, starting it the first time.
func server(t *testing.T) *newsroom {
	t.Helper()
	shared.once.Do(func() { shared.srv, shared.err = startNewsroom() })
	if shared.err != nil {
		t.Fatalf("start newsroom: %v", shared.err)
	}
	select {
	case <-shared.srv.done:
		t.Fatalf("newsroom has ended:\n%s", shared.srv.log)
	default:
	}
	return shared.srv
}

func startNewsroom() (*newsroom, error) {
	dir, err := os.MkdirTemp("", "newsroom-browser-")
	if err != nil {
		return nil, err
	}
	n := &newsroom{dir: dir, bin: filepath.Join(dir, "newsroom"), log: &lockedBuffer{}, done: make(chan struct{}), tokens: map[string]string{}}
	build := exec.Command("go", "build", "-o", n.bin, "github.com/newsroom/newsroom/cmd/newsroom")
	if out, err := build.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("go build newsroom: %v\n%s", err, out)
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	n.base = "http://" + addr
	n.cmd = exec.Command(n.bin, "serve", "--http", addr, "--data-dir", filepath.Join(dir, "data"),
		"--nats-listen", "127.0.0.1:0", "--nats-no-sync", "--site-name", "Newsroom")
	n.cmd.Env = cleanEnv()
	n.cmd.Stderr = n.log
	if testing.Verbose() {
		n.cmd.Stderr = io.MultiWriter(n.log, os.Stderr)
	}
	if err := n.cmd.Start(); err != nil {
		return nil, err
	}
	go func() { n.cmd.Wait(); close(n.done) }()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		resp, err := nethttp.Get(n.base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == nethttp.StatusOK {
				break
			}
		}
		select {
		case <-n.done:
			return nil, fmt.Errorf("newsroom serve ended before it was ready:\n%s", n.log)
		default:
		}
		if time.Now().After(deadline) {
			n.stop()
			return nil, fmt.Errorf("newsroom serve not ready at %s after 2 minutes:\n%s", n.base, n.log)
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, u := range []struct{ name, role string }{{"rita", "reporter"}, {"ed", "editor"}, {"eva", "editor"}} {
		token, err := n.createToken(u.name, u.role)
		if err != nil {
			n.stop()
			return nil, err
		}
		n.tokens[u.name] = token
	}
	return n, nil
}

// createToken runs `newsroom token create` on the server's data directory.
func (n *newsroom) createToken(name, role string) (string, error) {
	cmd := exec.Command(n.bin, "token", "create", "--data-dir", filepath.Join(n.dir, "data"), "--name", name, "--role", role)
	cmd.Env = cleanEnv()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("token create %s: %v\n%s", name, err, stderr.String())
	}
	return strings.TrimSpace(string(out)), nil
}

// stop interrupts serve, as ^C does, and waits for it to end.
func (n *newsroom) stop() error {
	select {
	case <-n.done:
		return nil
	default:
	}
	n.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-n.done:
		return nil
	case <-time.After(time.Minute):
		n.cmd.Process.Kill()
		<-n.done
		return fmt.Errorf("newsroom serve did not stop within a minute of SIGINT:\n%s", n.log)
	}
}

// cleanEnv is this process's environment without NEWSROOM_* settings, which would change what
// serve does.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "NEWSROOM_") {
			env = append(env, kv)
		}
	}
	return env
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// apiResponse is an answer of the API to a test's own request (not the browser's).
type apiResponse struct {
	status int
	header nethttp.Header
	body   []byte
}

func (r apiResponse) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("not a JSON object: %v\n%s", err, r.body)
	}
	return m
}

// api sends a request as user (by name; "" for none) with a bearer token; body is marshalled as
// JSON unless nil; headers come in pairs.
func (n *newsroom) api(t *testing.T, method, path, user string, body any, headers ...string) apiResponse {
	t.Helper()
	var reader io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		reader = bytes.NewReader(data)
	}
	req, err := nethttp.NewRequest(method, n.base+path, reader)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if user != "" {
		req.Header.Set("Authorization", "Bearer "+n.tokens[user])
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := nethttp.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return apiResponse{status: resp.StatusCode, header: resp.Header, body: data}
}

// must is api that fails the test unless the status is want.
func (n *newsroom) must(t *testing.T, want int, method, path, user string, body any, headers ...string) apiResponse {
	t.Helper()
	r := n.api(t, method, path, user, body, headers...)
	if r.status != want {
		t.Fatalf("%s %s as %s: status %d; want %d\n%s", method, path, user, r.status, want, r.body)
	}
	return r
}

// draft drafts an article as user (POST /api/v1/articles) and returns it as the API answered.
func (n *newsroom) draft(t *testing.T, user string, fields map[string]any) map[string]any {
	t.Helper()
	return n.must(t, nethttp.StatusCreated, "POST", "/api/v1/articles", user, fields).json(t)
}

// article reads an article as ed.
func (n *newsroom) article(t *testing.T, id string) map[string]any {
	t.Helper()
	return n.must(t, nethttp.StatusOK, "GET", "/api/v1/articles/"+id, "ed", nil).json(t)
}

// history is the article's history, oldest first, as ed reads it once the history view has
// reached position (0: as it is).
func (n *newsroom) history(t *testing.T, id, position string) []any {
	t.Helper()
	path := "/api/v1/articles/" + id + "/history"
	if position != "" && position != "0" {
		path += "?min_position=" + position
	}
	h := n.must(t, nethttp.StatusOK, "GET", path, "ed", nil).json(t)
	items, _ := h["items"].([]any)
	return items
}
