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
// The request head is encoded once per path, key and body length (a
// workload body keeps its length), and head and body go out in one
// writev.
type rawClient struct {
	addr string
	conn net.Conn
	r    *bufio.Reader

	head             []byte
	path, key        string
	length           int
	bufs, bufsBacker net.Buffers
}

func newRawClient(addr string) *rawClient { return &rawClient{addr: addr, length: -1} }

// post sends one request and returns the status code.
func (c *rawClient) post(path, key string, body []byte) (int, error) {
	if c.conn == nil {
		conn, err := net.DialTimeout("tcp", c.addr, 5*time.Second)
		if err != nil {
			return 0, err
		}
		c.conn, c.r = conn, bufio.NewReaderSize(conn, 8<<10)
	}
	if path != c.path || key != c.key || len(body) != c.length {
		c.path, c.key, c.length = path, key, len(body)
		c.head = fmt.Appendf(c.head[:0], "POST %s HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n",
			path, c.addr, key, len(body))
	}
	c.conn.SetDeadline(time.Now().Add(time.Minute))
	c.bufsBacker = append(c.bufsBacker[:0], c.head, body)
	c.bufs = c.bufsBacker // WriteTo consumes the slice it is given
	if _, err := c.bufs.WriteTo(c.conn); err != nil {
		c.close()
		return 0, err
	}
	status, err := c.readResponse()
	if err != nil {
		c.close()
	}
	return status, err
}

var contentLength = []byte("content-length:")

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
		if len(h) > len(contentLength) && bytes.EqualFold(h[:len(contentLength)], contentLength) {
			length, err = strconv.Atoi(string(bytes.TrimSpace(h[len(contentLength):])))
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
