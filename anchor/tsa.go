package anchor

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/digitorus/pkcs7"
	"github.com/digitorus/timestamp"
	"github.com/vigilhq/vigil"
)

// What is time-stamped is SHA-256 of the checkpoint body (the C2SP
// tlog-checkpoint text: origin, size and root, without the signature),
// so a verifier recomputes the imprint from those three values alone.

// maxAnswer bounds what a witness or TSA may answer.
const maxAnswer = 1 << 20

// TSA is an RFC 3161 time-stamp authority reached over HTTP (RFC 3161
// §3.4: application/timestamp-query, application/timestamp-reply).
type TSA struct {
	URL    string
	Client *http.Client
	// Roots, when set, are the CAs the TSA's certificate must chain to;
	// without them a token is checked against its own certificate only.
	Roots *x509.CertPool
}

// NewTSA returns the TSA at rawURL (http or https).
func NewTSA(rawURL string, client *http.Client, roots *x509.CertPool) (*TSA, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("anchor: TSA URL %q is not an http(s) URL", rawURL)
	}
	return &TSA{URL: rawURL, Client: client, Roots: roots}, nil
}

func (t *TSA) Chain() string { return "rfc3161:" + t.URL }
func (t *TSA) Kind() string  { return vigil.AnchorRFC3161 }

// Witness asks the TSA to time-stamp the checkpoint and returns its token,
// checked: granted, over this checkpoint's body, with the nonce sent, and
// signed by a time-stamping certificate (chaining to Roots when set).
func (t *TSA) Witness(ctx context.Context, req Request) (Evidence, error) {
	nonce, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 64))
	if err != nil {
		return Evidence{}, err
	}
	digest := sha256.Sum256(req.Body)
	query, err := (&timestamp.Request{HashAlgorithm: crypto.SHA256, HashedMessage: digest[:], Certificates: true, Nonce: nonce}).Marshal()
	if err != nil {
		return Evidence{}, err
	}
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, t.URL, bytes.NewReader(query))
	if err != nil {
		return Evidence{}, err
	}
	hr.Header.Set("Content-Type", "application/timestamp-query")
	resp, err := t.Client.Do(hr)
	if err != nil {
		return Evidence{}, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return Evidence{}, err
	}
	if resp.StatusCode != http.StatusOK {
		return Evidence{}, answerError(resp.StatusCode, body)
	}
	ts, err := timestamp.ParseResponse(body)
	if err != nil {
		// A rejection (PKIStatus) or a malformed answer: the TSA said no.
		return Evidence{}, &RefusedError{Status: resp.StatusCode, Msg: "the TSA's answer: " + err.Error()}
	}
	if ts.Nonce == nil || ts.Nonce.Cmp(nonce) != 0 {
		return Evidence{}, &RefusedError{Status: resp.StatusCode, Msg: "the TSA's token does not carry the request's nonce"}
	}
	checked, err := CheckTimestamp(ts.RawToken, req.Body, t.Roots)
	if err != nil {
		return Evidence{}, &RefusedError{Status: resp.StatusCode, Msg: err.Error()}
	}
	return Evidence{Bytes: ts.RawToken, Time: checked.Time, Trusted: checked.Trusted}, nil
}

// Checked is what a verified piece of evidence attests.
type Checked struct {
	Time time.Time
	// Trusted reports that the signer was checked against a trust anchor
	// the verifier was given (a TSA CA, a witness key), not only against
	// what the evidence carries.
	Trusted bool
}

// CheckTimestamp verifies an RFC 3161 time-stamp token (DER) over a
// checkpoint body: its signature by the certificate it carries, a
// message imprint that is SHA-256 of body, a signer certificate for time
// stamping, and, when roots are given, a chain from that certificate to
// one of them valid at the time stamped.
func CheckTimestamp(token, body []byte, roots *x509.CertPool) (Checked, error) {
	ts, err := timestamp.Parse(token)
	if err != nil {
		return Checked{}, fmt.Errorf("anchor: not a valid time-stamp token: %w", err)
	}
	if len(ts.Certificates) == 0 {
		return Checked{}, errors.New("anchor: the time-stamp token carries no certificate, so its signature cannot be checked")
	}
	digest := sha256.Sum256(body)
	if ts.HashAlgorithm != crypto.SHA256 || !bytes.Equal(ts.HashedMessage, digest[:]) {
		return Checked{}, errors.New("anchor: the time-stamp token is not over this checkpoint (its message imprint differs)")
	}
	p7, err := pkcs7.Parse(token)
	if err != nil {
		return Checked{}, fmt.Errorf("anchor: not a valid time-stamp token: %w", err)
	}
	signer := p7.GetOnlySigner()
	if signer == nil {
		return Checked{}, errors.New("anchor: the time-stamp token has no single signer")
	}
	if !slices.Contains(signer.ExtKeyUsage, x509.ExtKeyUsageTimeStamping) {
		return Checked{}, errors.New("anchor: the token's signer certificate is not for time stamping")
	}
	c := Checked{Time: ts.Time.UTC()}
	if roots != nil {
		intermediates := x509.NewCertPool()
		for _, cert := range p7.Certificates {
			intermediates.AddCert(cert)
		}
		if err := p7.VerifyWithOpts(x509.VerifyOptions{Roots: roots, Intermediates: intermediates,
			KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageTimeStamping}, CurrentTime: ts.Time}); err != nil {
			return Checked{}, fmt.Errorf("anchor: the TSA's certificate does not chain to a trusted CA: %w", err)
		}
		c.Trusted = true
	}
	return c, nil
}
