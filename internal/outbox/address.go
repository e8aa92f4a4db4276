package outbox

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"strings"
	"syscall"
	"time"
)

// A webhook URL is chosen by an institution's admin, but the request to it
// is made by the server, from inside the operator's network. Left alone,
// that would let any admin make the server POST to its own API, to the
// cloud's metadata service or to anything else on the private network, and
// read the answers back from the delivery log. So deliveries connect only
// to public addresses: every address a delivery connects to — after DNS,
// on every redirect, on every retry — is checked in the dialer, the one
// place no DNS trick (rebinding, a name that resolves to 127.0.0.1)
// gets around. Operators whose receivers are on their own network allow
// those ranges explicitly (WebhookOptions.AllowPrefixes, `serve
// --webhook-allow-cidr`).

// errAddressNotAllowed is why the dialer refuses a connection.
var errAddressNotAllowed = errors.New("address not allowed")

// refusedPrefixes are the ranges deliveries do not connect to unless the
// operator allows them: none of them holds a receiver on the public
// internet, and each can reach something of the operator's.
var refusedPrefixes = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),      // "this network"; 0.0.0.0 reaches the local host
	netip.MustParsePrefix("10.0.0.0/8"),     // private (RFC 1918)
	netip.MustParsePrefix("100.64.0.0/10"),  // carrier-grade NAT (RFC 6598)
	netip.MustParsePrefix("127.0.0.0/8"),    // loopback
	netip.MustParsePrefix("169.254.0.0/16"), // link-local, with the cloud metadata service 169.254.169.254
	netip.MustParsePrefix("172.16.0.0/12"),  // private (RFC 1918)
	netip.MustParsePrefix("192.168.0.0/16"), // private (RFC 1918)
	netip.MustParsePrefix("224.0.0.0/4"),    // multicast
	netip.MustParsePrefix("240.0.0.0/4"),    // reserved, with the broadcast address 255.255.255.255
	netip.MustParsePrefix("::/96"),          // unspecified, loopback and the deprecated IPv4-compatible addresses
	netip.MustParsePrefix("fc00::/7"),       // unique local (private)
	netip.MustParsePrefix("fe80::/10"),      // link-local
	netip.MustParsePrefix("fec0::/10"),      // site-local (deprecated, private)
	netip.MustParsePrefix("ff00::/8"),       // multicast
}

// Prefixes of IPv6 addresses that carry an IPv4 address: through a NAT64
// gateway or a 6to4 relay they reach that IPv4 address, so it is checked.
var (
	nat64Prefix = netip.MustParsePrefix("64:ff9b::/96") // the IPv4 address in the last 4 bytes
	sixToFour   = netip.MustParsePrefix("2002::/16")    // the IPv4 address in bytes 2 to 5
)

// addressPolicy decides which addresses deliveries may connect to.
type addressPolicy struct {
	allow []netip.Prefix // ranges the operator allows, refused or not
}

// newAddressPolicy returns the policy allowing the ranges in allow besides
// the public addresses.
func newAddressPolicy(allow []netip.Prefix) addressPolicy {
	p := addressPolicy{}
	for _, a := range allow {
		// An IPv4-mapped prefix (::ffff:10.0.0.0/104) means its IPv4 range:
		// addresses are checked unmapped.
		if a.Addr().Is4In6() && a.Bits() >= 96 {
			a = netip.PrefixFrom(a.Addr().Unmap(), a.Bits()-96)
		}
		p.allow = append(p.allow, a.Masked())
	}
	return p
}

// permits reports whether a delivery may connect to ip.
func (p addressPolicy) permits(ip netip.Addr) bool {
	if !ip.IsValid() || ip.Zone() != "" {
		return false // a zone names an interface: link-local, never public
	}
	ip = ip.Unmap() // ::ffff:127.0.0.1 is 127.0.0.1
	for _, a := range p.allow {
		if a.Contains(ip) {
			return true
		}
	}
	return public(ip)
}

// public reports whether ip (unmapped, without a zone) is outside every
// refused range, counting the IPv4 address an IPv6 one carries.
func public(ip netip.Addr) bool {
	for _, r := range refusedPrefixes {
		if r.Contains(ip) {
			return false
		}
	}
	b := ip.As16()
	switch {
	case nat64Prefix.Contains(ip):
		return public(netip.AddrFrom4([4]byte(b[12:16])))
	case sixToFour.Contains(ip):
		return public(netip.AddrFrom4([4]byte(b[2:6])))
	}
	return true
}

