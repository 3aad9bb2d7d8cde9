package endpoints_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"theseus.dev/drivers/etcd"
	"theseus.dev/drivers/etcd/embedded"
	"theseus.dev/specs"
)

// exampleEtcd starts an embedded etcd for the examples and returns a
// client for it, and a function that stops both.
func exampleEtcd() (*clientv3.Client, func()) {
	dir, err := os.MkdirTemp("", "endpoints-example")
	if err != nil {
		log.Fatal(err)
	}
	srv, err := embedded.Start(context.Background(), embedded.Config{Dir: dir, ClientAddr: "127.0.0.1:0",
		PeerAddr: "127.0.0.1:0", Fast: true, UnsafeNoFsync: true, Logger: zap.NewNop()})
	if err != nil {
		log.Fatal(err)
	}
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{srv.Endpoint()}, DialTimeout: 5 * time.Second})
	if err != nil {
		log.Fatal(err)
	}
	return cli, func() {
		cli.Close()
		srv.Close()
		os.RemoveAll(dir)
	}
}

// publish writes group web/dev with n ready containers, as the discovery
// syncer of theseusd does.
func publish(cli *clientv3.Client, n int) {
	c, err := etcd.New(cli, etcd.Options{})
	if err != nil {
		log.Fatal(err)
	}
	d := c.Discovery()
	k := specs.GroupKey{Service: "web", Labels: "dev"}
	g, err := d.ReadGroup(context.Background(), k)
	if err != nil {
		log.Fatal(err)
	}
	st := etcd.GroupState{Containers: map[string]specs.ContainerInfo{}, Config: map[string]string{"upstream": "api"}}
	for i := range n {
		name := fmt.Sprintf("web_dev.%d", i)
		st.Containers[name] = specs.ContainerInfo{InstanceHost: fmt.Sprintf("10.0.0.%d", i+1), InstancePort: 31000 + i,
			InstanceName: name, State: "TASK_RUNNING", Health: "healthy", Ready: true,
			PortMappings: []specs.PortMapping{{ContainerPort: 80, HostPort: 31000 + i, Protocol: "tcp", Name: "http"}}}
	}
	if _, err := d.SyncGroup(context.Background(), etcd.Fence{}, g, st); err != nil {
		log.Fatal(err)
	}
}
