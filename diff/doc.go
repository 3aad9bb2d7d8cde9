// Package diff computes what theseus must do to bring Marathon to what
// /desired declares, and renders it. It is pure: no I/O, no clocks, no
// goroutines. The reconciler executes its plans; `theseusd plan` prints
// them.
//
// Compute takes the desired groups (normalised specs, see specs.Normalize)
// and the apps Marathon runs, in a driver-neutral form (App), and returns a
// Plan: one Action per group that is not in sync, sorted by group key, each
// with the fields that differ as "path: old => new". Only fields a spec
// controls are compared, on normalised values, so fields Marathon fills in
// by itself never show. A change of instances alone is a Scale, which
// Marathon performs without restarting running tasks; any other change is an
// Update, a rolling deployment. A change of the config alone is a Config:
// it never goes to Marathon; the discovery syncer rewrites
// /services/{service}/{labels}/config. The config is compared only when the
// caller read it from /services (App.ConfigKnown).
//
// Every action of a plan is a group that is not in sync. Some are held
// back (Action.HeldBack): pending, but not carried out now, such as a change
// waiting behind a deployment in flight or an orphan while pruning is off.
// Plan.Pending, Plan.Invalid and Plan.InSync give `theseusd plan` its exit
// code; Plan.Acts says whether carrying the plan out would change Marathon.
//
// Safety rules that hold for every plan:
//   - an app that is not marked as managed by theseus, or that is protected,
//     is never updated or deleted;
//   - a group whose desired spec is invalid is reported, and its app left
//     alone;
//   - deletes happen only with Options.Prune; a plan that would delete,
//     together with the deletions of Options.History's window, more than
//     one app and more than Options.MaxDeleteFraction of the managed apps,
//     or any app while /desired is empty and an app is managed, is held
//     back unless Options.AllowMassDelete is set or the history carries an
//     operator's release (see PruneGuard);
//   - secret values never appear in a Change, in text or in JSON.
//
// The text form (WriteText) comes from this package's own renderer and is
// deterministic. The JSON form is documented in docs/plan-json.md; where
// plans fit in the whole is in docs/design.md.
package diff
