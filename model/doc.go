// Package model holds the domain types that cross between theseus's
// control loops and its drivers, so that the loops (packages reconciler
// and discovery) speak no driver's language and link no driver: what
// Marathon runs (App, Task, Deployment), its events and the writes made
// to it (Write, Result); what etcd holds for the loops (the /desired
// feed, status entries, the mass-deletion guard's record, the /services
// tree as read and as wanted); the leadership that fences every write;
// and the errors by which a driver tells a loop what happened.
//
// The drivers (drivers/etcd, drivers/marathon) produce and take these
// types; the interfaces that consume them are defined where they are
// used. The package does no I/O beyond decoding the JSON of /services
// values it is handed.
package model
