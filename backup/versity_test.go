package backup_test

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// versity is a versitygw S3 gateway over its posix backend in a temporary
// directory, started for one test.
type versity struct {
	endpoint string // http://127.0.0.1:port
	host     string // 127.0.0.1:port
	access   string
	secret   string
}

// startVersity starts versitygw (installed by .ci/run) with versioning,
// which its Object Lock needs.
func startVersity(t testing.TB) *versity {
	t.Helper()
	bin, err := exec.LookPath("versitygw")
	if err != nil {
		if gp, gerr := exec.Command("go", "env", "GOPATH").Output(); gerr == nil {
			if p := filepath.Join(string(trimNL(gp)), "bin", "versitygw"); fileExists(p) {
				bin, err = p, nil
			}
		}
	}
	if err != nil {
		t.Fatalf("versitygw is not installed: go install github.com/versity/versitygw/cmd/versitygw@v1.8.0 (.ci/run does)")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	host := l.Addr().String()
	l.Close()
	dir := t.TempDir()
	root, versions := filepath.Join(dir, "root"), filepath.Join(dir, "versions")
	for _, d := range []string{root, versions} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	v := &versity{endpoint: "http://" + host, host: host, access: "vigiltestaccess", secret: "vigiltestsecret0123456789"}
	cmd := exec.Command(bin, "--port", host, "--access", v.access, "--secret", v.secret, "--quiet",
		"posix", "--versioning-dir", versions, root)
	cmd.Env = append(os.Environ(), "ROOT_ACCESS_KEY_ID=", "ROOT_SECRET_ACCESS_KEY=")
	logf, err := os.Create(filepath.Join(dir, "versitygw.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		logf.Close()
	})
	deadline := time.Now().Add(20 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", host, 200*time.Millisecond)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			out, _ := os.ReadFile(logf.Name())
			t.Fatalf("versitygw did not listen on %s: %s", host, out)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return v
}

func (v *versity) client(t testing.TB) *minio.Client {
	t.Helper()
	c, err := minio.New(v.host, &minio.Options{Creds: credentials.NewStaticV4(v.access, v.secret, ""), Region: "us-east-1"})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// bucket makes a bucket, with Object Lock when locked.
func (v *versity) bucket(t testing.TB, name string, locked bool) {
	t.Helper()
	if err := v.client(t).MakeBucket(context.Background(), name, minio.MakeBucketOptions{Region: "us-east-1", ObjectLocking: locked}); err != nil {
		t.Fatalf("making bucket %s (object lock %v): %v", name, locked, err)
	}
}

// env points the standard AWS variables and VIGIL_S3_ENDPOINT at the
// gateway, as an operator would.
func (v *versity) env(t testing.TB) {
	t.Setenv("AWS_ACCESS_KEY_ID", v.access)
	t.Setenv("AWS_SECRET_ACCESS_KEY", v.secret)
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("VIGIL_S3_ENDPOINT", v.endpoint)
}

func trimNL(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }
