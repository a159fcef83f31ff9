package main

import (
	"context"
	"encoding/binary"
	"io"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

// stubDNS is a DNS server on one port of 127.0.0.1, over UDP and TCP,
// whose zone is chains: each name's CNAME target, and an address for a
// name with none. A name in truncate is answered over UDP with the TC bit
// and no records, so that the resolver asks again over TCP.
type stubDNS struct {
	chains   map[string]string
	truncate map[string]bool
	udp      net.PacketConn
	tcp      net.Listener
}

func startStubDNS(t *testing.T, chains map[string]string, truncate map[string]bool) *stubDNS {
	t.Helper()
	s := &stubDNS{chains: chains, truncate: truncate}
	// The same port for both: the resolver asks one address.
	for try := 0; s.tcp == nil; try++ {
		udp, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Skipf("no UDP on 127.0.0.1: %v", err)
		}
		tcp, err := net.Listen("tcp", udp.LocalAddr().String())
		if err != nil {
			udp.Close()
			if try == 20 {
				t.Fatalf("no port free for both UDP and TCP: %v", err)
			}
			continue
		}
		s.udp, s.tcp = udp, tcp
	}
	t.Cleanup(func() { s.udp.Close(); s.tcp.Close() })
	go func() {
		buf := make([]byte, 1500)
		for {
			n, addr, err := s.udp.ReadFrom(buf)
			if err != nil {
				return
			}
			if out := s.answer(buf[:n], true); out != nil {
				s.udp.WriteTo(out, addr)
			}
		}
	}()
	go func() {
		for {
			c, err := s.tcp.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				for {
					var size [2]byte
					if _, err := io.ReadFull(c, size[:]); err != nil {
						return
					}
					q := make([]byte, binary.BigEndian.Uint16(size[:]))
					if _, err := io.ReadFull(c, q); err != nil {
						return
					}
					out := s.answer(q, false)
					if out == nil {
						return
					}
					// Written a byte at a time: the tap must put a
					// message back together from reads of any size.
					framed := binary.BigEndian.AppendUint16(nil, uint16(len(out)))
					for _, b := range append(framed, out...) {
						if _, err := c.Write([]byte{b}); err != nil {
							return
						}
					}
				}
			}()
		}
	}()
	return s
}

// answer builds the answer to query: the chain from the name asked for
// (all of it for an A query, its first record for a CNAME one), then an
// address for an A query.
func (s *stubDNS) answer(query []byte, udp bool) []byte {
	var p dnsmessage.Parser
	h, err := p.Start(query)
	if err != nil {
		return nil
	}
	q, err := p.Question()
	if err != nil {
		return nil
	}
	name := dnsName(q.Name.String())
	rh := dnsmessage.Header{ID: h.ID, Response: true, RecursionDesired: h.RecursionDesired, RecursionAvailable: true, Authoritative: true}
	if udp && s.truncate[name] {
		rh.Truncated = true
	}
	b := dnsmessage.NewBuilder(nil, rh)
	b.EnableCompression()
	b.StartQuestions()
	b.Question(q)
	b.StartAnswers()
	if !rh.Truncated {
		for hops := 0; hops < 32; hops++ {
			target, ok := s.chains[name]
			if !ok {
				break
			}
			b.CNAMEResource(dnsmessage.ResourceHeader{Name: dnsmessage.MustNewName(name + "."), Class: dnsmessage.ClassINET, TTL: 60},
				dnsmessage.CNAMEResource{CNAME: dnsmessage.MustNewName(target + ".")})
			if q.Type == dnsmessage.TypeCNAME {
				break
			}
			name = target
		}
		if q.Type == dnsmessage.TypeA {
			b.AResource(dnsmessage.ResourceHeader{Name: dnsmessage.MustNewName(name + "."), Class: dnsmessage.ClassINET, TTL: 60},
				dnsmessage.AResource{A: [4]byte{192, 0, 2, 1}})
		}
	}
	out, err := b.Finish()
	if err != nil {
		return nil
	}
	return out
}

