package loadtest

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/doraflow/doraflow/simulate"
)

// requestTimeout bounds one delivery's post and answer.
const requestTimeout = 30 * time.Second

// sender posts deliveries over one kept-alive HTTP/1.1 connection of its
// own, written and read by net/http's own request writer and response
// reader. It measures the same requests as simulate.Sender (same headers,
// signed per request) without http.Transport's pool, whose two goroutines
// and channel hand-offs per connection cost the load generator about as
// much CPU as the collector's handler on the same two cores.
type sender struct {
	addr   string
	secret string
	url    string
	conn   net.Conn
	r      *bufio.Reader
	w      *bufio.Writer
}

// newSenders returns n senders for an http:// url; https (or a url that
// does not parse) is left to http.Client (nil, nil means that).
func newSenders(rawURL, secret string, n int) ([]*sender, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, err
	}
	if u.Scheme != "http" {
		return nil, nil
	}
	addr := u.Host
	if u.Port() == "" {
		addr = net.JoinHostPort(u.Hostname(), "80")
	}
	ss := make([]*sender, n)
	for i := range ss {
		ss[i] = &sender{addr: addr, secret: secret, url: rawURL}
	}
	return ss, nil
}

// post sends d and reads the answer; anything but a 2xx is an error. A
// broken or closed connection is dialled again for the next delivery.
func (s *sender) post(ctx context.Context, d simulate.Delivery) error {
	req, err := simulate.NewRequest(ctx, s.url, s.secret, d)
	if err != nil {
		return err
	}
	if s.conn == nil {
		var dialer net.Dialer
		c, err := dialer.DialContext(ctx, "tcp", s.addr)
		if err != nil {
			return fmt.Errorf("loadtest: connect %s: %w", s.addr, err)
		}
		s.conn, s.r, s.w = c, bufio.NewReader(c), bufio.NewWriter(c)
	}
	status, body, keep, err := s.roundTrip(req)
	if err != nil || !keep {
		s.conn.Close()
		s.conn = nil
	}
	if err != nil {
		return fmt.Errorf("loadtest: post %s: %w", d.ID, err)
	}
	if status >= 300 {
		return fmt.Errorf("loadtest: delivery %s (%s) answered %d: %s", d.ID, d.Event, status, bytes.TrimSpace(body))
	}
	return nil
}

func (s *sender) roundTrip(req *http.Request) (status int, body []byte, keep bool, err error) {
	if err := s.conn.SetDeadline(time.Now().Add(requestTimeout)); err != nil {
		return 0, nil, false, err
	}
	if err := req.Write(s.w); err != nil {
		return 0, nil, false, err
	}
	if err := s.w.Flush(); err != nil {
		return 0, nil, false, err
	}
	resp, err := http.ReadResponse(s.r, req)
	if err != nil {
		return 0, nil, false, err
	}
	body, err = io.ReadAll(io.LimitReader(resp.Body, 4096))
	if err == nil {
		// Whatever is left of a long answer must go before the next one.
		_, err = io.Copy(io.Discard, resp.Body)
	}
	resp.Body.Close()
	return resp.StatusCode, body, err == nil && !resp.Close, err
}
