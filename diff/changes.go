package diff

import "theseus.dev/specs"

// SpecChanges lists the paths of the fields that differ between two valid
// specs of one group, as a plan names them: the fields Marathon runs
// (compared normalised, so a default given explicitly is no change), the
// config keys, secret ones included, and theseus's policy fields. It
// gives paths only, never values, so that nothing secret can show. The
// history of a group records it as what a revision changed.
func SpecChanges(old, new *specs.Spec) []string {
	o, n := specs.Normalize(*old), specs.Normalize(*new)
	cs := changes(append(flatten(&o, nil), allConfigFields(o.Config)...), append(flatten(&n, nil), allConfigFields(n.Config)...))
	var out []string
	for _, c := range cs {
		out = append(out, c.Path)
	}
	return append(out, specs.PolicyChanges(old, new)...)
}

// allConfigFields lists every config value, secret ones marked as such.
func allConfigFields(cfg map[string]specs.Value) []field {
	fs := make([]field, 0, len(cfg))
	for _, k := range sortedKeys(cfg) {
		v := cfg[k]
		fs = append(fs, field{path: "spec.config." + k, value: v.Value, secret: v.Secret})
	}
	return fs
}
