package e2e

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// testCert is a self-signed certificate made for one test: PEM files for
// the edge and a tls.Certificate for host pages.
type testCert struct {
	CertFile, KeyFile string
	TLS               tls.Certificate
}

// TestCert returns the cluster's certificate, making it on first use.
func (c *Cluster) TestCert() *testCert {
	c.t.Helper()
	if c.Cert != nil {
		return c.Cert
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		c.t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: "parley test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     []string{"localhost", "*.shop.test", "shop.test", "other.test"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		c.t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		c.t.Fatal(err)
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})
	dir := c.t.TempDir()
	tc := &testCert{CertFile: filepath.Join(dir, "cert.pem"), KeyFile: filepath.Join(dir, "key.pem")}
	if err := os.WriteFile(tc.CertFile, certPEM, 0o600); err != nil {
		c.t.Fatal(err)
	}
	if err := os.WriteFile(tc.KeyFile, keyPEM, 0o600); err != nil {
		c.t.Fatal(err)
	}
	if tc.TLS, err = tls.X509KeyPair(certPEM, keyPEM); err != nil {
		c.t.Fatal(err)
	}
	c.Cert = tc
	return tc
}
