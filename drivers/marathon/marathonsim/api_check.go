package marathonsim

import (
	"net/http"
)

// readApp parses and type-checks an app body.
func (s *Sim) readApp(r *http.Request) (*appInput, *apiError) {
	body, e := readBody(r)
	if e != nil {
		return nil, e
	}
	tree, e := parseJSON(body)
	if e != nil {
		return nil, e
	}
	te := s.typeErrors()
	in := decodeApp(tree, &te, s.gen)
	if e := s.invalidJSON(&te); e != nil {
		return nil, e
	}
	return in, nil
}

// typeErrors starts the collection of type errors of a body, with the RAML
// bounds checked while reading from Marathon 1.5 on.
func (s *Sim) typeErrors() typeErrors { return typeErrors{raml: s.gen == Gen15} }

// invalidJSON is the answer to a body that does not read as what it
// should be: "Invalid JSON" with play-json's error keys, 400 up to
// Marathon 1.4 and 422 from 1.5 on.
func (s *Sim) invalidJSON(te *typeErrors) *apiError {
	e := te.err()
	if e != nil && s.gen == Gen15 {
		e.status = http.StatusUnprocessableEntity
	}
	return e
}

// check validates def, the definition an app body makes (prev is the
// app's definition before, nil for a new app), as Marathon does: the
// deprecated fields of the body first, and a body with errors there gets
// those alone; then the canonical definition and what depends on
// Marathon's settings (features, roles). The problems are added to p
// under prefix.
func (s *Sim) check(p *problems, prefix string, in *appInput, def, prev *appDef, rawID string) {
	var sub problems
	validateLegacy(in, &sub)
	if len(sub.details) == 0 {
		validateDef(def, rawID, s.gen, &sub)
		s.validateSettings(def, prev, &sub)
	}
	for _, d := range sub.details {
		for _, msg := range d.Errors {
			p.add(prefix+d.Path, msg)
		}
	}
}

// checkOne is check for a single app body.
func (s *Sim) checkOne(in *appInput, def, prev *appDef, rawID string) *apiError {
	var p problems
	s.check(&p, "", in, def, prev, rawID)
	return p.err()
}
