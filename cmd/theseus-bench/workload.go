package main

import (
	"fmt"
	"os"
	"path/filepath"

	"theseus.dev/specs"
)

// The image every group runs; changes of a group bump an env var, which
// is a rolling update in Marathon.
const image = "registry.example/bench/app:1.0"

// groupKeys returns n group keys, 100 groups to a service, each with two
// labels, as a large installation would have them.
func groupKeys(n int) ([]specs.GroupKey, error) {
	keys := make([]specs.GroupKey, n)
	for i := range keys {
		k, err := specs.NewGroupKey(fmt.Sprintf("svc%03d", i/100), []string{"bench", fmt.Sprintf("g%02d", i%100)})
		if err != nil {
			return nil, err
		}
		keys[i] = k
	}
	return keys, nil
}

// specJSON is group k's manifest: instances tasks, and rev in its env so
// that a new rev is a change of the spec.
func specJSON(k specs.GroupKey, instances, rev int) []byte {
	return fmt.Appendf(nil, `{"apiVersion":"theseus/v1","kind":"Group",`+
		`"metadata":{"service":%q,"labels":["bench",%q]},`+
		`"spec":{"image":%q,"instances":%d,"cpus":0.01,"mem":32,`+
		`"env":{"REV":"%d"},"upgrade":{"minimumHealthCapacity":0.5,"maximumOverCapacity":0.5}}}`,
		k.Service, k.LabelSet()[1], image, instances, rev)
}

// groups decodes every key's manifest as theseusd apply would.
func groups(keys []specs.GroupKey, instances, rev int) ([]*specs.Group, error) {
	out := make([]*specs.Group, len(keys))
	for i, k := range keys {
		g, err := specs.DecodeStored(k, specJSON(k, instances, rev))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", k, err)
		}
		out[i] = g
	}
	return out, nil
}

// writeSpecDir writes one file per group under dir, a directory per
// service, as a git checkout of specs would be laid out.
func writeSpecDir(dir string, keys []specs.GroupKey, instances int) error {
	for _, k := range keys {
		sd := filepath.Join(dir, k.Service)
		if err := os.MkdirAll(sd, 0o755); err != nil {
			return err
		}
		name := filepath.Join(sd, k.LabelSet()[1]+".json")
		if err := os.WriteFile(name, specJSON(k, instances, 0), 0o644); err != nil {
			return err
		}
	}
	return nil
}
