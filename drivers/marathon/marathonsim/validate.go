package marathonsim

import (
	"fmt"
	"net/http"
	"regexp"
	"strconv"
)

// problems collects validation failures as Marathon's 422 details.
type problems struct{ details []detail }

func (p *problems) add(path, msg string) {
	for i := range p.details {
		if p.details[i].Path == path {
			p.details[i].Errors = append(p.details[i].Errors, msg)
			return
		}
	}
	p.details = append(p.details, detail{Path: path, Errors: []string{msg}})
}

func (p *problems) err() *apiError {
	if len(p.details) == 0 {
		return nil
	}
	return errNotValid(p.details)
}

// Validation messages, verbatim from Marathon's validators.
const (
	msgCmdArgsContainer = "AppDefinition must either contain one of 'cmd' or 'args', and/or a 'container'."
	msgNotRoot          = "must not be root"
	msgEmptyCmd         = "must not be an empty string"
	msgPortMappingsHost = "portMappings are not allowed with host-networking"
	msgPortDefsNonHost  = "portDefinitions are only allowed with host-networking"
	msgPortNamesUnique  = "Port names must be unique."
	msgPortsUnique      = "Ports must be unique."
	msgHealthPortIndex  = "Health check port indices must address an element of the ports array or container port mappings."
	msgOneMesosCheck    = "AppDefinition can contain at most one Mesos health check"
	msgIPv6Check        = "IPv6 can only be used for container type DOCKER and Mesos http/https/tcp health checks"
	msgDockerOneNetwork = "may only specify a single container network when using the Docker container engine"
	msgVersionOnly      = "The 'version' field may only be combined with the 'id' field."
	msgNotEmpty         = "must not be empty"
	msgNotDefined       = "not defined"
	msgSingleInstance   = "Single instance app may only have one instance"
	msgNetworksMix      = "Must specify either a single host network, or else 1-to-n container networks"
)

// executorPattern is AppDefinition's executor rule.
var executorPattern = regexp.MustCompile(`^(?:(//cmd)|(/?[^/]+(/[^/]+)*)|)$`)

// validateLegacy applies the checks Marathon runs on the deprecated request
// fields of a body before translating them (validateOldAppAPI).
func validateLegacy(in *appInput, p *problems) {
	seen := map[int]bool{}
	for _, port := range in.ports {
		if port != 0 && seen[port] {
			p.add("/", "ports must be unique")
			break
		}
		seen[port] = true
	}
	if in.ports != nil && in.given["portDefinitions"] && len(in.ports) > 0 && len(in.def.PortDefinitions) > 0 {
		same := len(in.ports) == len(in.def.PortDefinitions)
		for i := 0; same && i < len(in.ports); i++ {
			same = in.ports[i] == in.def.PortDefinitions[i].Port
		}
		if !same {
			p.add("/", "cannot specify both ports and port definitions")
		}
	}
	if in.ipAddressSet {
		if len(in.ports) > 0 || len(in.def.PortDefinitions) > 0 {
			p.add("/", "cannot specify both an IP address and port")
		}
		if in.given["networks"] && len(in.def.Networks) > 0 {
			p.add("/", "must not specify both networks and ipAddress")
		}
		if disc, ok := in.def.IPAddress["discovery"].(map[string]any); ok && len(disc) > 0 &&
			in.def.Container != nil && in.def.Container.Type == "DOCKER" {
			p.add("/ipAddress", "ipAddress/discovery is not allowed for Docker containers")
		}
	}
	if in.dockerNet != "" && in.given["networks"] {
		p.add("/", "must not specify both container.docker.network and networks")
	}
	if len(in.uris) > 0 && len(in.def.Fetch) > 0 && in.given["fetch"] {
		p.add("/uris", "may not be set in conjunction with fetch")
	}
}

