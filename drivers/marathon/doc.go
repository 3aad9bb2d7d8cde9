// Package marathon is theseus's Marathon driver: list, read, create,
// update, scale, restart and delete the apps of groups, follow
// deployments, and read the event stream, against Marathon 1.4 to 1.10.
//
// # Why not go-marathon for everything
//
// github.com/gambol99/go-marathon v0.7.1 is the Go client of the field,
// but it cannot do this job right, so the driver makes its HTTP calls
// itself and uses go-marathon only to decode /v2/info, whose shape it
// models fully:
//
//   - its calls take no context.Context, so a hung Marathon hangs the
//     caller; here every call has a context and a timeout;
//   - it retries any call, writes included, on the next member after a
//     5xx or transport error and blacks the member out for seconds; here
//     reads are retried with backoff on 502, 503 and transport errors,
//     and writes are sent once: a write that got no answer is settled by
//     reading the app (UnknownOutcomeError when that cannot tell);
//   - it models only Marathon ≤1.4 JSON, dropping "networks" and
//     container-level port mappings of 1.5+; here both generations are
//     decoded (convert.go), and definitions are written in the shape of
//     the Marathon answering (/v2/info's version);
//   - its PUT sends only the fields set, and Marathon keeps the rest, so a
//     field removed from a spec would survive; here every controlled
//     field is sent, empty when unset, with partialUpdate=false on 1.5+;
//     its float cpus with omitempty cannot even say 0;
//   - its event stream reconnects silently and loses events in the gap;
//     here Events delivers EventResync after every attach.
//
// # Marker labels
//
// Apps theseus writes carry theseus.io/managed=true, theseus.io/group, the
// hash and /desired revision of the spec they were written from, and the
// names of secret env entries (types.go). An app without them is never
// changed.
package marathon
