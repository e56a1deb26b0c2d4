package bench

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	nethttp "net/http"
	"sync"
	"time"
)

// SSELoad is a load of server-sent-event readers: Clients streams of Path held open for the
// load's Duration, each noting when every event of EventType reached it.
type SSELoad struct {
	Path      string
	Clients   int
	EventType string
}

// SSEResult is what the readers saw: for each article (the event's subject), the wall-clock
// time (Unix nanoseconds) at which each reader got its event, so that a process that knows when
// the event was caused can measure the delay; and how many readers connected.
type SSEResult struct {
	Connected int
	Failed    int
	FirstErr  string
	Arrivals  map[string][]int64
}

// RunSSE holds spec.SSE's readers open for spec.Duration and reports their arrivals.
func RunSSE(ctx context.Context, spec LoadSpec) (SSEResult, error) {
	load := spec.SSE
	if load == nil || load.Clients <= 0 {
		return SSEResult{}, fmt.Errorf("sse load: no clients")
	}
	ctx, cancel := context.WithTimeout(ctx, spec.Duration)
	defer cancel()
	res := SSEResult{Arrivals: map[string][]int64{}}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range load.Clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := readStream(ctx, spec.Addr, load, func(subject string, at time.Time) {
				mu.Lock()
				res.Arrivals[subject] = append(res.Arrivals[subject], at.UnixNano())
				mu.Unlock()
			}, func() {
				mu.Lock()
				res.Connected++
				mu.Unlock()
			})
			if err != nil && ctx.Err() == nil {
				mu.Lock()
				res.Failed++
				if res.FirstErr == "" {
					res.FirstErr = err.Error()
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return res, nil
}

// readStream reads one event stream until ctx ends, calling seen with the subject of every
// event of the load's type as it arrives. The subject is found in the event's data without
// decoding it (the data holds a whole ninjs document).
func readStream(ctx context.Context, addr string, load *SSELoad, seen func(subject string, at time.Time), connected func()) error {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	if _, err := fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: %s\r\nAccept: text/event-stream\r\n\r\n", load.Path, addr); err != nil {
		return err
	}
	br := bufio.NewReaderSize(conn, 64<<10)
	resp, err := nethttp.ReadResponse(br, nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != nethttp.StatusOK {
		return fmt.Errorf("event stream answered %d", resp.StatusCode)
	}
	connected()
	lines := bufio.NewReaderSize(resp.Body, 64<<10)
	wanted, event := []byte("event: "+load.EventType), false
	subjectKey := []byte(`"subject":"`)
	for {
		line, err := lines.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			// A long data line: its start is enough only if the subject came first; read on.
			rest, rerr := readLongLine(lines, line)
			line, err = rest, rerr
		}
		if err != nil {
			return err
		}
		switch {
		case bytes.HasPrefix(line, []byte("event: ")):
			event = bytes.Equal(bytes.TrimRight(line, "\n"), wanted)
		case event && bytes.HasPrefix(line, []byte("data: ")):
			at := time.Now()
			if i := bytes.LastIndex(line, subjectKey); i >= 0 { // the envelope's subject follows its data
				rest := line[i+len(subjectKey):]
				if j := bytes.IndexByte(rest, '"'); j >= 0 {
					seen(string(rest[:j]), at)
				}
			}
			event = false
		}
	}
}

// readLongLine reads the rest of a line longer than the reader's buffer, onto start.
func readLongLine(r *bufio.Reader, start []byte) ([]byte, error) {
	line := append([]byte(nil), start...)
	for {
		more, err := r.ReadSlice('\n')
		line = append(line, more...)
		if err != bufio.ErrBufferFull {
			return line, err
		}
	}
}
