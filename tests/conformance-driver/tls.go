package main

// A test certificate authority for the fake management API's mutual TLS: the harness creates
// the client and server Secrets a fixture's managementApiAuth.manual names (as a user would,
// e.g. with cert-manager), the operator builds its client from the client Secret, and the fake
// pod serves with a certificate of the same CA and requires the operator's client certificate.

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"time"
)

type testCA struct {
	cert    *x509.Certificate
	key     *ecdsa.PrivateKey
	certPEM []byte
	server  tls.Certificate
	pool    *x509.CertPool
	serial  int64
}

func newTestCA() (*testCA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "conformance test CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(48 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	ca := &testCA{cert: cert, key: key, certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), serial: 1}
	ca.pool = x509.NewCertPool()
	ca.pool.AddCert(cert)
	certPEM, keyPEM, err := ca.issue("fake management API", x509.ExtKeyUsageServerAuth)
	if err != nil {
		return nil, err
	}
	if ca.server, err = tls.X509KeyPair(certPEM, keyPEM); err != nil {
		return nil, err
	}
	return ca, nil
}

// issue returns a PEM certificate and PKCS#8 key signed by the CA.
func (ca *testCA) issue(cn string, usage x509.ExtKeyUsage) ([]byte, []byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	ca.serial++
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(ca.serial),
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(48 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{usage},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		return nil, nil, err
	}
	kd, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kd}), nil
}

// secret is a kubernetes.io/tls Secret with ca.crt, tls.crt and tls.key, the layout
// cass-operator's management API client requires.
func (ca *testCA) secret(name, namespace string, client bool) (map[string]any, error) {
	usage := x509.ExtKeyUsageServerAuth
	if client {
		usage = x509.ExtKeyUsageClientAuth
	}
	certPEM, keyPEM, err := ca.issue(name, usage)
	if err != nil {
		return nil, fmt.Errorf("certificate for %s/%s: %v", namespace, name, err)
	}
	return map[string]any{
		"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/tls",
		"metadata":   map[string]any{"name": name, "namespace": namespace},
		"stringData": map[string]any{"ca.crt": string(ca.certPEM), "tls.crt": string(certPEM), "tls.key": string(keyPEM)},
	}, nil
}

// serverConfig serves with the CA's server certificate and requires a client certificate the
// CA signed.
func (ca *testCA) serverConfig() *tls.Config {
	return &tls.Config{
		Certificates: []tls.Certificate{ca.server},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    ca.pool,
		MinVersion:   tls.VersionTLS12,
	}
}
