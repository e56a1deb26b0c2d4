package main

import (
	"bytes"
	"context"
	nethttp "net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"testing"
)

func TestHealth(t *testing.T) {
	ta := startTestApp(t, t.TempDir())
	health := func(url string) (string, error) {
		var out, errOut bytes.Buffer
		err := run(context.Background(), []string{"health", "--url", url}, &out, &errOut)
		return out.String(), err
	}
	out, err := health(ta.base + "/readyz")
	if err != nil {
		t.Fatalf("health of a ready serve: %v", err)
	}
	if !strings.HasPrefix(out, "200 OK {") || !strings.Contains(out, `"views"`) {
		t.Errorf("health printed %q; want the status and /readyz's report", out)
	}

	notReady := httptest.NewServer(nethttp.HandlerFunc(func(w nethttp.ResponseWriter, _ *nethttp.Request) {
		w.WriteHeader(nethttp.StatusServiceUnavailable)
	}))
	defer notReady.Close()
	if _, err := health(notReady.URL + "/readyz"); err == nil {
		t.Error("health of a serve answering 503: no error; want one (a non-zero exit)")
	}

	ta.Close()
	if _, err := health(ta.base + "/readyz"); err == nil {
		t.Error("health of a stopped serve: no error; want one")
	}
}

// The compose file is checked by Debian's docker-compose (no Docker engine is needed for
// `config`), with the example environment, and refused without it.
func TestDockerComposeConfig(t *testing.T) {
	bin, err := exec.LookPath("docker-compose")
	if err != nil {
		t.Skip("docker-compose is not installed (apt-get install docker-compose): docker-compose.yml not checked")
	}
	check := func(env []string, args ...string) (string, error) {
		cmd := exec.Command(bin, append([]string{"--project-directory", "../..", "-f", "../../docker-compose.yml"}, args...)...)
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	base := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}
	if out, err := check(base, "--env-file", "../../.env.example", "config", "-q"); err != nil {
		t.Fatalf("docker-compose config -q with .env.example: %v\n%s", err, out)
	}
	out, err := check(base, "--env-file", "../../.env.example", "config", "--services")
	if err != nil {
		t.Fatalf("docker-compose config --services: %v\n%s", err, out)
	}
	services := strings.Fields(out)
	for _, want := range []string{"nats-1", "nats-2", "nats-3", "postgres", "newsroom-1", "newsroom-2"} {
		found := false
		for _, s := range services {
			found = found || s == want
		}
		if !found {
			t.Errorf("docker-compose.yml services = %v; want %s among them", services, want)
		}
	}
	// Without the passwords compose refuses to start anything, rather than run with empty ones.
	empty := t.TempDir() + "/empty.env"
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := check(base, "--env-file", empty, "config", "-q"); err == nil || !strings.Contains(out, "in .env") {
		t.Errorf("docker-compose config without the passwords: %v %s; want a refusal that names .env", err, out)
	}
}
