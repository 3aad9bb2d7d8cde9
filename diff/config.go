package diff

import "theseus.dev/specs"

// configFields lists the config a group hands to its containers through
// /services: the public values of the spec, in key order. Secret values
// are never mirrored, so they are never a change either.
func configFields(cfg map[string]specs.Value) []field {
	var fs []field
	for _, k := range sortedKeys(cfg) {
		if v := cfg[k]; !v.Secret {
			fs = append(fs, field{path: "spec.config." + k, value: v.Value})
		}
	}
	return fs
}

// storedConfigFields lists a config as /services holds it.
func storedConfigFields(cfg map[string]string) []field {
	fs := make([]field, 0, len(cfg))
	for _, k := range sortedKeys(cfg) {
		fs = append(fs, field{path: "spec.config." + k, value: cfg[k]})
	}
	return fs
}

// configChanges are the differences between the desired config and the
// one /services holds for a, or nil when that is not known.
func configChanges(d *Desired, a *App) []Change {
	if a == nil || !a.ConfigKnown {
		return nil
	}
	return changes(storedConfigFields(a.Config), configFields(d.Spec.Config))
}
