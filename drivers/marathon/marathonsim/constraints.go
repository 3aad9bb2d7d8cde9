package marathonsim

import (
	"regexp"
	"strconv"
)

// constraintCounts counts, per constraint field, how many of an app's
// running tasks sit on agents with each value. Built lazily for one
// placement decision.
type constraintCounts struct {
	app     *app
	byField map[string]map[string]int
}

func newConstraintCounts(a *app) *constraintCounts {
	return &constraintCounts{app: a, byField: map[string]map[string]int{}}
}

func (c *constraintCounts) values(field string) map[string]int {
	if m, ok := c.byField[field]; ok {
		return m
	}
	m := map[string]int{}
	for _, t := range c.app.tasks {
		if !t.goalRunning() {
			continue
		}
		if v, ok := fieldValue(t.agent, field); ok {
			m[v]++
		}
	}
	c.byField[field] = m
	return m
}

// fieldValue is the value a constraint field has on an agent: its
// hostname, its fault domain, or a Mesos attribute.
func fieldValue(a *agent, field string) (string, bool) {
	switch field {
	case "hostname", "@hostname":
		return a.Hostname, true
	case "@region":
		return a.Region, a.Region != ""
	case "@zone":
		return a.Zone, a.Zone != ""
	}
	v, ok := a.Attributes[field]
	return v, ok
}

func (s *Sim) meetsConstraints(d *appDef, ag *agent, counts *constraintCounts) bool {
	for _, c := range d.Constraints {
		if !s.meets(c, ag, counts) {
			return false
		}
	}
	return true
}

// meets implements Marathon's Constraints.meetsConstraint for one agent.
// An agent without the field's attribute only satisfies UNLIKE.
func (s *Sim) meets(c []string, ag *agent, counts *constraintCounts) bool {
	if len(c) < 2 {
		return true
	}
	field, op := c[0], upper(c[1])
	value := ""
	if len(c) == 3 {
		value = c[2]
	}
	v, ok := fieldValue(ag, field)
	if !ok {
		return op == "UNLIKE"
	}
	switch op {
	case "UNIQUE":
		return counts.values(field)[v] == 0
	case "CLUSTER":
		if value != "" {
			return v == value
		}
		m := counts.values(field)
		for other, n := range m {
			if n > 0 && other != v {
				return false
			}
		}
		return true
	case "GROUP_BY":
		m := counts.values(field)
		least := -1
		for _, other := range s.agents {
			ov, ok := fieldValue(other, field)
			if !ok {
				continue
			}
			if n := m[ov]; least < 0 || n < least {
				least = n
			}
		}
		return m[v] <= least
	case "LIKE":
		re := s.regex(value)
		return re != nil && re.MatchString(v)
	case "UNLIKE":
		re := s.regex(value)
		return re == nil || !re.MatchString(v)
	case "MAX_PER":
		n, err := strconv.Atoi(value)
		return err == nil && counts.values(field)[v] < n
	case "IS":
		return v == value
	}
	return true
}

// regex compiles constraint patterns once.
func (s *Sim) regex(expr string) *regexp.Regexp {
	if re, ok := s.regexCache[expr]; ok {
		return re
	}
	re, err := compileAnchored(expr)
	if err != nil {
		re = nil
	}
	if s.regexCache == nil {
		s.regexCache = map[string]*regexp.Regexp{}
	}
	s.regexCache[expr] = re
	return re
}
