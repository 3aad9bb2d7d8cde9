package etcd_test

import (
	"context"
	"testing"
	"time"

	"theseus.dev/drivers/etcd"
	"theseus.dev/drivers/etcd/etcdtest"
)

func TestConnect(t *testing.T) {
	e := etcdtest.Start(t)
	c, err := etcd.Connect(t.Context(), etcd.Config{Endpoints: []string{e.Endpoint()}, Options: etcd.Options{Prefix: "/p"}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if c.Prefix() != "/p" {
		t.Errorf("prefix %q", c.Prefix())
	}
	if err := c.Ready(t.Context()); err != nil {
		t.Fatal(err)
	}
}

// TestConnectUnreachable checks that Connect reports a cluster that does
// not answer, within the dial timeout, instead of returning a client that
// hangs later.
func TestConnectUnreachable(t *testing.T) {
	e := etcdtest.Start(t)
	e.Stop()
	begin := time.Now()
	_, err := etcd.Connect(context.Background(), etcd.Config{Endpoints: []string{e.Endpoint()}, DialTimeout: 300 * time.Millisecond})
	if err == nil {
		t.Fatal("Connect to a stopped etcd succeeded")
	}
	if d := time.Since(begin); d > 5*time.Second {
		t.Errorf("Connect took %v", d)
	}
}

func TestConnectRefusesBadPrefix(t *testing.T) {
	if _, err := etcd.Connect(t.Context(), etcd.Config{Options: etcd.Options{Prefix: "nope/"}}); err == nil {
		t.Fatal("bad prefix accepted")
	}
}

// TestConnectWithPassword turns on etcd's authentication and connects
// with and without the right user.
func TestConnectWithPassword(t *testing.T) {
	e := etcdtest.Start(t)
	ctx := t.Context()
	admin := e.NewDirectClient(t)
	for _, step := range []func() error{
		func() error { _, err := admin.UserAdd(ctx, "root", "rootpw"); return err },
		func() error { _, err := admin.UserGrantRole(ctx, "root", "root"); return err },
		func() error { _, err := admin.UserAdd(ctx, "theseus", "s3cret"); return err },
		func() error { _, err := admin.RoleAdd(ctx, "theseus"); return err },
		func() error {
			_, err := admin.RoleGrantPermission(ctx, "theseus", "\x00", "\x00", 2 /* readwrite on every key */)
			return err
		},
		func() error { _, err := admin.UserGrantRole(ctx, "theseus", "theseus"); return err },
		func() error { _, err := admin.AuthEnable(ctx); return err },
	} {
		if err := step(); err != nil {
			t.Fatal(err)
		}
	}
	cfg := etcd.Config{Endpoints: []string{e.Endpoint()}, DialTimeout: 2 * time.Second}
	if _, err := etcd.Connect(ctx, cfg); err == nil {
		t.Fatal("Connect without credentials succeeded")
	}
	cfg.Username, cfg.Password = "theseus", "wrong"
	if _, err := etcd.Connect(ctx, cfg); err == nil {
		t.Fatal("Connect with a wrong password succeeded")
	}
	cfg.Password = "s3cret"
	// A generous timeout for the one that must succeed: checking a
	// password is bcrypt, slow on a loaded machine under the race detector.
	cfg.DialTimeout = 30 * time.Second
	c, err := etcd.Connect(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	k := key(t, "web", "dev")
	if _, err := c.Desired().Put(ctx, k, specJSON(k, 1), 0); err != nil {
		t.Fatal(err)
	}
}

// TestConnectFindsADeadConnection: a connection that went dead without a
// reset (a host gone, a path dropped) is given up on and dialled again,
// so a watch goes on delivering instead of waiting on it for ever.
func TestConnectFindsADeadConnection(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for the client's keepalive, about 15 s")
	}
	e := etcdtest.Start(t)
	c, err := etcd.Connect(t.Context(), etcd.Config{Endpoints: []string{e.Endpoint()}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	w := c.Etcd().Watch(t.Context(), "/k")
	direct := e.NewDirectClient(t)
	if _, err := direct.Put(t.Context(), "/k", "before"); err != nil {
		t.Fatal(err)
	}
	next := func() string {
		t.Helper()
		select {
		case resp := <-w:
			if err := resp.Err(); err != nil || len(resp.Events) == 0 {
				t.Fatalf("watch: %v, %d events", err, len(resp.Events))
			}
			return string(resp.Events[0].Kv.Value)
		case <-time.After(45 * time.Second):
			t.Fatal("the watch delivered nothing within 45 s")
			return ""
		}
	}
	if v := next(); v != "before" {
		t.Fatalf("first event %q", v)
	}
	e.Freeze()
	if _, err := direct.Put(t.Context(), "/k", "after"); err != nil {
		t.Fatal(err)
	}
	if v := next(); v != "after" {
		t.Errorf("after the connection died: %q, want after", v)
	}
}
