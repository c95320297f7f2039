package backup

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// S3Options configure an S3-compatible destination.
type S3Options struct {
	// Endpoint is the server, "host:port" or an http(s) URL; empty means
	// $VIGIL_S3_ENDPOINT, then s3.amazonaws.com. A bare host:port is
	// reached over HTTPS.
	Endpoint string
	// Region defaults to $AWS_REGION, then the server's answer.
	Region string
	// Retention is the Object Lock retention of each object (default
	// DefaultRetention). It applies only where the bucket has Object Lock.
	Retention time.Duration
	// Credentials default to the standard AWS environment variables
	// (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN).
	Credentials *credentials.Credentials
	// Transport is the HTTP transport (default: minio's), for a private CA.
	Transport http.RoundTripper
	// Now is the clock retention is counted from (default time.Now).
	Now func() time.Time
}

// S3 is a Store in an S3 bucket under a prefix. When the bucket has
// Object Lock enabled, every object is written with a COMPLIANCE
// retention; objects are written with If-None-Match: * so that an
// existing name is never replaced.
type S3 struct {
	client *minio.Client
	bucket string
	prefix string
	lock   Lock
	now    func() time.Time
}

// OpenS3 connects to a bucket and reads its Object Lock configuration.
func OpenS3(ctx context.Context, bucket, prefix string, opt S3Options) (*S3, error) {
	endpoint, secure, err := s3Endpoint(opt.Endpoint)
	if err != nil {
		return nil, err
	}
	creds := opt.Credentials
	if creds == nil {
		creds = credentials.NewEnvAWS()
	}
	region := opt.Region
	if region == "" {
		region = os.Getenv("AWS_REGION")
	}
	client, err := minio.New(endpoint, &minio.Options{Creds: creds, Secure: secure, Region: region, Transport: opt.Transport})
	if err != nil {
		return nil, fmt.Errorf("backup: s3://%s: %w", bucket, err)
	}
	s := &S3{client: client, bucket: bucket, prefix: strings.Trim(prefix, "/"), now: opt.Now}
	if s.prefix != "" {
		s.prefix += "/"
	}
	if s.now == nil {
		s.now = time.Now
	}
	ok, err := client.BucketExists(ctx, bucket)
	if err != nil {
		return nil, fmt.Errorf("backup: s3://%s at %s: %w", bucket, endpoint, err)
	}
	if !ok {
		return nil, fmt.Errorf("backup: s3://%s at %s: no such bucket", bucket, endpoint)
	}
	retention := opt.Retention
	if retention <= 0 {
		retention = DefaultRetention
	}
	s.lock = s.readLock(ctx, retention)
	return s, nil
}

// s3Endpoint splits an endpoint option into minio's host and TLS flag.
func s3Endpoint(e string) (host string, secure bool, err error) {
	if e == "" {
		e = os.Getenv("VIGIL_S3_ENDPOINT")
	}
	if e == "" {
		return "s3.amazonaws.com", true, nil
	}
	if !strings.Contains(e, "://") {
		return e, true, nil
	}
	u, err := url.Parse(e)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || strings.Trim(u.Path, "/") != "" {
		return "", false, fmt.Errorf("backup: S3 endpoint %q: want host:port or http(s)://host:port", e)
	}
	return u.Host, u.Scheme == "https", nil
}

// readLock asks the bucket whether it has Object Lock. A bucket without
// it (or a server that does not implement it) still takes backups, and
// the Lock says why they are not locked.
func (s *S3) readLock(ctx context.Context, retention time.Duration) Lock {
	enabled, _, _, _, err := s.client.GetObjectLockConfig(ctx, s.bucket)
	switch {
	case err != nil:
		r := minio.ToErrorResponse(err)
		why := r.Code
		if why == "" {
			why = err.Error()
		}
		return Lock{Missing: fmt.Sprintf("the bucket %s has no Object Lock configuration (%s): objects can be deleted", s.bucket, why)}
	case enabled != "Enabled":
		return Lock{Missing: fmt.Sprintf("Object Lock is not enabled on the bucket %s: objects can be deleted", s.bucket)}
	}
	return Lock{Mode: string(minio.Compliance), Retention: retention}
}

// Put implements Store.
func (s *S3) Put(ctx context.Context, name string, r io.Reader, size int64) error {
	if err := checkName(name); err != nil {
		return err
	}
	opts := minio.PutObjectOptions{ContentType: "application/octet-stream", DisableMultipart: size < 64<<20}
	opts.SetMatchETagExcept("*")
	if s.lock.Mode != "" {
		opts.Mode = minio.Compliance
		opts.RetainUntilDate = s.now().Add(s.lock.Retention).UTC().Truncate(time.Second)
	}
	if _, err := s.client.PutObject(ctx, s.bucket, s.prefix+name, r, size, opts); err != nil {
		if r := minio.ToErrorResponse(err); r.StatusCode == http.StatusPreconditionFailed {
			return fmt.Errorf("backup: %s already exists in %s: %w", name, s, fs.ErrExist)
		}
		return fmt.Errorf("backup: writing %s to %s: %w", name, s, err)
	}
	return nil
}

// Get implements Store.
func (s *S3) Get(ctx context.Context, name string) (io.ReadCloser, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	o, err := s.client.GetObject(ctx, s.bucket, s.prefix+name, minio.GetObjectOptions{})
	if err != nil {
		return nil, fmt.Errorf("backup: reading %s from %s: %w", name, s, err)
	}
	// GetObject is lazy: Stat makes the request, so a missing object is
	// reported here rather than at the first Read.
	if _, err := o.Stat(); err != nil {
		o.Close()
		if r := minio.ToErrorResponse(err); r.StatusCode == http.StatusNotFound || r.Code == "NoSuchKey" {
			return nil, fmt.Errorf("backup: %s is not in %s: %w", name, s, fs.ErrNotExist)
		}
		return nil, fmt.Errorf("backup: reading %s from %s: %w", name, s, err)
	}
	return o, nil
}

// List implements Store.
func (s *S3) List(ctx context.Context, prefix string) ([]string, error) {
	var names []string
	for o := range s.client.ListObjectsIter(ctx, s.bucket, minio.ListObjectsOptions{Prefix: s.prefix + prefix, Recursive: true}) {
		if o.Err != nil {
			return nil, fmt.Errorf("backup: listing %s: %w", s, o.Err)
		}
		names = append(names, strings.TrimPrefix(o.Key, s.prefix))
	}
	return names, nil
}

// Lock implements Store.
func (s *S3) Lock() Lock { return s.lock }

func (s *S3) String() string { return "s3://" + s.bucket + "/" + s.prefix }
