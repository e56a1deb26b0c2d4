package sqldbtest

import (
	"net"
	"sync"
	"testing"
)

// CutMode is how Proxy fails.
type CutMode int

const (
	Passing CutMode = iota // everything is forwarded
	// Refusing: live connections are closed and new ones closed as soon as they are accepted,
	// as when the database's process or host is down and the kernel answers.
	Refusing
	// Blackholing: nothing passes any more, and nothing fails: bytes on live connections are
	// held, and new connections are accepted but never answered, as behind a firewall or a
	// partition that drops packets. When the cut ends, new connections pass and idle ones
	// carry on, but a connection that had bytes in flight during the cut, and one accepted
	// during it, stays unanswered: a half-open connection, as when the database restarted
	// behind the partition, which only the client's own timeout gives up on.
	Blackholing
)

func (m CutMode) String() string {
	return [...]string{"passing", "refusing", "blackholing"}[m]
}

// Proxy forwards TCP connections to target and can cut them, to take a database away from
// a process under test without touching the database itself.
type Proxy struct {
	ln     net.Listener
	target string

	closed chan struct{} // closed when the test ends

	mu     sync.Mutex
	mode   CutMode
	passes chan struct{}     // closed while the mode is Passing; a blackhole's is never closed
	conns  map[net.Conn]bool // every open connection, both sides; true: held unanswered
}

// StartProxy forwards from a free loopback port to target until the test ends.
func StartProxy(tb testing.TB, target string) *Proxy {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	p := &Proxy{ln: ln, target: target, conns: map[net.Conn]bool{}, passes: make(chan struct{}), closed: make(chan struct{})}
	close(p.passes)
	go p.accept()
	tb.Cleanup(func() {
		ln.Close()
		close(p.closed)
		p.mu.Lock()
		defer p.mu.Unlock()
		for c := range p.conns {
			c.Close()
		}
	})
	return p
}

// Addr is the proxy's address, to dial instead of the target.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

func (p *Proxy) accept() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		mode := p.mode
		switch mode {
		case Refusing:
			c.Close()
		case Blackholing:
			p.conns[c] = true
		}
		p.mu.Unlock()
		if mode == Passing {
			go p.forward(c)
		}
	}
}

func (p *Proxy) forward(client net.Conn) {
	server, err := net.Dial("tcp", p.target)
	if err != nil {
		client.Close()
		return
	}
	p.mu.Lock()
	if p.mode != Passing { // cut while dialling
		p.mu.Unlock()
		client.Close()
		server.Close()
		return
	}
	p.conns[client], p.conns[server] = false, false
	p.mu.Unlock()
	go p.pipe(server, client)
	go p.pipe(client, server)
}

// pipe copies src to dst; while the proxy blackholes, what it read waits.
func (p *Proxy) pipe(dst, src net.Conn) {
	defer func() {
		dst.Close()
		src.Close()
		p.mu.Lock()
		delete(p.conns, dst)
		delete(p.conns, src)
		p.mu.Unlock()
	}()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			p.mu.Lock()
			passes := p.passes
			p.mu.Unlock()
			select {
			case <-passes:
			case <-p.closed:
				return
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// Cut fails every connection as mode says: Refusing closes live ones, Blackholing holds them.
func (p *Proxy) Cut(mode CutMode) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.mode == Passing {
		p.passes = make(chan struct{})
	}
	p.mode = mode
	if mode == Refusing {
		for c, held := range p.conns {
			if !held {
				c.Close()
				delete(p.conns, c)
			}
		}
	}
}

// Restore forwards again. What a blackhole holds stays held (see Blackholing).
func (p *Proxy) Restore() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.mode != Passing {
		p.passes = make(chan struct{})
		close(p.passes)
	}
	p.mode = Passing
}

// HeldConns is how many connections the proxy holds unanswered.
func (p *Proxy) HeldConns() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, held := range p.conns {
		if held {
			n++
		}
	}
	return n
}