// TestResolverChain: the chain is read off the answers Go's resolver
// receives, over UDP and, for an answer too large for it, over TCP; a
// name with no CNAME has none, and the lookup's error is returned.
func TestResolverChain(t *testing.T) {
	s := startStubDNS(t, map[string]string{
		"metrics.shop.example":       "shop.eulerian.net",
		"shop.eulerian.net":          "eulerian.edge.example",
		"big.shop.example":           "shop.example.sc.omtrdc.net",
		"shop.example.sc.omtrdc.net": "d2abcdef9.cloudfront.net",
		"one.shop.example":           "shop.eulerian.net",
	}, map[string]bool{"big.shop.example": true})
	old := dnsServer
	dnsServer = s.udp.LocalAddr().String()
	t.Cleanup(func() { dnsServer = old })
	for _, tc := range []struct {
		host string
		want []string
	}{
		{"metrics.shop.example", []string{"shop.eulerian.net", "eulerian.edge.example"}},
		{"big.shop.example", []string{"shop.example.sc.omtrdc.net", "d2abcdef9.cloudfront.net"}},
		{"one.shop.example", []string{"shop.eulerian.net", "eulerian.edge.example"}},
		{"img.shop.example", nil},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		got, err := resolverChain(ctx, tc.host)
		cancel()
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("%s: %q %v, want %q", tc.host, got, err, tc.want)
		}
	}
	// The whole scan's path: the host is reported as the tracker in the
	// middle of its chain.
	old2 := lookupChain
	lookupChain = resolverChain
	t.Cleanup(func() { lookupChain = old2 })
	var c cnameCache
	if got := c.chain("Metrics.Shop.Example"); !slices.Equal(got, []string{"shop.eulerian.net", "eulerian.edge.example"}) {
		t.Errorf("through the cache: %q", got)
	}
	// A server that does not answer: the lookup fails, and no chain.
	dead, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer dead.Close()
	dnsServer = dead.LocalAddr().String()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if got, err := resolverChain(ctx, "metrics.shop.example"); err == nil || got != nil {
		t.Errorf("no answer: %q %v", got, err)
	}
}

// TestCNAMERecords: only answers to the queries written, with success,
// are read; the chain is followed from the host alone, stops at a loop,
// and is bounded.
func TestCNAMERecords(t *testing.T) {
	msg := func(id uint16, response bool, rcode dnsmessage.RCode, records ...[2]string) []byte {
		b := dnsmessage.NewBuilder(nil, dnsmessage.Header{ID: id, Response: response, RCode: rcode})
		b.StartQuestions()
		b.Question(dnsmessage.Question{Name: dnsmessage.MustNewName("a.example."), Type: dnsmessage.TypeA, Class: dnsmessage.ClassINET})
		b.StartAnswers()
		for _, r := range records {
			b.CNAMEResource(dnsmessage.ResourceHeader{Name: dnsmessage.MustNewName(r[0] + "."), Class: dnsmessage.ClassINET},
				dnsmessage.CNAMEResource{CNAME: dnsmessage.MustNewName(r[1] + ".")})
		}
		out, err := b.Finish()
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	ids := map[uint16]bool{7: true}
	for name, m := range map[string][]byte{
		"another query's id": msg(8, true, dnsmessage.RCodeSuccess, [2]string{"a.example", "tracker.example"}),
		"a query":            msg(7, false, dnsmessage.RCodeSuccess, [2]string{"a.example", "tracker.example"}),
		"an error":           msg(7, true, dnsmessage.RCodeServerFailure, [2]string{"a.example", "tracker.example"}),
		"cut short":          msg(7, true, dnsmessage.RCodeSuccess, [2]string{"a.example", "tracker.example"})[:40],
		"not DNS":            []byte("HTTP/1.1 200 OK\r\n"),
	} {
		var r cnameRecords
		r.add(m, ids)
		if got := r.chain("a.example"); got != nil {
			t.Errorf("%s: %q", name, got)
		}
	}
	var r cnameRecords
	r.add(msg(7, true, dnsmessage.RCodeSuccess,
		[2]string{"other.example", "x.example"}, [2]string{"A.Example", "B.example"}, [2]string{"b.example", "c.example"}, [2]string{"c.example", "a.example"}), ids)
	if got := r.chain("a.example"); !slices.Equal(got, []string{"b.example", "c.example"}) {
		t.Errorf("a loop: %q", got)
	}
	var long [][2]string
	for i := range 40 {
		long = append(long, [2]string{"n" + string(rune('a'+i%26)) + strings.Repeat("x", i/26) + ".example", "n" + string(rune('a'+(i+1)%26)) + strings.Repeat("x", (i+1)/26) + ".example"})
	}
	var rl cnameRecords
	rl.add(msg(7, true, dnsmessage.RCodeSuccess, long...), ids)
	if got := rl.chain("na.example"); len(got) != maxChain {
		t.Errorf("a chain of 40: %d names, want %d", len(got), maxChain)
	}
}
