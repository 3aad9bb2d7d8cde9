package marathonsim

import (
	"strings"
)

// idSegmentPattern is Marathon's PathId.ID_PATH_SEGMENT_PATTERN, quoted in
// its validation message.
const idSegmentPattern = `^(([a-z0-9]|[a-z0-9][a-z0-9\-]*[a-z0-9])\.)*([a-z0-9]|[a-z0-9][a-z0-9\-]*[a-z0-9])|(\.|\.\.)$`

const (
	msgIDPattern  = "must fully match regular expression '" + idSegmentPattern + "'"
	msgIDReserved = "must not end with any of the following reserved keywords: restart, tasks, versions, ., .."
	msgIDEmpty    = "Path must contain at least one path element"
)

// validSegment reports whether s fully matches idSegmentPattern: DNS-label
// pieces of lower-case letters, digits and inner dashes joined by dots, or
// "." or "..".
func validSegment(s string) bool {
	if s == "." || s == ".." {
		return true
	}
	if s == "" {
		return false
	}
	for _, label := range strings.Split(s, ".") {
		if label == "" || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' {
				return false
			}
		}
	}
	return true
}

// absoluteID makes id absolute relative to base ("/" for top-level apps),
// resolving "." and ".." segments as Marathon's canonicalPath does, and
// trims leading and trailing slashes.
func absoluteID(id, base string) string {
	var segs []string
	if !strings.HasPrefix(id, "/") {
		segs = splitID(base)
	}
	for _, s := range splitID(id) {
		switch s {
		case ".":
		case "..":
			if len(segs) > 0 {
				segs = segs[:len(segs)-1]
			}
		default:
			segs = append(segs, s)
		}
	}
	return "/" + strings.Join(segs, "/")
}

func splitID(id string) []string {
	var out []string
	for _, s := range strings.Split(id, "/") {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

// idErrors returns the validation messages for an app id as written
// (before canonicalisation): every segment must match the pattern, the
// last must not be reserved, and the path must not be empty.
func idErrors(raw string) []string {
	segs := splitID(raw)
	var errs []string
	if len(segs) == 0 {
		return []string{msgIDEmpty}
	}
	for _, s := range segs {
		if !validSegment(s) {
			errs = append(errs, msgIDPattern)
			break
		}
	}
	switch segs[len(segs)-1] {
	case "restart", "tasks", "versions", ".", "..":
		errs = append(errs, msgIDReserved)
	}
	if len(errs) == 0 && absoluteID(raw, "/") == "/" {
		errs = append(errs, msgIDEmpty)
	}
	return errs
}

// parentIDs lists the group ids above an app id: /a/b/c → /a, /a/b.
func parentIDs(id string) []string {
	segs := splitID(id)
	out := make([]string, 0, len(segs))
	for i := 1; i < len(segs); i++ {
		out = append(out, "/"+strings.Join(segs[:i], "/"))
	}
	return out
}

// taskIDPrefix is the Mesos task id prefix of an app: the id without its
// leading slash, with "/" replaced by "_".
func taskIDPrefix(appID string) string {
	return strings.ReplaceAll(strings.TrimPrefix(appID, "/"), "/", "_")
}
