package simulate

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"time"
)

// Sign returns the X-Hub-Signature-256 value GitHub would send for body.
func Sign(secret string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// Sender posts deliveries to a collector's GitHub endpoint as GitHub does.
type Sender struct {
	URL    string // e.g. http://127.0.0.1:8080/webhooks/github
	Secret string
	Client *http.Client
}

// Send posts one delivery and returns the status code. A 503 (broker not
// reachable) is retried a few times, as GitHub's redelivery would.
func (s Sender) Send(ctx context.Context, d Delivery) (int, error) {
	client := s.Client
	if client == nil {
		client = &http.Client{Timeout: 30 * time.Second}
	}
	var status int
	for attempt := 0; attempt < 5; attempt++ {
		req, err := NewRequest(ctx, s.URL, s.Secret, d)
		if err != nil {
			return 0, err
		}
		resp, err := client.Do(req)
		if err != nil {
			return 0, fmt.Errorf("simulate: post %s: %w", d.ID, err)
		}
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		resp.Body.Close()
		status = resp.StatusCode
		if status < 300 {
			return status, nil
		}
		if status != http.StatusServiceUnavailable {
			return status, fmt.Errorf("simulate: delivery %s (%s) answered %d: %s", d.ID, d.Event, status, bytes.TrimSpace(body))
		}
		select {
		case <-ctx.Done():
			return status, ctx.Err()
		case <-time.After(time.Duration(200*(attempt+1)) * time.Millisecond):
		}
	}
	return status, fmt.Errorf("simulate: delivery %s still answered %d after retries", d.ID, status)
}

// NewRequest is the POST GitHub would send for d to url, signed with
// secret (unsigned when it is empty).
func NewRequest(ctx context.Context, url, secret string, d Delivery) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(d.Payload))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "GitHub-Hookshot/doraflow-simulate")
	req.Header.Set("X-GitHub-Event", d.Event)
	req.Header.Set("X-GitHub-Delivery", d.ID)
	req.Header.Set("X-GitHub-Hook-ID", "1")
	if secret != "" {
		req.Header.Set("X-Hub-Signature-256", Sign(secret, d.Payload))
	}
	return req, nil
}

// SendAll posts deliveries one after another, in order; progress is called
// after each one.
func (s Sender) SendAll(ctx context.Context, ds []Delivery, progress func(done int)) error {
	for i, d := range ds {
		if _, err := s.Send(ctx, d); err != nil {
			return err
		}
		if progress != nil {
			progress(i + 1)
		}
	}
	return nil
}
