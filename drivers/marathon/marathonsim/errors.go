package marathonsim

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
)

// apiError is an error answer in Marathon's shape: a status and a JSON
// body with at least "message", or, for the few answers Jetty itself
// gives, an HTML page.
type apiError struct {
	status  int
	message string
	details any      // nil, []detail or a string (parser message)
	locks   []string // deployment ids, for the 409 "locked" answer
	html    bool     // Jetty HTML page instead of JSON
}

func (e *apiError) Error() string {
	return fmt.Sprintf("marathonsim: %d %s", e.status, e.message)
}

// write sends the error.
func (e *apiError) write(w http.ResponseWriter) {
	if e.html {
		writeJettyHTML(w, e.status, e.message)
		return
	}
	var b jsonBuf
	b.objOpen()
	b.key("message")
	b.str(e.message)
	switch d := e.details.(type) {
	case []detail:
		b.key("details")
		b.arrOpen()
		for _, x := range d {
			b.objOpen()
			b.key("path")
			b.str(x.Path)
			b.key("errors")
			b.strings(x.Errors)
			b.objClose()
		}
		b.arrClose()
	case string:
		b.key("details")
		b.str(d)
	}
	if e.locks != nil {
		b.key("deployments")
		b.arrOpen()
		for _, id := range e.locks {
			b.objOpen()
			b.key("id")
			b.str(id)
			b.objClose()
		}
		b.arrClose()
	}
	b.objClose()
	writeJSON(w, e.status, b.b)
}

// writeJettyHTML writes the HTML error page Jetty produces for errors that
// never reach Marathon's JSON mapper (502 from the leader proxy, 405 from
// the event-stream servlet).
func writeJettyHTML(w http.ResponseWriter, status int, message string) {
	w.Header().Set("Content-Type", "text/html;charset=ISO-8859-1")
	w.Header().Set("Cache-Control", "must-revalidate,no-cache,no-store")
	w.WriteHeader(status)
	esc := htmlEscape(message)
	fmt.Fprintf(w, "<html>\n<head>\n<meta http-equiv=\"Content-Type\" content=\"text/html;charset=ISO-8859-1\"/>\n"+
		"<title>Error %d %s</title>\n</head>\n<body><h2>HTTP ERROR %d</h2>\n<p>Problem accessing %s. Reason:\n"+
		"<pre>    %s</pre></p><hr><i><small>Powered by Jetty://</small></i><hr/>\n</body>\n</html>\n",
		status, esc, status, "/", esc)
}

func htmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;").Replace(s)
}

func writeJSON(w http.ResponseWriter, status int, body []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-cache, no-store, must-revalidate")
	h.Set("Pragma", "no-cache")
	h.Set("Expires", "0")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

func errMessage(status int, format string, args ...any) *apiError {
	return &apiError{status: status, message: fmt.Sprintf(format, args...)}
}

func errInvalidJSON(details []detail) *apiError {
	sortDetails(details)
	return &apiError{status: http.StatusBadRequest, message: "Invalid JSON", details: details}
}

func errInvalidJSONText(parserMessage string) *apiError {
	return &apiError{status: http.StatusBadRequest, message: "Invalid JSON", details: parserMessage}
}

func errNotValid(details []detail) *apiError {
	sortDetails(details)
	return &apiError{status: http.StatusUnprocessableEntity, message: "Object is not valid", details: details}
}

func errAppNotFound(id string) *apiError {
	return errMessage(http.StatusNotFound, "App '%s' does not exist", id)
}

func errAppExists(id string) *apiError {
	return errMessage(http.StatusConflict, "An app with id [%s] already exists.", id)
}

func errTaskNotFound(id string) *apiError {
	return errMessage(http.StatusNotFound, "Task '%s' does not exist", id)
}

func errDeploymentNotFound(id string) *apiError {
	return errMessage(http.StatusNotFound, "DeploymentPlan %s does not exist", id)
}

func errGroupNotFound(id string) *apiError {
	return errMessage(http.StatusNotFound, "Group '%s' does not exist", id)
}

// lockedMessage is Marathon's text, placeholder included: Marathon never
// fills in the id, it lists the ids under "deployments".
const lockedMessage = "App is locked by one or more deployments. Override with the option '?force=true'. " +
	"View details at '/v2/deployments/<DEPLOYMENT_ID>'."

func errLocked(ids []string) *apiError {
	return &apiError{status: http.StatusConflict, message: lockedMessage, locks: ids}
}

func errNoLeader() *apiError {
	return &apiError{status: http.StatusBadGateway, message: "Could not determine the current leader", html: true}
}

// errURINotFound answers a path no resource serves. Marathon 1.10's
// exception mapper turns Jersey's NotFoundException into a 500 with this
// body; 1.4 answered 404.
func errURINotFound(gen Generation) *apiError {
	status := http.StatusNotFound
	if gen == Gen15 {
		status = http.StatusInternalServerError
	}
	return errMessage(status, "URI not found")
}

func errMethodNotAllowed() *apiError {
	return errMessage(http.StatusMethodNotAllowed, "HTTP 405 Method Not Allowed")
}

// defaultFaultMessage is the body message of an injected error status.
func defaultFaultMessage(status int) string {
	switch status {
	case http.StatusServiceUnavailable:
		return "Timed out while waiting for the leader to answer"
	case http.StatusInternalServerError:
		return "An unexpected server error occurred"
	case http.StatusForbidden:
		return "Not Authorized to perform this action!"
	case http.StatusUnauthorized:
		return "Invalid username or password."
	case http.StatusBadGateway:
		return "Could not determine the current leader"
	}
	if t := http.StatusText(status); t != "" {
		return t
	}
	return fmt.Sprintf("HTTP %d", status)
}

func sortDetails(d []detail) {
	slices.SortStableFunc(d, func(a, b detail) int { return strings.Compare(a.Path, b.Path) })
}
