package etcdtest

import (
	"net"
	"sync"
	"sync/atomic"
)

// Proxy is a TCP forwarder placed between clients and the etcd server, in
// the manner of etcd's integration bridge, so that tests can cut or stall
// connections without touching the server.
type Proxy struct {
	ln      net.Listener
	backend string

	mu        sync.Mutex
	conns     map[*proxyConn]struct{}
	blackhole bool
	refuse    bool
	closed    bool

	wg sync.WaitGroup
}

type proxyConn struct {
	client, server net.Conn
	frozen         atomic.Bool // drops every byte for good (Freeze)
}

func (c *proxyConn) close() {
	c.client.Close()
	c.server.Close()
}

// NewProxy listens on a free loopback port and forwards every connection
// to backend (host:port). Close stops it.
func NewProxy(backend string) (*Proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &Proxy{ln: ln, backend: backend, conns: make(map[*proxyConn]struct{})}
	p.wg.Add(1)
	go p.accept()
	return p, nil
}

// Addr returns the host:port clients should dial.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return // listener closed
		}
		p.mu.Lock()
		refuse := p.refuse
		p.mu.Unlock()
		if refuse {
			c.Close()
			continue
		}
		s, err := net.Dial("tcp", p.backend)
		if err != nil {
			c.Close() // backend down: the client sees a reset, as it would
			continue
		}
		pc := &proxyConn{client: c, server: s}
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			pc.close()
			return
		}
		p.conns[pc] = struct{}{}
		p.mu.Unlock()
		p.wg.Add(2)
		go p.pipe(pc, c, s)
		go p.pipe(pc, s, c)
	}
}

// pipe copies src to dst until either side fails, dropping the bytes while
// the proxy is blackholed.
func (p *Proxy) pipe(pc *proxyConn, dst, src net.Conn) {
	defer p.wg.Done()
	defer p.forget(pc)
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 && !p.blackholed() && !pc.frozen.Load() {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			// EOF included: half-close is not worth modelling, so one
			// side ending ends both directions.
			return
		}
	}
}

func (p *Proxy) forget(pc *proxyConn) {
	pc.close()
	p.mu.Lock()
	delete(p.conns, pc)
	p.mu.Unlock()
}

func (p *Proxy) blackholed() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.blackhole
}

// DropConnections closes every connection open through the proxy; new
// ones are accepted as before. The client sees a reset and reconnects.
func (p *Proxy) DropConnections() {
	p.mu.Lock()
	conns := make([]*proxyConn, 0, len(p.conns))
	for pc := range p.conns {
		conns = append(conns, pc)
	}
	p.mu.Unlock()
	for _, pc := range conns {
		pc.close()
	}
}

// Freeze makes every connection open now drop every byte in both
// directions for good, without a reset, as a peer that died or a path
// that went dead does; connections made later forward as before, so a
// client that gives up on a dead connection and dials again gets
// through.
func (p *Proxy) Freeze() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for pc := range p.conns {
		pc.frozen.Store(true)
	}
}

// Blackhole keeps connections open but silently drops every byte in both
// directions, like a network partition that sends no resets.
func (p *Proxy) Blackhole() {
	p.mu.Lock()
	p.blackhole = true
	p.mu.Unlock()
}

// Unblackhole forwards bytes again.
func (p *Proxy) Unblackhole() {
	p.mu.Lock()
	p.blackhole = false
	p.mu.Unlock()
}

// Refuse closes every connection and every new one at once, as a host
// that is down would; Accept undoes it.
func (p *Proxy) Refuse() {
	p.mu.Lock()
	p.refuse = true
	p.mu.Unlock()
	p.DropConnections()
}

// Accept forwards new connections again after Refuse.
func (p *Proxy) Accept() {
	p.mu.Lock()
	p.refuse = false
	p.mu.Unlock()
}

// Close stops accepting, closes every connection and waits for the
// forwarding goroutines to end.
func (p *Proxy) Close() {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	p.ln.Close()
	p.DropConnections()
	p.wg.Wait()
}
