package marathonsim

// Residency defaults, as Marathon's AppDefinition reads
// (ResidencyAndUpgradeStrategy) and 1.5+'s AppNormalization fill them in:
// an app with persistent volumes is resident even without a residency
// object, and a resident app (or one with external volumes) must never run
// more instances than asked for, so it does not get the ordinary defaults.
const (
	defaultRelaunchEscalation = 3600
	defaultTaskLostBehavior   = "WAIT_FOREVER"
)

// residentUpgrade is UpgradeStrategy.forResidentTasks.
var residentUpgrade = upgradeStrategy{MinimumHealthCapacity: 0.5, MaximumOverCapacity: 0}

// volumeKinds reports whether a container declares persistent (local) and
// external volumes.
func volumeKinds(c *container) (persistent, external bool) {
	if c == nil {
		return false, false
	}
	for _, v := range c.Volumes {
		persistent = persistent || v.Persistent != nil
		external = external || v.External != nil
	}
	return persistent, external
}

// residentDefaults fills in what a new definition leaves out: a residency
// for persistent volumes, with the fields a given one lacks;
// upgradeStrategy {0.5, 0} for resident apps and apps with external
// volumes; unreachableStrategy "disabled" for resident apps.
func residentDefaults(d *appDef, in *appInput) {
	persistent, external := volumeKinds(d.Container)
	switch r := d.Residency.(type) {
	case nil:
		if persistent {
			d.Residency = map[string]any{"relaunchEscalationTimeoutSeconds": defaultRelaunchEscalation,
				"taskLostBehavior": defaultTaskLostBehavior}
		}
	case map[string]any:
		full := map[string]any{"relaunchEscalationTimeoutSeconds": defaultRelaunchEscalation,
			"taskLostBehavior": defaultTaskLostBehavior}
		for k, v := range r {
			if v != nil {
				full[k] = v
			}
		}
		d.Residency = full
	}
	resident := d.Residency != nil
	if !in.has("upgradeStrategy") && (resident || external) {
		d.UpgradeStrategy = residentUpgrade
	}
	if !in.has("unreachableStrategy") && resident {
		d.UnreachableStrategy = "disabled"
	}
}
