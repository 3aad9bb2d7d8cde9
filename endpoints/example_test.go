package endpoints_test

import (
	"context"
	"fmt"
	"log"
	"sync"

	"theseus.dev/endpoints"
)

// A service finds the containers of group web/dev, then follows them.
func Example() {
	cli, stop := exampleEtcd() // a clientv3.Client for theseus's etcd
	defer stop()
	publish(cli, 2) // theseusd runs web/dev with two containers

	eps, err := endpoints.New(cli)
	if err != nil {
		log.Fatal(err)
	}
	g, err := eps.Get(context.Background(), "web", "dev")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(g.Addrs("http"), g.Config["upstream"])

	// Watch calls back with the group as it is, then once per update.
	// Here the callback hands the latest state to a channel of one.
	ctx, cancel := context.WithCancel(context.Background())
	changes := make(chan endpoints.Group, 1)
	var wg sync.WaitGroup
	wg.Go(func() {
		err := eps.Watch(ctx, "web", []string{"dev"}, func(g endpoints.Group) {
			select {
			case <-changes: // drop a state not taken yet: the new one replaces it
			default:
			}
			changes <- g
		})
		if err != nil {
			log.Print(err)
		}
	})
	fmt.Println((<-changes).Addrs("http"))
	publish(cli, 3) // theseusd scales web/dev to three
	fmt.Println((<-changes).Addrs("http"))
	cancel()
	wg.Wait()
	// Output:
	// [10.0.0.1:31000 10.0.0.2:31001] api
	// [10.0.0.1:31000 10.0.0.2:31001]
	// [10.0.0.1:31000 10.0.0.2:31001 10.0.0.3:31002]
}
