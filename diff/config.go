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

// storedConfigFields lists a config as /services holds it. A key the
// spec marks secret is marked secret here too: /services may still hold
// its value from when it was public, and the syncer's removing it must
// not show it (a field secret on either side is redacted on both).
func storedConfigFields(cfg map[string]string, desired map[string]specs.Value) []field {
	fs := make([]field, 0, len(cfg))
	for _, k := range sortedKeys(cfg) {
		fs = append(fs, field{path: "spec.config." + k, value: cfg[k], secret: desired[k].Secret})
	}
	return fs
}

// configChanges are the differences between the desired config and the
// one /services holds for a, or nil when that is not known.
func configChanges(d *Desired, a *App) []Change {
	if a == nil || !a.ConfigKnown {
		return nil
	}
	return changes(storedConfigFields(a.Config, d.Spec.Config), configFields(d.Spec.Config))
}
