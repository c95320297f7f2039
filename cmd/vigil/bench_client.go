package main

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"strconv"
	"time"
)

// rawClient is a minimal HTTP/1.1 keep-alive client for the load
// generator: it writes prepared requests and reads status, headers and a
// Content-Length body. In the same process as the server on two cores,
// net/http's client would take a large share of the CPU being measured.
type rawClient struct {
	addr string
	conn net.Conn
	r    *bufio.Reader
	buf  bytes.Buffer
}

func newRawClient(addr string) *rawClient { return &rawClient{addr: addr} }

// post sends one request and returns the status code.
func (c *rawClient) post(path, key string, body []byte) (int, error) {
	if c.conn == nil {
		conn, err := net.DialTimeout("tcp", c.addr, 5*time.Second)
		if err != nil {
			return 0, err
		}
		c.conn, c.r = conn, bufio.NewReaderSize(conn, 8<<10)
	}
	c.buf.Reset()
	fmt.Fprintf(&c.buf, "POST %s HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", path, c.addr, key, len(body))
	c.buf.Write(body)
	c.conn.SetDeadline(time.Now().Add(time.Minute))
	if _, err := c.conn.Write(c.buf.Bytes()); err != nil {
		c.close()
		return 0, err
	}
	status, err := c.readResponse()
	if err != nil {
		c.close()
	}
	return status, err
}

func (c *rawClient) readResponse() (int, error) {
	line, err := c.r.ReadSlice('\n')
	if err != nil {
		return 0, err
	}
	if len(line) < 12 {
		return 0, fmt.Errorf("bad status line %q", line)
	}
	status, err := strconv.Atoi(string(line[9:12]))
	if err != nil {
		return 0, err
	}
	length := -1
	for {
		h, err := c.r.ReadSlice('\n')
		if err != nil {
			return 0, err
		}
		if len(h) <= 2 {
			break
		}
		if bytes.HasPrefix(bytes.ToLower(h), []byte("content-length:")) {
			length, err = strconv.Atoi(string(bytes.TrimSpace(h[len("content-length:"):])))
			if err != nil {
				return 0, err
			}
		}
	}
	if length < 0 {
		return 0, fmt.Errorf("response without Content-Length")
	}
	if _, err := c.r.Discard(length); err != nil {
		return 0, err
	}
	return status, nil
}

func (c *rawClient) close() {
	if c.conn != nil {
		c.conn.Close()
		c.conn = nil
	}
}
