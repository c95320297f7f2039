package backup_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/vigilhq/vigil/backup"
)

func TestS3ObjectLockKeepsObjects(t *testing.T) {
	ctx := context.Background()
	v := startVersity(t)
	v.bucket(t, "locked", true)
	v.env(t)
	s, err := backup.Open(ctx, "s3://locked/vigil/prod", backup.StoreOptions{S3: backup.S3Options{Retention: time.Hour}})
	if err != nil {
		t.Fatal(err)
	}
	if l := s.Lock(); l.Mode != "COMPLIANCE" || l.Retention != time.Hour {
		t.Fatalf("lock = %+v, want COMPLIANCE for 1h", l)
	}
	body := []byte("sealed")
	if err := s.Put(ctx, "a/b", bytes.NewReader(body), int64(len(body))); err != nil {
		t.Fatal(err)
	}
	c := v.client(t)
	st, err := c.StatObject(ctx, "locked", "vigil/prod/a/b", minio.StatObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// The retention as the server reports it on the object (versitygw's
	// GetObjectRetention answer is not the XML minio-go parses).
	mode := st.Metadata.Get("X-Amz-Object-Lock-Mode")
	until, err := time.Parse(time.RFC3339, st.Metadata.Get("X-Amz-Object-Lock-Retain-Until-Date"))
	if mode != "COMPLIANCE" || err != nil || until.Before(time.Now().Add(59*time.Minute)) {
		t.Fatalf("retention = %q until %v (%v), want COMPLIANCE about an hour from now; headers %v", mode, until, err, st.Metadata)
	}
	// The locked version cannot be deleted, even by the root account.
	if err := c.RemoveObject(ctx, "locked", "vigil/prod/a/b", minio.RemoveObjectOptions{VersionID: st.VersionID}); err == nil {
		t.Fatal("deleting a locked version succeeded")
	}
	if err := c.RemoveObject(ctx, "locked", "vigil/prod/a/b", minio.RemoveObjectOptions{VersionID: st.VersionID, GovernanceBypass: true}); err == nil {
		t.Fatal("deleting a COMPLIANCE-locked version with governance bypass succeeded")
	}
	// Nor shortened.
	short := time.Now().Add(time.Minute)
	if err := c.PutObjectRetention(ctx, "locked", "vigil/prod/a/b", minio.PutObjectRetentionOptions{Mode: ptr(minio.Compliance), RetainUntilDate: &short, VersionID: st.VersionID, GovernanceBypass: true}); err == nil {
		t.Fatal("shortening a COMPLIANCE retention succeeded")
	}
	// The store refuses to write the name again.
	if err := s.Put(ctx, "a/b", strings.NewReader("forged"), 6); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("second Put = %v, want fs.ErrExist", err)
	}
	// A client that overwrites anyway only adds a version: the locked one
	// still reads back as it was written.
	if _, err := c.PutObject(ctx, "locked", "vigil/prod/a/b", strings.NewReader("forged"), 6, minio.PutObjectOptions{}); err != nil {
		t.Logf("a plain overwrite was refused: %v", err)
	}
	o, err := c.GetObject(ctx, "locked", "vigil/prod/a/b", minio.GetObjectOptions{VersionID: st.VersionID})
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(o)
	if err != nil || !bytes.Equal(got, body) {
		t.Fatalf("locked version reads %q, %v; want %q", got, err, body)
	}
}

func TestS3WithoutObjectLockSaysSo(t *testing.T) {
	ctx := context.Background()
	v := startVersity(t)
	v.bucket(t, "plain", false)
	v.env(t)
	s, err := backup.Open(ctx, "s3://plain", backup.StoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	l := s.Lock()
	if l.Mode != "" || !strings.Contains(l.Missing, "plain") {
		t.Fatalf("lock = %+v, want no mode and a reason naming the bucket", l)
	}
	if err := s.Put(ctx, "x", strings.NewReader("1"), 1); err != nil {
		t.Fatal(err)
	}
	names, err := s.List(ctx, "")
	if err != nil || len(names) != 1 || names[0] != "x" {
		t.Fatalf("List = %v, %v", names, err)
	}
	if _, err := s.Get(ctx, "y"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Get of a missing object = %v, want fs.ErrNotExist", err)
	}
}

func ptr[T any](v T) *T { return &v }
