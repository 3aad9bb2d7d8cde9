// Package mesos is theseus's Mesos driver: it reads, never writes, what
// Mesos knows below Marathon. From the leading master, /master/slaves
// (agents: hostname, attributes, resources total, used and reserved) and
// /master/state (every framework's tasks: agent, executor, state and
// status history); from an agent, /state (executors and their sandbox
// directories), /files/read (a file of a sandbox, such as a task's stdout
// or stderr) and /monitor/statistics (each executor's CPU and memory
// usage). These are Mesos's unversioned ("v0") endpoints, served by Mesos
// 0.25 to 1.11 under these names.
//
// # Calls
//
// Every call takes a context and is bounded by Config.Timeout, retries
// included. All calls are reads: they are retried with jittered
// exponential backoff on 502, 503 (a master without a leader answers
// "No leader elected") and 504 and on transport errors, moving on to the
// next master. A master that is not the leader redirects with 307 to the
// leader; the redirect is followed, with the credentials only to a
// configured master: a redirect to a leader named otherwise (its hostname
// where the masters are configured by address) has the other masters
// asked in its stead. Before 1.0 a master that is not the leader answers
// with its own, empty view: one whose /master/state has a pid that is not
// the leader's is passed over for the next master, and an empty
// /master/slaves is checked against /master/state. Other answers
// are typed: ErrNotFound for 404, *APIError for the rest (Unauthorized
// and Forbidden among them, which retrying cannot fix), a decode error
// for a body that is not Mesos's JSON.
//
// Agents are reached at the address of their libprocess pid
// ("slave(1)@10.0.1.7:5051"), with the masters' scheme and credentials;
// Config.AgentProxy reaches them through DC/OS's Admin Router instead, at
// /agent/{id}/... beside the masters' /mesos.
//
// # Decoding
//
// Mesos prints every number as a double (older versions drop the ".0"),
// leaves out what it does not know and renamed nothing in its JSON when
// slaves became agents, so every field is optional and every number is
// read as a float; resources are a map of name to number (scalars) or to
// Mesos's text of ranges ("[31000-32000, 33000-33010]") and sets. The
// decoders are checked against bodies recorded from Mesos 0.19 to 1.4
// (testdata/mesos) and fuzzed. The data of /files/read is a file's
// bytes, not text: Mesos 1.x writes them raw (a read may end inside a
// character), 0.2x one \u00XX escape per byte, so it is decoded by hand
// and offsets count bytes as the agent does.
package mesos
