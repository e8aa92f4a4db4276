package outbox

import (
	"net/netip"
	"testing"
)

func TestAddressPolicyPermits(t *testing.T) {
	operator := newAddressPolicy([]netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("192.168.1.0/24"),
		netip.MustParsePrefix("::ffff:172.16.0.0/108"), netip.MustParsePrefix("fd00:1::/32")})
	tests := []struct {
		addr         string
		want         bool // by default
		wantOperator bool // with the operator's ranges
	}{
		// Public addresses.
		{"8.8.8.8", true, true},
		{"1.1.1.1", true, true},
		{"11.0.0.0", true, true},
		{"100.63.255.255", true, true},
		{"100.128.0.0", true, true},
		{"169.253.255.255", true, true},
		{"172.15.255.255", true, true},
		{"172.32.0.0", true, true},
		{"192.169.0.1", true, true},
		{"223.255.255.255", true, true},
		{"2606:4700:4700::1111", true, true},
		{"2001:4860:4860::8888", true, true},
		{"::ffff:8.8.8.8", true, true},
		{"64:ff9b::808:808", true, true},   // NAT64 of 8.8.8.8
		{"2002:808:808::1", true, true},    // 6to4 of 8.8.8.8
		{"fe00::1", true, true},            // just below fe80::/10
		{"fbff:ffff::1", true, true},       // just below fc00::/7
		{"2001:db8::1", true, true},        // documentation, but routable as far as we know
		{"100.64.0.0", false, false},       // CGNAT
		{"100.127.255.255", false, false},  // CGNAT
		{"127.0.0.1", false, false},        // loopback
		{"127.255.255.254", false, false},  // loopback
		{"0.0.0.0", false, false},          // unspecified
		{"0.1.2.3", false, false},          // this network
		{"10.1.2.3", false, true},          // private, allowed by the operator
		{"172.16.0.1", false, true},        // private, allowed by the operator's IPv4-mapped range
		{"172.31.255.255", false, true},    // private, allowed by the operator's IPv4-mapped range
		{"192.168.1.5", false, true},       // private, allowed by the operator
		{"192.168.2.5", false, false},      // private, outside the operator's range
		{"169.254.169.254", false, false},  // cloud metadata
		{"169.254.0.1", false, false},      // link-local
		{"224.0.0.1", false, false},        // multicast
		{"239.255.255.250", false, false},  // multicast
		{"240.0.0.1", false, false},        // reserved
		{"255.255.255.255", false, false},  // broadcast
		{"::1", false, false},              // loopback
		{"::", false, false},               // unspecified
		{"::127.0.0.1", false, false},      // IPv4-compatible loopback
		{"::ffff:127.0.0.1", false, false}, // IPv4-mapped loopback
		{"::ffff:7f00:1", false, false},    // the same, in hex
		{"::ffff:169.254.169.254", false, false},
		{"::ffff:10.0.0.1", false, true},
		{"::ffff:0.0.0.0", false, false},
		{"64:ff9b::7f00:1", false, false},    // NAT64 of 127.0.0.1
		{"64:ff9b::a9fe:a9fe", false, false}, // NAT64 of 169.254.169.254
		{"2002:7f00:1::1", false, false},     // 6to4 of 127.0.0.1
		{"2002:a9fe:a9fe::", false, false},   // 6to4 of 169.254.169.254
		{"fc00::1", false, false},            // unique local
		{"fd12:3456::1", false, false},       // unique local
		{"fd00:1::5", false, true},           // unique local, allowed by the operator
		{"fe80::1", false, false},            // link-local
		{"fe80::1%eth0", false, false},       // link-local with a zone
		{"febf::1", false, false},            // link-local
		{"fec0::1", false, false},            // site-local
		{"ff02::1", false, false},            // multicast
		{"ff05::2", false, false},            // multicast
	}
	for _, tc := range tests {
		t.Run(tc.addr, func(t *testing.T) {
			ip := netip.MustParseAddr(tc.addr)
			if got := newAddressPolicy(nil).permits(ip); got != tc.want {
				t.Errorf("permits(%s) = %t, want %t", ip, got, tc.want)
			}
			if got := operator.permits(ip); got != tc.wantOperator {
				t.Errorf("with the operator's ranges permits(%s) = %t, want %t", ip, got, tc.wantOperator)
			}
			// The dialer sees the address with a port.
			err := operator.control("tcp", netip.AddrPortFrom(ip, 443).String(), nil)
			if (err == nil) != tc.wantOperator {
				t.Errorf("control(%s) = %v, want allowed %t", ip, err, tc.wantOperator)
			}
		})
	}
	if err := operator.control("tcp", "localhost:80", nil); err == nil {
		t.Errorf("control accepted an unresolved name")
	}
}

func TestAddressPolicyCheckHost(t *testing.T) {
	loopback := newAddressPolicy([]netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")})
	tests := []struct {
		host         string
		want         bool // accepted by default
		wantLoopback bool // accepted with loopback allowed
	}{
		{"hooks.example.com", true, true},
		{"8.8.8.8", true, true},
		{"2606:4700::1", true, true},
		{"123.example.com", true, true}, // a number, but not the last label
		{"0x10.example.com", true, true},
		{"a1b2", true, true},
		{"example.c0m", true, true},
		{"127.0.0.1", false, true},
		{"127.0.0.2", false, true},
		{"0.0.0.0", false, false},
		{"::1", false, false},
		{"::", false, false},
		{"::ffff:127.0.0.1", false, true},
		{"::ffff:7f00:1", false, true},
		{"169.254.169.254", false, false},
		{"10.0.0.1", false, false},
		{"fe80::1%eth0", false, false},
		{"localhost", false, true},
		{"LocalHost", false, true},
		{"localhost.", false, true},
		{"api.localhost", false, true},
		// Numbers in forms resolvers read as IPv4 addresses: always refused.
		{"2130706433", false, false},   // decimal 127.0.0.1
		{"0x7f000001", false, false},   // hex
		{"0X7F000001", false, false},   // hex, upper case
		{"0x7f.0.0.1", false, false},   // hex first byte
		{"0177.0.0.1", false, false},   // octal
		{"017700000001", false, false}, // octal, whole
		{"127.1", false, false},        // short form
		{"127.0.1", false, false},      // short form
		{"127.0.0.1.", false, false},   // trailing dot
		{"0x", false, false},
		{"1.2.3.4.5", false, false},
		{"example.123", false, false},
	}
	for _, tc := range tests {
		t.Run(tc.host, func(t *testing.T) {
			if err := newAddressPolicy(nil).checkHost(tc.host); (err == nil) != tc.want {
				t.Errorf("checkHost(%q) = %v, want accepted %t", tc.host, err, tc.want)
			}
			if err := loopback.checkHost(tc.host); (err == nil) != tc.wantLoopback {
				t.Errorf("with loopback allowed checkHost(%q) = %v, want accepted %t", tc.host, err, tc.wantLoopback)
			}
		})
	}
}
