// Package viewer shows what is deployed where: the data behind
// `theseusd get`, a JSON API under /api/v1, and a read-only web page that
// lists services and their groups, filtered by labels, with desired against
// actual, task counts, status and recent events. docs/viewer.md describes
// what it shows; docs/design.md where it fits.
package viewer
