package marathon_test

import (
	"testing"

	"theseus.dev/diff"
)

// TestRepeatsPlanNothing: Marathon keeps constraints and health checks as
// sets, and answers with a repeated one once, and with more than four
// health checks in an order of its own. A group whose spec repeats one,
// or has more than four checks, applied, plans nothing: not an update of
// the app for ever.
func TestRepeatsPlanNothing(t *testing.T) {
	for name, field := range map[string]string{
		"constraint": "constraints: [[hostname, UNIQUE], [hostname, LIKE, \"large-.*\"], [hostname, unique]]",
		"health check": "healthChecks: [{protocol: TCP, portName: http}, {protocol: HTTP, path: /h}," +
			" {protocol: TCP, portIndex: 0, gracePeriodSeconds: 300}]",
		"five health checks": "healthChecks: [{path: /a}, {path: /b}, {path: /c}, {path: /d}, {path: /e}]",
		"persistent volume constraint": "role: web\n  volumes: [{containerPath: data, persistent: {type: path, size: 512," +
			" constraints: [[path, LIKE, \"/mnt/.*\"], [path, LIKE, \"/mnt/.*\"]]}}]",
	} {
		for _, gen := range generations {
			t.Run(name+"/"+gen.String(), func(t *testing.T) {
				s := appModelSim(t, gen)
				g := parse(t, withField(baseSpec, field))
				w := write(t, g, 1)
				if _, err := s.c.Create(t.Context(), w); err != nil {
					t.Fatalf("create: %v", err)
				}
				s.settle(t)
				a, err := s.c.Get(t.Context(), w.Key)
				if err != nil {
					t.Fatal(err)
				}
				d, _ := diff.NewDesired(g, 1)
				if act, ok := diff.Group(&d, diffApp(a), diff.Options{}); ok {
					t.Errorf("plan after create: %s %+v", act.Kind, act.Changes)
				}
			})
		}
	}
}
