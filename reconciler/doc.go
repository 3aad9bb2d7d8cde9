// Package reconciler is theseus's control loop: it keeps Marathon equal to
// /desired. Work items are group keys in a de-duplicating, rate-limited
// queue fed by the /desired watch, the Marathon event stream and a periodic
// full resync; each reconcile reads the current desired spec and the actual
// app, computes the group's plan with package diff, carries out at most one
// action, and records the outcome under /status. Only the elected leader
// reconciles. The drivers are reached through small interfaces defined
// here. docs/design.md draws both data flows, /desired to Marathon and
// Marathon to /services, and the package map.
package reconciler
