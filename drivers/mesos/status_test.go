package mesos_test

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"

	"theseus.dev/drivers/mesos"
)

// TestTaskStatusAddresses: a container's addresses come from its status
// as each Mesos version writes them. 0.25 has one "ip_address" per
// network; 0.26 to 0.28 write it beside the "ip_addresses" list (the
// same address twice); 1.x the list alone. Reading the list only lost
// a 0.25 container's address.
func TestTaskStatusAddresses(t *testing.T) {
	for _, tc := range []struct {
		name, networks string
		want           []string
	}{
		{"0.25: ip_address alone", `[{"ip_address": "10.0.1.109"}]`, []string{"10.0.1.109"}},
		{"0.26: both, the same address", `[{"ip_address": "10.0.1.109", "ip_addresses": [{"ip_address": "10.0.1.109"}]}]`, []string{"10.0.1.109"}},
		{"1.x: the list, IPv4 and IPv6", `[{"ip_addresses": [{"protocol": "IPv4", "ip_address": "9.0.2.34"}, {"protocol": "IPv6", "ip_address": "fd01::2"}], "name": "dcos"}]`,
			[]string{"9.0.2.34", "fd01::2"}},
		{"two networks, one of each kind", `[{"ip_address": "10.0.1.5"}, {"ip_addresses": [{"ip_address": "9.0.2.34"}]}]`, []string{"10.0.1.5", "9.0.2.34"}},
		{"no address", `[{"name": "dcos"}]`, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := `{"tasks": [{"id": "web.1", "name": "web", "framework_id": "F-0000", "slave_id": "S0", "state": "TASK_RUNNING",
				"statuses": [{"state": "TASK_RUNNING", "timestamp": 1444059214.32713,
				"container_status": {"container_id": {"value": "c-1"}, "network_infos": ` + tc.networks + `}}]}]}`
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				_, _ = w.Write([]byte(body))
			}))
			t.Cleanup(srv.Close)
			c := must[*mesos.Client](t)(mesos.New(mesos.Config{URLs: []string{srv.URL}}))
			task := must[mesos.Task](t)(c.Task(ctx(t), "web.1"))
			if len(task.Statuses) != 1 || !slices.Equal(task.Statuses[0].IPs, tc.want) || task.Statuses[0].ContainerID != "c-1" {
				t.Errorf("statuses %+v, want the addresses %q", task.Statuses, tc.want)
			}
		})
	}
}