// validateDef applies Marathon's app validation (validateCanonicalAppAPI
// and the scheduling rules) to a canonical definition. rawID is the id as
// written, checked before canonicalisation.
func validateDef(d *appDef, rawID string, gen Generation, p *problems) {
	for _, m := range idErrors(rawID) {
		p.add("/id", m)
	}
	if d.ID == "/" {
		p.add("/", msgNotRoot)
	}
	if d.Cmd != nil && len(*d.Cmd) <= 1 {
		p.add("/", msgEmptyCmd)
	}
	hasCmd, hasArgs := d.Cmd != nil, len(d.Args) > 0
	hasContainer := d.Container.runsImage()
	if !((hasCmd != hasArgs) || (!(hasCmd && hasArgs) && hasContainer)) {
		p.add("/", msgCmdArgsContainer)
	}
	minimum(p, "/cpus", d.CPUs, 0.001)
	minimum(p, "/mem", d.Mem, 0)
	minimum(p, "/disk", d.Disk, 0)
	minimum(p, "/gpus", d.GPUs, 0)
	minimum(p, "/instances", float64(d.Instances), 0)
	minimum(p, "/backoffSeconds", d.BackoffSeconds, 0)
	minimum(p, "/backoffFactor", d.BackoffFactor, 0)
	minimum(p, "/maxLaunchDelaySeconds", d.MaxLaunchDelaySeconds, 0)
	between(p, "/upgradeStrategy/minimumHealthCapacity", d.UpgradeStrategy.MinimumHealthCapacity, 0, 1)
	between(p, "/upgradeStrategy/maximumOverCapacity", d.UpgradeStrategy.MaximumOverCapacity, 0, 1)
	if d.Labels["MARATHON_SINGLE_INSTANCE_APP"] == "true" {
		if d.Instances > 1 {
			p.add("/", msgSingleInstance)
		}
		if d.UpgradeStrategy.MinimumHealthCapacity != 0 {
			p.add("/upgradeStrategy/minimumHealthCapacity", fmt.Sprintf("got %v, expected 0.0", d.UpgradeStrategy.MinimumHealthCapacity))
		}
		if d.UpgradeStrategy.MaximumOverCapacity != 0 {
			p.add("/upgradeStrategy/maximumOverCapacity", fmt.Sprintf("got %v, expected 0.0", d.UpgradeStrategy.MaximumOverCapacity))
		}
	}
	if !executorPattern.MatchString(d.Executor) {
		p.add("/executor", "must fully match regular expression '^(//cmd)|(/?[^/]+(/[^/]+)*)|$'")
	}
	if d.AcceptedResourceRoles != nil && len(d.AcceptedResourceRoles) == 0 {
		p.add("/acceptedResourceRoles", msgNotEmpty)
	}
	for i, dep := range d.Dependencies {
		for _, m := range idErrors(dep) {
			if m != msgIDReserved {
				p.add(idx("/dependencies", i), m)
			}
		}
	}
	for i, c := range d.Constraints {
		if msg := constraintError(c, gen); msg != "" {
			p.add(idx("/constraints", i), msg)
		}
	}
	validateNetworking(d, p)
	validateHealthChecks(d, p)
	validateReadiness(d, p)
}

// runsImage reports whether a container names what to run, so that an
// app needs neither cmd nor args: a Docker image, or for the Mesos
// containerizer either a Docker or an AppC image (AppValidation's
// containsCmdArgsOrContainer).
func (c *container) runsImage() bool {
	if c == nil {
		return false
	}
	appc := c.Extra["appc"] != nil
	switch c.Type {
	case "DOCKER":
		return c.Docker != nil && !appc
	case "MESOS":
		return (c.Docker != nil) != appc
	}
	return false
}

func minimum(p *problems, path string, v, min float64) {
	if v < min {
		p.add(path, "is less than "+strconv.FormatFloat(min, 'f', -1, 64))
	}
}

func between(p *problems, path string, v, min, max float64) {
	minimum(p, path, v, min)
	if v > max {
		p.add(path, "is greater than "+strconv.FormatFloat(max, 'f', -1, 64))
	}
}

