package backup_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/vigilhq/vigil/backup"
)

func TestS3BackupRestore(t *testing.T) {
	ctx := context.Background()
	v := startVersity(t)
	v.bucket(t, "vigil-backups", true)
	v.env(t)
	to, err := backup.Open(ctx, "s3://vigil-backups/site-a", backup.StoreOptions{S3: backup.S3Options{Retention: 24 * time.Hour}})
	if err != nil {
		t.Fatal(err)
	}
	s := newServer(t)
	s.add(t, "default", 3000)
	first, err := backup.Backup(ctx, s.source(), to, backup.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if first.Lock.Mode != "COMPLIANCE" || first.Events != 3000 {
		t.Fatalf("first = %+v", first)
	}
	s.add(t, "default", 500)
	second, err := backup.Backup(ctx, s.source(), to, backup.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if second.Events != 500 || second.Workspaces[0].Chunks != 1 {
		t.Fatalf("second = %+v", second)
	}
	// Every object of both generations is locked.
	c := v.client(t)
	names, err := to.List(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(names) != first.Objects+second.Objects {
		t.Fatalf("%d objects in the bucket, the backups wrote %d", len(names), first.Objects+second.Objects)
	}
	for _, n := range names {
		st, err := c.StatObject(ctx, "vigil-backups", "site-a/"+n, minio.StatObjectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if m := st.Metadata.Get("X-Amz-Object-Lock-Mode"); m != "COMPLIANCE" {
			t.Fatalf("%s lock mode %q", n, m)
		}
		if err := c.RemoveObject(ctx, "vigil-backups", "site-a/"+n, minio.RemoveObjectOptions{VersionID: st.VersionID}); err == nil {
			t.Fatalf("deleting %s succeeded", n)
		}
	}
	r := newTarget(t)
	res, err := backup.Restore(ctx, to, s.key, r.target(), backup.RestoreOptions{VerifierKey: s.vkey})
	if err != nil {
		t.Fatal(err)
	}
	if res.Generation != 2 || res.Workspaces[0].Events != 3500 {
		t.Fatalf("restore = %+v", res)
	}
	sameLog(t, r.log, s.log)
}

// BenchmarkBackupS3 measures a full backup of a log to versitygw on this
// machine (MB/s of uploaded, encrypted bytes; events/s), and a restore.
func BenchmarkBackupS3(b *testing.B) {
	ctx := context.Background()
	v := startVersity(b)
	for i := 0; i < b.N; i++ {
		bucket := fmt.Sprintf("bench-%d", i)
		v.bucket(b, bucket, true)
		v.env(b)
		to, err := backup.Open(ctx, "s3://"+bucket+"/p", backup.StoreOptions{})
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		s := newServer(b)
		s.add(b, "default", 100_000)
		b.StartTimer()
		rep, err := backup.Backup(ctx, s.source(), to, backup.Options{})
		if err != nil {
			b.Fatal(err)
		}
		sec := rep.Elapsed.Seconds()
		b.ReportMetric(float64(rep.Bytes)/1e6/sec, "MB/s")
		b.ReportMetric(float64(rep.Events)/sec, "events/s")
		b.ReportMetric(float64(rep.LogBytes)/float64(rep.Events), "leaf-bytes/event")
		start := time.Now()
		if _, err := backup.Restore(ctx, to, s.key, newTarget(b).target(), backup.RestoreOptions{VerifierKey: s.vkey}); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(rep.Events)/time.Since(start).Seconds(), "restore-events/s")
	}
}
