// Package marathonsim is a Marathon-compatible HTTP server that stands in
// for a real Mesos Marathon in tests, benchmarks and `theseusd dev`.
//
// It serves the parts of Marathon's v2 REST API a reconciler uses — apps
// (list with filters and embeds, create, update with partialUpdate, patch,
// delete, restart, versions), tasks (list, kill, kill-and-scale),
// deployments (list, rollback, forced cancel), groups (read), queue, info,
// leader, ping — and the /v2/events server-sent event stream, with
// Marathon's JSON shapes, validation messages, status codes and headers.
// Options.Generation chooses the answers of Marathon up to 1.4 (what
// go-marathon v0.7.1 understands: docker.network, docker.portMappings,
// "ports", task ids "app.uuid") or of 1.5 and later ("networks",
// container.portMappings, task ids "app.instance-uuid._app.1"); both
// accept both request shapes.
//
// # What is modelled
//
// Deployments are step plans (create = StartApplication then
// ScaleApplication; scale-only = ScaleApplication, which never restarts a
// running task; any other change or a restart = RestartApplication; delete
// = StopApplication) that take simulated time and have no timeout. The
// rolling restart follows Marathon's TaskReplaceActor arithmetic exactly
// (minHealthy = ceil(n × minimumHealthCapacity), maxCapacity =
// floor(n × (1 + maximumOverCapacity)), one extra instance when they are
// equal, one old instance killed per new healthy one) and is gated on
// health. An app is locked while a deployment holds it (409 with the
// deployment ids); force=true cancels the holder (deployment_failed) and
// starts from whatever mix of old and new tasks exists; DELETE of a
// deployment starts a rollback deployment, with force=true it just stops.
//
// Tasks stage, start and run on simulated agents with finite CPUs, memory,
// disk and port ranges, placed according to the constraint operators
// UNIQUE, CLUSTER, GROUP_BY, LIKE, UNLIKE, MAX_PER and IS; what cannot be
// placed waits in the launch queue, and a deployment waiting for it does
// not finish. Health checks pass or fail after the grace period on the
// check's interval; tasks that fail maxConsecutiveFailures checks are
// killed and, like failed tasks, relaunched with Marathon's backoff.
//
// Time is simulated. A ManualClock moves only when a test advances it, and
// every timer due by then fires in order before Advance returns, so unit
// tests are deterministic and a ten-minute rollout takes microseconds. A
// ScaledClock runs at a multiple of real time for end-to-end tests where a
// controller talks to the simulator over HTTP; scale 1 is real time, for
// `theseusd dev`.
//
// Faults can be injected at run time (Sim.Faults): error statuses or
// latency on chosen routes, hung requests, dropped event streams, a leader
// change, images whose tasks crash or never become healthy (named by a
// glob, see MatchImage), stalled deployments. Image faults can also be
// listed, added and cleared over HTTP under AdminPrefix ("/_sim/"), a
// path real Marathon does not serve (see admin.go). Every request is logged and counted by method, route and
// status (Sim.RequestCounts), and the state can be read and poked from Go
// (Sim.Apps, Sim.Tasks, Sim.Deployments, Sim.KillTask, Sim.SetTaskHealth).
//
// Apps with local persistent volumes are resident: each instance reserves
// its resources and volumes on an agent, its tasks are relaunched there
// (after a restart, a failure, a scale down and up), and the reservation
// goes with the app; a restart kills before it starts, as Marathon does
// for resident apps. An external volume attaches to one task at a time.
// The Mesos fetcher's downloads lengthen staging and can be made to fail
// (Faults.FailFetch). A readiness check passes one interval after the task
// runs (unless Faults.NeverReadyImage), and deployments count a task only
// once it is ready. Scale-downs and restarts kill per killSelection; a
// killed task stays TASK_KILLING for its taskKillGracePeriodSeconds.
//
// Options.MesosRole and Options.EnabledFeatures are Marathon's
// --mesos_role and --enable_features, with Marathon 1.10's defaults ("*",
// none): apps that need the secrets, external_volumes or gpu_resources
// feature are refused without it, and in 1.10 an app's role must be the
// --mesos_role, its top-level group's name or the role it has, and a
// resident app's not "*".
//
// # Mesos
//
// Sim.ListenMesos serves the Mesos master under the simulated Marathon
// and each agent on an address of its own, with Mesos 1.10's JSON:
// /master/slaves, /master/state and /master/tasks, and on each agent
// /state, /monitor/statistics and /files/read. They agree with the
// Marathon state: the agents tasks are placed on, their resources used by
// the tasks, each task's status history, the tasks that ended (the newest
// 1,000). Each task runs under a command executor whose sandbox holds a
// stdout and a stderr that grow as the task runs and end, for a failed
// task, with lines that say why; usage figures move with the clock (see
// mesos_sandbox.go and mesos_usage.go). Faults that name a Mesos route
// (RouteMesosState, RouteAgentFilesRead, ...) apply to it; authentication
// is what MesosOptions.Wrap adds. Offers, reservations and roles (every
// resource shows as unreserved, also what resident apps reserve), agents that leave, and executors other than
// the command executor are not modelled.
//
// # What is not modelled
//
// Pods, app dependencies (they are stored, not used to order steps),
// group writes (PUT, POST and DELETE /v2/groups), enforceRole of groups,
// /v2/apps/{id}/versions beyond the last 50 versions, unreachable tasks
// and agent loss, Mesos offers and reserved resources of roles
// (acceptedResourceRoles is validated and stored, not enforced), readiness
// and health checks actually probing anything, authentication, the
// callback event API, the heavy deployment plan of pre-1.8 events (events
// carry the light plan in both generations), and HTTP redirects between
// Marathon instances. Marathon's periodic scale check runs every
// Options.ScaleCheckInterval; apps a forced deployment cancel left short
// are topped up then.
//
// # Concurrency
//
// One mutex owns the simulated state; HTTP handlers and clock ticks take
// it in turn and build their answers under it, writing them after it is
// released. Event streams have bounded buffers: a subscriber that does not
// keep up is disconnected, never waited for. Close ends every goroutine
// the simulator started.
package marathonsim