func validateNetworking(d *appDef, p *problems) {
	mode := d.networkMode()
	containers := 0
	for _, n := range d.Networks {
		if n.Mode == modeContainer {
			containers++
		}
		if (n.Mode == modeHost || n.Mode == modeBridge) && len(d.Networks) > 1 {
			p.add("/networks", msgNetworksMix)
			break
		}
	}
	if c := d.Container; c != nil {
		if c.Type == "DOCKER" {
			if c.Docker == nil {
				p.add("/container/docker", msgNotDefined)
			} else if c.Docker.Image == "" {
				p.add("/container/docker/image", msgNotEmpty)
			}
			if containers > 1 {
				p.add("/", msgDockerOneNetwork)
			}
		} else if c.Docker != nil && c.Docker.Image == "" {
			p.add("/container/docker/image", msgNotEmpty)
		}
		if !uniqueNames(len(c.PortMappings), func(i int) string { return c.PortMappings[i].Name }) {
			p.add("/container/portMappings", msgPortNamesUnique)
		}
		if mode == modeHost && len(c.PortMappings) > 0 {
			p.add("/", msgPortMappingsHost)
		}
	}
	if mode != modeHost && len(d.PortDefinitions) > 0 {
		p.add("/", msgPortDefsNonHost)
	}
	pd := d.PortDefinitions
	if !uniqueNames(len(pd), func(i int) string { return pd[i].Name }) {
		p.add("/portDefinitions", msgPortNamesUnique)
	}
	seen := map[int]bool{}
	for _, x := range pd {
		if x.Port != 0 && seen[x.Port] {
			p.add("/portDefinitions", msgPortsUnique)
			break
		}
		seen[x.Port] = true
	}
}

// uniqueNames reports whether the non-empty names among n are distinct.
func uniqueNames(n int, name func(int) string) bool {
	seen := map[string]bool{}
	for i := 0; i < n; i++ {
		s := name(i)
		if s == "" {
			continue
		}
		if seen[s] {
			return false
		}
		seen[s] = true
	}
	return true
}

func validateHealthChecks(d *appDef, p *problems) {
	ports := d.portCount()
	mesosChecks, commandChecks := 0, 0
	isDocker := d.Container != nil && d.Container.Type == "DOCKER"
	for i, hc := range d.HealthChecks {
		path := idx("/healthChecks", i)
		switch hc.Protocol {
		case "HTTP", "HTTPS", "TCP":
			if hc.Command == nil {
				ok := false
				if hc.PortIndex != nil {
					ok = *hc.PortIndex >= 0 && *hc.PortIndex < ports
				} else {
					ok = hc.Port != nil || ports == 1
				}
				if !ok {
					p.add(path, msgHealthPortIndex)
				}
			}
		case "COMMAND":
			if hc.Command == nil {
				p.add(path+"/command", msgNotDefined)
			}
		}
		switch hc.Protocol {
		case "COMMAND", "MESOS_HTTP", "MESOS_HTTPS", "MESOS_TCP":
			mesosChecks++
		}
		if hc.Command != nil {
			commandChecks++
			if hc.Protocol != "COMMAND" {
				mesosChecks++
			}
		}
		isMesosNet := hc.Protocol == "MESOS_HTTP" || hc.Protocol == "MESOS_HTTPS" || hc.Protocol == "MESOS_TCP"
		if hc.IPProtocol != "IPv4" && !(isMesosNet && isDocker) {
			p.add(path, msgIPv6Check)
		}
		minimum(p, path+"/gracePeriodSeconds", float64(hc.GracePeriodSeconds), 0)
		minimum(p, path+"/intervalSeconds", float64(hc.IntervalSeconds), 0)
		minimum(p, path+"/timeoutSeconds", float64(hc.TimeoutSeconds), 0)
		minimum(p, path+"/maxConsecutiveFailures", float64(hc.MaxConsecutiveFailures), 0)
	}
	if mesosChecks-commandChecks > 1 {
		p.add("/", msgOneMesosCheck)
	}
}

