package main

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// versity is a versitygw S3 gateway (posix backend, versioning on, which
// its Object Lock needs) started for one test.
type versity struct {
	host, access, secret string
}

func startVersity(t *testing.T) *versity {
	t.Helper()
	bin, err := exec.LookPath("versitygw")
	if err != nil {
		if gp, gerr := exec.Command("go", "env", "GOPATH").Output(); gerr == nil {
			p := filepath.Join(strings.TrimSpace(string(gp)), "bin", "versitygw")
			if _, serr := os.Stat(p); serr == nil {
				bin, err = p, nil
			}
		}
	}
	if err != nil {
		t.Fatalf("versitygw is not installed: go install github.com/versity/versitygw/cmd/versitygw@v1.8.0 (.ci/run does)")
	}
	v := &versity{host: freeAddr(t), access: "vigiltestaccess", secret: "vigiltestsecret0123456789"}
	dir := t.TempDir()
	root, versions := filepath.Join(dir, "root"), filepath.Join(dir, "versions")
	for _, d := range []string{root, versions} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	logf, err := os.Create(filepath.Join(dir, "versitygw.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "--port", v.host, "--access", v.access, "--secret", v.secret, "--quiet",
		"posix", "--versioning-dir", versions, root)
	cmd.Env = append(os.Environ(), "ROOT_ACCESS_KEY_ID=", "ROOT_SECRET_ACCESS_KEY=")
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
		c, err := net.DialTimeout("tcp", v.host, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return v
		}
		if time.Now().After(deadline) {
			out, _ := os.ReadFile(logf.Name())
			t.Fatalf("versitygw did not listen on %s: %s", v.host, out)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (v *versity) client(t *testing.T) *minio.Client {
	t.Helper()
	c, err := minio.New(v.host, &minio.Options{Creds: credentials.NewStaticV4(v.access, v.secret, ""), Region: "us-east-1"})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// lockedBucket makes a bucket with Object Lock.
func (v *versity) lockedBucket(t *testing.T, name string) {
	t.Helper()
	if err := v.client(t).MakeBucket(context.Background(), name, minio.MakeBucketOptions{Region: "us-east-1", ObjectLocking: true}); err != nil {
		t.Fatalf("making bucket %s with Object Lock: %v", name, err)
	}
}

// env is the environment a vigil process reaches the gateway with, as an
// operator sets it.
func (v *versity) env() []string {
	return append(os.Environ(), "AWS_ACCESS_KEY_ID="+v.access, "AWS_SECRET_ACCESS_KEY="+v.secret,
		"AWS_REGION=us-east-1", "VIGIL_S3_ENDPOINT=http://"+v.host)
}
