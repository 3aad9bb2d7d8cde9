package marathonsim

import (
	"net/http"
)

// findVersion returns the stored version of a whose timestamp is v.
func (s *Sim) findVersion(a *app, v string) *appVersion {
	for i := len(a.history) - 1; i >= 0; i-- {
		if formatTimestamp(a.history[i].version) == v {
			return &a.history[i]
		}
	}
	return nil
}

// appVersions serves GET /v2/apps/{id}/versions, newest first.
func (s *Sim) appVersions(rawID string) reply {
	id := absoluteID(rawID, "/")
	s.mu.RLock()
	defer s.mu.RUnlock()
	a := s.apps[id]
	if a == nil {
		return errReply(errAppNotFound(id))
	}
	var w jsonBuf
	w.objOpen()
	w.key("versions")
	w.arrOpen()
	for i := len(a.history) - 1; i >= 0; i-- {
		w.time(a.history[i].version)
	}
	w.arrClose()
	w.objClose()
	return jsonReply(http.StatusOK, &w)
}

// appVersion serves GET /v2/apps/{id}/versions/{version}: the definition
// as it was.
func (s *Sim) appVersion(rawID, version string) reply {
	id := absoluteID(rawID, "/")
	s.mu.RLock()
	defer s.mu.RUnlock()
	a := s.apps[id]
	if a == nil {
		return errReply(errAppNotFound(id))
	}
	v := s.findVersion(a, version)
	if v == nil {
		return errReply(errMessage(http.StatusNotFound, "App '%s' does not exist in version %s", id, version))
	}
	old := &app{id: a.id, def: v.def, version: v.version, lastScalingAt: v.lastScaling, lastConfigChangeAt: v.lastConfig}
	var def jsonBuf
	writeDef(&def, old, s.gen, defAll)
	var w jsonBuf
	w.objOpen()
	w.b = append(w.b, def.b...)
	w.needComma = true
	w.objClose()
	return jsonReply(http.StatusOK, &w)
}
