package backup

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"
	"time"
)

// Store keeps backup objects under slash-separated names. Objects are
// written once: Put refuses a name that exists, so a backup never
// replaces what an earlier one wrote, and an object's name is the only
// way to reach it.
type Store interface {
	// Put writes an object of size bytes from r. A name that exists is
	// an error wrapping fs.ErrExist.
	Put(ctx context.Context, name string, r io.Reader, size int64) error
	// Get opens an object; a missing one is an error wrapping
	// fs.ErrNotExist.
	Get(ctx context.Context, name string) (io.ReadCloser, error)
	// List returns the names under prefix, in lexical order.
	List(ctx context.Context, prefix string) ([]string, error)
	// Lock says how the store keeps objects from deletion.
	Lock() Lock
	// String names the destination for messages (never a credential).
	String() string
}

// Lock is how a store keeps its objects from being deleted or replaced.
type Lock struct {
	// Mode is "COMPLIANCE" when every object is written with an S3
	// Object Lock retention in compliance mode, which no account, root
	// included, can shorten or remove; empty otherwise.
	Mode string
	// Retention is how long after its upload each object is locked.
	Retention time.Duration
	// Missing says why objects are not locked, when Mode is empty.
	Missing string
}

// DefaultRetention is the Object Lock retention of backup objects: six
// years and a day, counted generously (six years hold at most two leap
// days), so an object outlives HIPAA's six-year documentation retention
// (45 CFR 164.316(b)(2)(i)) whatever day it was written.
const DefaultRetention = (6*365 + 2 + 1) * 24 * time.Hour

// StoreOptions configure Open.
type StoreOptions struct {
	// S3 configures an s3:// destination.
	S3 S3Options
}

// Open opens a destination: "s3://bucket/prefix" for S3-compatible object
// storage, anything else a local directory.
func Open(ctx context.Context, dest string, opt StoreOptions) (Store, error) {
	if rest, ok := strings.CutPrefix(dest, "s3://"); ok {
		bucket, prefix, _ := strings.Cut(rest, "/")
		if bucket == "" {
			return nil, fmt.Errorf("backup: %s: no bucket (want s3://bucket/prefix)", dest)
		}
		return OpenS3(ctx, bucket, prefix, opt.S3)
	}
	if strings.Contains(dest, "://") {
		return nil, fmt.Errorf("backup: %s: a destination is a directory or s3://bucket/prefix", dest)
	}
	return OpenDir(dest)
}

// checkName refuses an object name that could leave the store's root or
// that two stores would spell differently.
func checkName(name string) error {
	if name == "" || strings.HasPrefix(name, "/") || strings.HasSuffix(name, "/") {
		return fmt.Errorf("backup: bad object name %q", name)
	}
	for _, part := range strings.Split(name, "/") {
		if part == "" || part == "." || part == ".." || strings.HasPrefix(part, ".") {
			return fmt.Errorf("backup: bad object name %q", name)
		}
	}
	return nil
}

// missing reports whether err is an object that does not exist.
func missing(err error) bool { return errors.Is(err, fs.ErrNotExist) }
