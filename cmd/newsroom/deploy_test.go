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

	if out, err := health(ta.base + "/healthz"); err != nil || out != "200 OK ok\n" {
		t.Errorf("health of /healthz: %q, %v; want 200 OK ok", out, err)
	}
	if _, err := health(ta.base + "/public/v1/articles"); err == nil || !strings.Contains(err.Error(), "/readyz or /healthz") {
		t.Errorf("health of another address: %v; want a refusal that names the probes", err)
	}

	notReady := httptest.NewServer(nethttp.HandlerFunc(func(w nethttp.ResponseWriter, _ *nethttp.Request) {
		w.WriteHeader(nethttp.StatusServiceUnavailable)
	}))
	defer notReady.Close()
	if _, err := health(notReady.URL + "/readyz"); err == nil {
		t.Error("health of a serve answering 503: no error; want one (a non-zero exit)")
	}
	// A serve whose log is down says so in its report, which the health log shows.
	down := httptest.NewServer(nethttp.HandlerFunc(func(w nethttp.ResponseWriter, _ *nethttp.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Retry-After", "1")
		w.WriteHeader(nethttp.StatusServiceUnavailable)
		w.Write([]byte(`{"status":"down","log":{"status":"down","position":0,"error":"the event log does not answer: commands are refused"},"database":{"status":"ok","position":0},"views":{}}`))
	}))
	defer down.Close()
	out, err = health(down.URL + "/readyz")
	if err == nil || !strings.Contains(err.Error(), "the event log does not answer") {
		t.Errorf("health of a serve whose log is down: %v; want an error that says why", err)
	}
	if !strings.HasPrefix(out, "503 Service Unavailable {") || !strings.Contains(out, `"status":"down"`) {
		t.Errorf("health of a serve whose log is down printed %q; want the status and the report", out)
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
