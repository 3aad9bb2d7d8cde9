// Package discoverytest compares the /services tree with what the
// Marathon simulator runs, for the tests of the discovery syncer and of
// the daemon.
package discoverytest

import (
	"fmt"
	"slices"
	"strings"

	"theseus.dev/drivers/marathon/marathonsim"
	"theseus.dev/model"
	"theseus.dev/specs"
)

// Diff reports how tree differs from the tasks sim runs for the groups
// under the empty root: a line per difference, "" when it holds exactly
// them.
func Diff(tree *model.Tree, sim *marathonsim.Sim) (string, error) {
	var diffs []string
	apps := map[string]bool{}
	for _, a := range sim.Apps() {
		k, err := specs.ParseAppID("", a.ID)
		if err != nil {
			continue
		}
		apps[k.String()] = true
		g, ok := tree.Groups[k]
		if !ok {
			diffs = append(diffs, k.String()+": no group")
			continue
		}
		got, err := g.Containers()
		if err != nil {
			return "", err
		}
		for _, ts := range sim.Tasks(a.ID) {
			c, ok := got[ts.ID]
			switch {
			case !ok:
				diffs = append(diffs, fmt.Sprintf("%s: %s (%s) missing", k, ts.ID, ts.State))
			case c.Ready != ts.HealthyForDeployment || c.State != ts.State || c.InstanceHost != ts.Host ||
				(len(ts.Ports) > 0 && c.InstancePort != ts.Ports[0]):
				diffs = append(diffs, fmt.Sprintf("%s: %s is %+v, task %s on %s healthy %v", k, ts.ID, c, ts.State, ts.Host, ts.HealthyForDeployment))
			}
			delete(got, ts.ID)
		}
		for name := range got {
			diffs = append(diffs, fmt.Sprintf("%s: %s is not a task", k, name))
		}
	}
	for k := range tree.Groups {
		if !apps[k.String()] {
			diffs = append(diffs, k.String()+": no app")
		}
	}
	slices.Sort(diffs)
	return strings.Join(diffs, "\n"), nil
}
