// Package marathon is theseus's Marathon driver: it lists, reads,
// creates, updates, scales, restarts and deletes the apps of groups,
// lists and cancels deployments, and follows the event stream, against
// Marathon 0.x to 1.10 in both JSON generations (up to 1.4 and 1.5+).
//
// # Calls
//
// Every call takes a context and is bounded by Config.Timeout, retries
// included. Reads are retried with jittered exponential backoff on 502
// (a member without a leader), 503, 504 and transport errors, moving on
// to the next member. Writes are sent once: only a write that could not
// even connect is tried again. A write whose outcome is unknown (no
// answer, a connection lost after sending, a 5xx) is settled by reading
// the app: Create and Update are done when the app carries the written
// spec hash and revision in its labels, Scale when it wants the
// instances, Delete when the app is gone; otherwise the call fails with
// *UnknownOutcomeError and the caller must read before it writes again.
// A 409 "already exists" answered to a Create counts as done when the app
// carries the create's hash and revision. A restart's outcome cannot be
// read from the app, so a lost restart answer is always an
// UnknownOutcomeError.
//
// # Definitions
//
// Create and Update send the full definition built from the normalised
// spec, never an app read back: the network and its ports (bridge with
// one port mapping per spec port, host with port definitions, or a named
// container network), health and readiness checks, volumes, fetch URIs,
// Docker options, the launch backoff, the Marathon labels of the spec
// next to the marker labels (types.go), env secret references with their
// secrets; config never. The shape is the one of the Marathon answering
// (/v2/info, re-read every ten minutes): networks and
// container.portMappings for 1.5+, docker.network (with ipAddress for a
// container network) and docker.portMappings before; what 1.4 cannot
// express is an UnsupportedError. A field removed from the spec
// disappears: Update sends partialUpdate=false, which 1.5+ obeys, and
// every field the spec controls, at its default when unset, for older
// Marathons, which merge a PUT into the app. What a merging Marathon
// cannot be made to forget, because it takes an empty or null value for
// "keep" or refuses an empty one, is cmd, user,
// taskKillGracePeriodSeconds, acceptedResourceRoles and
// unreachableStrategy: on Marathon 1.4 and older one removed from a spec
// stays, and the plan keeps showing it until the group is deleted and
// created again.
//
// # Reading
//
// Apps, tasks and events of both generations decode to the same types.
// Lists are decoded as they stream in, with
// github.com/go-json-experiment/json (encoding/json/v2, still an
// experiment in Go 1.26): on 10,000 apps with 50,000 tasks it takes about
// half the time encoding/json takes on the same types (bench_test.go).
// Numbers that Marathon defaults are read as values that know whether
// they were given, not as pointers. The spec read back from an app is
// normalised with specs.Normalize, so that an app written from a spec
// plans to nothing. An app of Marathon 1.9+ carries the role Marathon
// gives apps without one (App.DefaultRole, its --mesos_role from
// /v2/info), so that a spec without a role matches it.
//
// # Events
//
// Events owns its server-sent-event reader: the WHATWG framing (CRLF, LF
// or CR; multi-line data; comments; Marathon's blank heartbeats), no
// content encoding (a compressing proxy holds events back), a silence
// timeout, reconnection with backoff, redirects to the leader with the
// credentials, and EventResync after every attach, so that the reader
// relists what it may have missed. An attach that fails, Marathon's
// answer and all, goes to Hooks.StreamFailed. Every event type is passed on,
// unknown ones by their type alone.
//
// # What go-marathon v0.7.1 is used for, and why not for more
//
// The driver uses github.com/gambol99/go-marathon for what it does right:
// its error classification (NewAPIError tells a 409 lock from a 409
// duplicate, and 404s and invalid bodies from the rest), and its types
// where they decode losslessly what theseus reads: Deployment for
// /v2/deployments, DeploymentID for the answers of writes,
// LastTaskFailure. It does not make the calls:
//
//   - its methods take no context.Context, so a hung Marathon hangs the
//     caller;
//   - it sends any call, writes included, again to the next member after
//     a 5xx or transport error, and then blacks the member out for seconds
//     (go-marathon's cluster code);
//   - its Application models only ≤1.4 JSON: "networks" and
//     container.portMappings of 1.5+ are dropped on decode and cannot be
//     sent;
//   - its PUT sends only the fields set and has no partialUpdate, so a
//     field removed from a spec survives; its float cpus and int health
//     check durations with omitempty cannot say 0, and it has no
//     delaySeconds or ignoreHttp1xx;
//   - its Task puts every health result and address in a heap object of
//     its own; its Info types every setting of marathon_config, so one
//     that changes type fails the call; its event types read the wrong
//     keys on 1.4+;
//   - its event stream reconnects silently, loses the events in the gap
//     without telling, drops unknown event types and delivers the rest out
//     of order.
package marathon