func validateReadiness(d *appDef, p *problems) {
	if n := len(d.ReadinessChecks); n > 1 {
		p.add("/readinessChecks", fmt.Sprintf("has size %d, expected 1 or less", n))
	}
	names := map[string]bool{}
	for _, pd := range d.PortDefinitions {
		names[pd.Name] = true
	}
	if pm := d.portMappings(); len(pm) > 0 {
		names = map[string]bool{}
		for _, m := range pm {
			names[m.Name] = true
		}
	}
	for i, rc := range d.ReadinessChecks {
		path := idx("/readinessChecks", i)
		if !names[rc.PortName] {
			p.add(path+"/portName", "No port definition reference for portName "+rc.PortName)
		}
		if rc.TimeoutSeconds >= rc.IntervalSeconds {
			p.add(path+"/timeoutSeconds", fmt.Sprintf("got %d, expected less than %d", rc.TimeoutSeconds, rc.IntervalSeconds))
		}
	}
}

// constraintError returns the message Marathon gives for a malformed
// constraint, or "". The messages differ between generations.
func constraintError(c []string, gen Generation) string {
	if len(c) < 2 || len(c) > 3 {
		return "Each constraint must have either 2 or 3 fields"
	}
	field, op := c[0], c[1]
	value, hasValue := "", len(c) == 3
	if hasValue {
		value = c[2]
	}
	if gen == Gen14 {
		return constraintError14(c, op, value, hasValue)
	}
	if field == "" {
		return "illegal constraint specification"
	}
	switch upper(op) {
	case "UNIQUE":
		if hasValue {
			return "UNIQUE does not accept a value"
		}
	case "CLUSTER":
	case "GROUP_BY":
		if hasValue && !isInt(value) {
			return "GROUP BY must define an integer value or else no value at all"
		}
	case "MAX_PER":
		if !hasValue || !isInt(value) {
			return "MAX_PER requires an integer value"
		}
	case "LIKE", "UNLIKE":
		if !hasValue || value == "" {
			return "LIKE and UNLIKE require a non-empty, regular expression value"
		}
		if _, err := compileAnchored(value); err != nil {
			return "is not a valid regular expression"
		}
	case "IS":
		if !isMesosLiteral(value) {
			return "IS only supports Mesos text and float values (see http://mesos.apache.org/documentation/latest/attributes-resources/)"
		}
	default:
		return "operator must be one of the following UNIQUE, CLUSTER, GROUP_BY, LIKE, MAX_PER, UNLIKE or IS"
	}
	return ""
}

// constraintError14 is Marathon 1.4's constraint validation: operators are
// case-sensitive, IS does not exist, CLUSTER needs a value.
func constraintError14(c []string, op, value string, hasValue bool) string {
	switch op {
	case "UNIQUE":
		if hasValue {
			return "Value specified but not used"
		}
	case "CLUSTER":
		if !hasValue {
			return "Missing value"
		}
	case "GROUP_BY":
		if hasValue && !isInt(value) {
			return "Value was specified but is not a number"
		}
	case "MAX_PER":
		if hasValue && !isInt(value) {
			return "Value was not specified or is not a number"
		}
	case "LIKE", "UNLIKE":
		if !hasValue {
			return "A regular expression value must be provided"
		}
		if _, err := compileAnchored(value); err != nil {
			return fmt.Sprintf("'%s' is not a valid regular expression", value)
		}
	default:
		return "Constraint operator must be one of the following UNIQUE, CLUSTER, GROUP_BY, LIKE, MAX_PER or UNLIKE"
	}
	return ""
}

func isInt(s string) bool {
	_, err := strconv.ParseInt(s, 10, 32)
	return err == nil
}

var mesosLiteral = regexp.MustCompile(`^[a-zA-Z0-9_/.-]*$`)

func isMesosLiteral(s string) bool { return mesosLiteral.MatchString(s) }

// compileAnchored compiles a constraint regex for full-string matching,
// as Java's Pattern.matches does.
func compileAnchored(expr string) (*regexp.Regexp, error) {
	return regexp.Compile("^(?:" + expr + ")$")
}

func upper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'a' && c <= 'z' {
			b[i] = c - 'a' + 'A'
		}
	}
	return string(b)
}

// versionOnlyError is the answer to an update that combines "version"
// (a rollback request) with other fields.
func versionOnlyError(gen Generation) *apiError {
	if gen == Gen14 {
		return errMessage(http.StatusUnprocessableEntity, "requirement failed: %s", msgVersionOnly)
	}
	return errNotValid([]detail{{Path: "/", Errors: []string{msgVersionOnly}}})
}
