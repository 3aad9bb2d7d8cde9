// Package reconciler is theseus's group control loop: it keeps Marathon
// equal to /desired. Work items are group keys in a de-duplicating,
// rate-limited queue (package internal/engine) fed by the /desired watch
// and by the term's view of Marathon (package internal/observe): the
// events it passes on and its periodic full list. Each reconcile reads
// the current desired spec and the app, computes the group's plan with
// package diff, carries out at most one action, and records the outcome
// under /status. Only the elected leader reconciles; the Daemon runs, for
// each term of leadership, one observer, the controller and the loops
// beside it (the /services syncer, package discovery) on it. The drivers
// are reached through small interfaces defined here, spoken in the types
// of packages specs, diff and model: the package imports no driver.
// docs/design.md draws both data flows, /desired to Marathon and Marathon
// to /services, and the package map.
package reconciler