// control is the net.Dialer's Control: it runs for every address a
// connection is about to be made to, resolved, and refuses those the
// policy does not permit.
func (p addressPolicy) control(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil || !p.permits(ap.Addr()) {
		return errAddressNotAllowed
	}
	return nil
}

// transport returns the transport deliveries are sent with: it connects
// only to addresses the policy permits, and directly — through a proxy the
// dialer would check the proxy's address instead of the receiver's.
func (p addressPolicy) transport() *http.Transport {
	dialer := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second, Control: p.control}
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.Proxy = nil
	t.DialContext = dialer.DialContext
	t.DialTLSContext = nil
	return t
}

// checkHost refuses a webhook URL's host when it is an IP address the
// policy does not permit, a loopback name, or a number in a form other than
// dotted-quad IPv4 ("2130706433", "0x7f.1", "0177.0.0.1", "127.1"): resolvers
// and browsers read those as IPv4 addresses in ways that differ, so they
// are never accepted. Names are checked again, resolved, at delivery.
func (p addressPolicy) checkHost(host string) error {
	host = strings.ToLower(host)
	if ip, err := netip.ParseAddr(host); err == nil {
		if !p.permits(ip) {
			return fieldErr("url", "url host %s is a loopback, private, link-local, multicast or reserved address, "+
				"which webhooks may not be sent to unless the operator allows its range", host)
		}
		return nil
	}
	name := strings.TrimSuffix(host, ".")
	if name == "localhost" || strings.HasSuffix(name, ".localhost") {
		if !p.permits(netip.IPv6Loopback()) && !p.permits(netip.AddrFrom4([4]byte{127, 0, 0, 1})) {
			return fieldErr("url", "url host %s is this server (loopback), which webhooks may not be sent to "+
				"unless the operator allows its range", host)
		}
		return nil
	}
	labels := strings.Split(name, ".")
	if last := labels[len(labels)-1]; numeric(last) {
		return fieldErr("url", "url host %s is a number in an unusual form: write an IP address as a.b.c.d or [IPv6], "+
			"or use a DNS name", host)
	}
	return nil
}

// numeric reports whether a host's label is a decimal, octal or hexadecimal
// number: a host ending in one is read as an IPv4 address, whatever the rest
// (no top-level domain is a number).
func numeric(label string) bool {
	digits := label
	if rest, ok := strings.CutPrefix(label, "0x"); ok {
		digits = rest
		if digits == "" {
			return true // "0x" alone reads as 0
		}
		return strings.Trim(digits, "0123456789abcdef") == ""
	}
	return digits != "" && strings.Trim(digits, "0123456789") == ""
}

// attemptError returns why an attempt failed as one of a few fixed phrases,
// for the delivery log: never the receiver's answer, nor the dial error's
// text with the addresses and ports it tried, which would make the log a
// window on the network the server sits in.
func attemptError(err error) string {
	var dnsErr *net.DNSError
	var netErr net.Error
	var unknownCA x509.UnknownAuthorityError
	var badHost x509.HostnameError
	var badCert x509.CertificateInvalidError
	var recordErr tls.RecordHeaderError
	var alert tls.AlertError
	switch {
	case err == nil:
		return ""
	case errors.As(err, new(statusError)):
		return err.Error()
	case errors.Is(err, errAddressNotAllowed):
		return "address not allowed"
	case errors.As(err, &dnsErr):
		if dnsErr.IsNotFound {
			return "no such host"
		}
		return "dns lookup failed"
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded),
		errors.As(err, &netErr) && netErr.Timeout():
		return "timeout"
	case errors.Is(err, context.Canceled):
		return "canceled"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE), errors.Is(err, io.EOF),
		errors.Is(err, io.ErrUnexpectedEOF):
		return "connection closed"
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return "unreachable"
	case errors.As(err, &unknownCA):
		return "tls: certificate signed by an unknown authority"
	case errors.As(err, &badHost):
		return "tls: certificate not valid for the host"
	case errors.As(err, &badCert):
		if badCert.Reason == x509.Expired {
			return "tls: certificate expired or not yet valid"
		}
		return "tls: certificate invalid"
	case errors.As(err, &recordErr), errors.As(err, &alert), strings.Contains(err.Error(), "tls:"):
		return "tls"
	}
	return "request failed"
}

// statusError is why an attempt that got an answer failed: its status.
type statusError int

func (e statusError) Error() string { return fmt.Sprintf("http %d", int(e)) }
