package marathonsim

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	jsonv2 "github.com/go-json-experiment/json"
)

// The simulator's admin API lives under AdminPrefix, a path real Marathon
// does not serve, so that an operator of `theseusd dev` can break things
// on purpose with curl and watch the controller react. It is not part of
// Marathon's API and is neither logged nor counted as Marathon requests,
// and it answers while the simulated Marathon has no leader.
//
//	GET    /_sim/faults/images       {"faults": [ImageFault…]}
//	POST   /_sim/faults/images       ImageFault → 201 ImageFault (with its id)
//	DELETE /_sim/faults/images       every image fault cleared → 204
//	DELETE /_sim/faults/images/{id}  that fault cleared → 204, or 404
//
// An ImageFault is {"kind": "fail"|"unhealthy"|"unready", "image": GLOB,
// "afterSeconds": N, "message": TEXT}; afterSeconds and message apply to
// "fail" only. Errors are {"message": TEXT} with 400 (the body), 404 or
// 405.
const (
	AdminPrefix      = "/_sim/"
	AdminImageFaults = AdminPrefix + "faults/images"
)

// maxAdminBody bounds an admin request body.
const maxAdminBody = 64 << 10

// imageFaultJSON is an image fault on the admin API.
type imageFaultJSON struct {
	ID           FaultID        `json:"id,omitempty"`
	Kind         ImageFaultKind `json:"kind"`
	Image        string         `json:"image"`
	AfterSeconds float64        `json:"afterSeconds,omitempty"`
	Message      string         `json:"message,omitempty"`
}

func imageFaultToJSON(f ImageFault) imageFaultJSON {
	return imageFaultJSON{ID: f.ID, Kind: f.Kind, Image: f.Image, AfterSeconds: f.After.Seconds(), Message: f.Message}
}

// decodeImageFault decodes and checks an image fault from an admin
// request body: one JSON object, with no unknown or misspelt member.
func decodeImageFault(data []byte) (ImageFault, error) {
	var j imageFaultJSON
	if err := jsonv2.Unmarshal(data, &j, jsonv2.RejectUnknownMembers(true)); err != nil {
		return ImageFault{}, fmt.Errorf("want {\"kind\", \"image\", \"afterSeconds\", \"message\"}: %w", err)
	}
	if j.ID != 0 {
		return ImageFault{}, errors.New("id is given by the simulator, not the request")
	}
	if !(j.AfterSeconds >= 0 && j.AfterSeconds <= maxCrashAfter.Seconds()) {
		return ImageFault{}, fmt.Errorf("afterSeconds %g: want between 0 and %g", j.AfterSeconds, maxCrashAfter.Seconds())
	}
	f := ImageFault{Kind: j.Kind, Image: j.Image, After: time.Duration(j.AfterSeconds * float64(time.Second)), Message: j.Message}
	if err := f.Check(); err != nil {
		return ImageFault{}, err
	}
	return f, nil
}

// serveAdmin serves the admin API.
func (s *Sim) serveAdmin(w http.ResponseWriter, r *http.Request) {
	path := strings.TrimSuffix(r.URL.Path, "/")
	switch {
	case path == AdminImageFaults:
		switch r.Method {
		case http.MethodGet, http.MethodHead:
			faults := s.Faults().Images()
			out := struct {
				Faults []imageFaultJSON `json:"faults"`
			}{Faults: make([]imageFaultJSON, 0, len(faults))}
			for _, f := range faults {
				out.Faults = append(out.Faults, imageFaultToJSON(f))
			}
			writeAdminJSON(w, http.StatusOK, out)
		case http.MethodPost:
			s.postImageFault(w, r)
		case http.MethodDelete:
			s.Faults().ClearImages()
			w.WriteHeader(http.StatusNoContent)
		default:
			adminError(w, http.StatusMethodNotAllowed, "%s is not allowed on %s", r.Method, path)
		}
	case strings.HasPrefix(path, AdminImageFaults+"/"):
		if r.Method != http.MethodDelete {
			adminError(w, http.StatusMethodNotAllowed, "%s is not allowed on %s", r.Method, path)
			return
		}
		n, err := strconv.ParseUint(strings.TrimPrefix(path, AdminImageFaults+"/"), 10, 64)
		if err != nil || !s.faults.hasImage(FaultID(n)) {
			adminError(w, http.StatusNotFound, "no image fault %s", strings.TrimPrefix(path, AdminImageFaults+"/"))
			return
		}
		s.Faults().Clear(FaultID(n))
		w.WriteHeader(http.StatusNoContent)
	default:
		adminError(w, http.StatusNotFound, "%s: the simulator's admin API serves %s", path, AdminImageFaults)
	}
}

func (s *Sim) postImageFault(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxAdminBody+1))
	switch {
	case err != nil:
		adminError(w, http.StatusBadRequest, "read the body: %v", err)
		return
	case len(body) > maxAdminBody:
		adminError(w, http.StatusBadRequest, "body larger than %d bytes", maxAdminBody)
		return
	}
	f, err := decodeImageFault(body)
	if err != nil {
		adminError(w, http.StatusBadRequest, "%v", err)
		return
	}
	f.ID, err = s.Faults().AddImage(f)
	if err != nil { // decodeImageFault checked it already
		adminError(w, http.StatusBadRequest, "%v", err)
		return
	}
	writeAdminJSON(w, http.StatusCreated, imageFaultToJSON(f))
}

func writeAdminJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil { // plain values only
		panic("marathonsim: encode admin answer: " + err.Error())
	}
	writeJSON(w, status, append(b, '\n'))
}

func adminError(w http.ResponseWriter, status int, format string, args ...any) {
	writeAdminJSON(w, status, struct {
		Message string `json:"message"`
	}{fmt.Sprintf(format, args...)})
}
