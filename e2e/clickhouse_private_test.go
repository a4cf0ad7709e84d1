package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/doraflow/doraflow/store"
)

// privateClickHouse is a second ClickHouse server that only one test uses,
// on its own ports and directories, so that the test may stop and start it
// without touching the shared server on 9000.
type privateClickHouse struct {
	Addr   string
	config string
	dir    string
	cmd    *exec.Cmd
	done   chan struct{}
}

// newPrivateClickHouse prepares the server's configuration; Start runs it.
// Without clickhouse-server the test is skipped, or fails under CI.
func newPrivateClickHouse(t *testing.T) *privateClickHouse {
	t.Helper()
	if _, err := exec.LookPath("clickhouse-server"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("clickhouse-server is not installed (scripts/clickhouse.sh installs it): %v", err)
		}
		t.Skip("clickhouse-server is not installed")
	}
	dir := t.TempDir()
	port, httpPort := freePort(t), freePort(t)
	// The settings a server of 18.16 and of current releases needs, and the
	// users (a passwordless default) of the installed package.
	conf := fmt.Sprintf(`<?xml version="1.0"?>
<yandex>
    <logger>
        <level>warning</level>
        <log>%[1]s/log/clickhouse-server.log</log>
        <errorlog>%[1]s/log/clickhouse-server.err.log</errorlog>
        <size>10M</size>
        <count>1</count>
    </logger>
    <listen_host>127.0.0.1</listen_host>
    <tcp_port>%[2]d</tcp_port>
    <http_port>%[3]d</http_port>
    <path>%[1]s/data/</path>
    <tmp_path>%[1]s/tmp/</tmp_path>
    <user_files_path>%[1]s/user_files/</user_files_path>
    <format_schema_path>%[1]s/format_schemas/</format_schema_path>
    <users_config>/etc/clickhouse-server/users.xml</users_config>
    <default_profile>default</default_profile>
    <default_database>default</default_database>
    <max_concurrent_queries>100</max_concurrent_queries>
    <mark_cache_size>268435456</mark_cache_size>
    <uncompressed_cache_size>268435456</uncompressed_cache_size>
</yandex>
`, dir, port, httpPort)
	config := filepath.Join(dir, "config.xml")
	for _, sub := range []string{"log", "data", "tmp", "user_files", "format_schemas"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(config, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	ch := &privateClickHouse{Addr: loopback(port), config: config, dir: dir}
	t.Cleanup(ch.Stop)
	return ch
}

// Start runs the server and waits until it answers.
func (ch *privateClickHouse) Start(t *testing.T) {
	t.Helper()
	ch.cmd = exec.Command("clickhouse-server", "--config-file="+ch.config)
	ch.cmd.Dir = ch.dir
	if err := ch.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ch.done = make(chan struct{})
	go func(cmd *exec.Cmd, done chan struct{}) { cmd.Wait(); close(done) }(ch.cmd, ch.done)
	deadline := time.Now().Add(90 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		st, err := store.Open(ctx, store.Config{Addr: ch.Addr, Database: "default", DialTimeout: 2 * time.Second})
		cancel()
		if err == nil {
			st.Close()
			return
		}
		select {
		case <-ch.done:
			log, _ := os.ReadFile(filepath.Join(ch.dir, "log", "clickhouse-server.err.log"))
			t.Fatalf("private clickhouse-server exited: %s", tail(log, 2000))
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("private clickhouse-server does not answer on %s: %v", ch.Addr, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// Stop ends the server this test started, by its process id.
func (ch *privateClickHouse) Stop() {
	if ch.cmd == nil || ch.cmd.Process == nil {
		return
	}
	ch.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-ch.done:
	case <-time.After(30 * time.Second):
		ch.cmd.Process.Kill()
		<-ch.done
	}
	ch.cmd = nil
}

// Kill ends the server with SIGKILL, as a crash would; Start runs it again
// on the same data.
func (ch *privateClickHouse) Kill() {
	if ch.cmd == nil || ch.cmd.Process == nil {
		return
	}
	ch.cmd.Process.Signal(syscall.SIGKILL)
	<-ch.done
	ch.cmd = nil
}

func tail(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}
