package specs

import (
	"cmp"
	"fmt"
	"strings"
)

// GroupKey identifies a labeled group: a service and the encoded form of its
// label set. It is the unit of work everywhere: one etcd key, one Marathon
// app, one work-queue item, one line of a plan. The zero value is not a
// valid key; build keys with NewGroupKey or ParseGroupKey.
type GroupKey struct {
	Service string // service name, e.g. "web"
	Labels  string // encoded label set, e.g. "dev.frontend"
}

// NewGroupKey returns the key of the group of service with the given labels,
// in any order and with duplicates.
func NewGroupKey(service string, labels []string) (GroupKey, error) {
	if err := ValidName(service); err != nil {
		return GroupKey{}, fmt.Errorf("service %w", err)
	}
	enc, err := EncodeLabels(labels)
	if err != nil {
		return GroupKey{}, err
	}
	return GroupKey{Service: service, Labels: enc}, nil
}

// ParseGroupKey parses the "service/encodedLabels" form made by String.
func ParseGroupKey(s string) (GroupKey, error) {
	service, enc, ok := strings.Cut(s, "/")
	if !ok {
		return GroupKey{}, fmt.Errorf("group key %q: want service/labels", s)
	}
	return groupKeyFromParts(service, enc)
}

func groupKeyFromParts(service, enc string) (GroupKey, error) {
	if err := ValidName(service); err != nil {
		return GroupKey{}, fmt.Errorf("service %w", err)
	}
	if _, err := DecodeLabels(enc); err != nil {
		return GroupKey{}, err
	}
	return GroupKey{Service: service, Labels: enc}, nil
}

// String returns "service/encodedLabels".
func (k GroupKey) String() string { return k.Service + "/" + k.Labels }

// LabelSet returns the labels of the key, sorted.
func (k GroupKey) LabelSet() []string { return strings.Split(k.Labels, labelSeparator) }

// Compare orders keys by service, then by encoded labels; plans and listings
// use this order.
func (k GroupKey) Compare(o GroupKey) int {
	if c := strings.Compare(k.Service, o.Service); c != 0 {
		return c
	}
	return strings.Compare(k.Labels, o.Labels)
}

// CompareNames orders keys as their String forms compare, byte by byte:
// the order etcd keeps them in, under one directory. It differs from
// Compare where one service name begins another ("api" and "api-v2":
// "api-v2/…" comes first).
func (k GroupKey) CompareNames(o GroupKey) int {
	if k.Service == o.Service {
		return strings.Compare(k.Labels, o.Labels)
	}
	n := min(len(k.Service), len(o.Service))
	if c := strings.Compare(k.Service[:n], o.Service[:n]); c != 0 {
		return c
	}
	// One service begins the other; "/" follows the shorter.
	if len(k.Service) == n {
		return cmp.Compare('/', o.Service[n])
	}
	return cmp.Compare(k.Service[n], '/')
}

// The top-level directories of the etcd layout (docs/design.md), below the
// optional prefix.
const (
	DesiredDir  = "/desired/"
	StatusDir   = "/status/"
	ServicesDir = "/services/"
	TheseusDir  = "/theseus/"
)

// CheckPrefix reports whether p is a usable etcd prefix: empty, or starting
// with "/" and not ending with one, and with no segment named like a
// directory another installation reads whole ("desired", "status",
// "services"), and no segment "theseus" but the last: the keys under
// "/services" would be in the /services of an installation without a
// prefix, whose discovery sweep removes what it did not write, and those
// under "/theseus/leader" would stand in its leader election.
func CheckPrefix(p string) error {
	if p == "" {
		return nil
	}
	if !strings.HasPrefix(p, "/") || strings.HasSuffix(p, "/") {
		return fmt.Errorf("etcd prefix %q must start with '/' and not end with one", p)
	}
	segs := strings.Split(p[1:], "/")
	for i, seg := range segs {
		for _, dir := range []string{DesiredDir, StatusDir, ServicesDir} {
			if "/"+seg+"/" == dir {
				return fmt.Errorf("etcd prefix %q: segment %q would put its keys in the %s of an installation with a shorter prefix; choose another name", p, seg, strings.TrimSuffix(dir, "/"))
			}
		}
		if "/"+seg+"/" == TheseusDir && i < len(segs)-1 {
			return fmt.Errorf("etcd prefix %q: segment %q followed by another would put its keys in the bookkeeping (leader election, pauses, history) of an installation with a shorter prefix; choose another name", p, seg)
		}
	}
	return nil
}

// DesiredKey returns the etcd key that holds the group's spec.
func DesiredKey(prefix string, k GroupKey) string { return prefix + DesiredDir + k.String() }

// StatusKey returns the etcd key that holds the group's status.
func StatusKey(prefix string, k GroupKey) string { return prefix + StatusDir + k.String() }

// ParseDesiredKey parses a key under prefix+DesiredDir back into a group key.
func ParseDesiredKey(prefix, key string) (GroupKey, error) {
	return parseDirKey(prefix+DesiredDir, key)
}

// ParseStatusKey parses a key under prefix+StatusDir back into a group key.
func ParseStatusKey(prefix, key string) (GroupKey, error) {
	return parseDirKey(prefix+StatusDir, key)
}

// KeyError is an etcd key that names no group.
type KeyError struct {
	Key string
	// Err says what is wrong with it, without naming it.
	Err error
}

func (e *KeyError) Error() string { return fmt.Sprintf("key %q: %v", e.Key, e.Err) }

func (e *KeyError) Unwrap() error { return e.Err }

func parseDirKey(dir, key string) (GroupKey, error) {
	rest, ok := strings.CutPrefix(key, dir)
	if !ok {
		return GroupKey{}, &KeyError{key, fmt.Errorf("not under %q", dir)}
	}
	service, enc, ok := strings.Cut(rest, "/")
	if !ok || strings.Contains(enc, "/") {
		return GroupKey{}, &KeyError{key, fmt.Errorf("want %sSERVICE/LABELS", dir)}
	}
	k, err := groupKeyFromParts(service, enc)
	if err != nil {
		return GroupKey{}, &KeyError{key, err}
	}
	return k, nil
}

// CleanRoot checks and canonicalises a Marathon root: "" or a path of legal
// Marathon id segments such as "/teams/theseus". The result has a leading
// "/" and no trailing one, or is empty.
func CleanRoot(root string) (string, error) {
	root = strings.Trim(root, "/")
	if root == "" {
		return "", nil
	}
	for _, seg := range strings.Split(root, "/") {
		if err := ValidName(seg); err != nil {
			return "", fmt.Errorf("marathon root segment %w", err)
		}
	}
	return "/" + root, nil
}

// AppID returns the Marathon app id of the group under root, which must
// come from CleanRoot: "/{root}/{service}/{encodedLabels}".
func AppID(root string, k GroupKey) string { return root + "/" + k.String() }

// ParseAppID parses a Marathon app id made by AppID under root. Apps outside
// root, or with a different shape, are reported as errors: they are not
// theseus groups.
func ParseAppID(root, id string) (GroupKey, error) {
	rest, ok := strings.CutPrefix(id, root+"/")
	if !ok {
		return GroupKey{}, fmt.Errorf("app %q is not under %q", id, root+"/")
	}
	service, enc, ok := strings.Cut(rest, "/")
	if !ok || strings.Contains(enc, "/") {
		return GroupKey{}, fmt.Errorf("app %q: want %s/SERVICE/LABELS", id, root)
	}
	k, err := groupKeyFromParts(service, enc)
	if err != nil {
		return GroupKey{}, fmt.Errorf("app %q: %w", id, err)
	}
	return k, nil
}

// IsZero reports whether k is the zero key, which names no group.
func (k GroupKey) IsZero() bool { return k.Service == "" && k.Labels == "" }

// MaxContainerNameLength is the longest container name accepted.
const MaxContainerNameLength = 253

// ValidContainerName checks that a container name can be a segment of
// its key under /services. Marathon task ids ("web_dev.frontend.4c8d-...")
// pass; "/", control characters, "." and ".." do not, since they would
// change the shape of the key.
func ValidContainerName(n string) error {
	switch {
	case n == "", n == ".", n == "..":
		return fmt.Errorf("container name %q", n)
	case len(n) > MaxContainerNameLength:
		return fmt.Errorf("container name is %d bytes, longer than %d", len(n), MaxContainerNameLength)
	}
	for _, r := range n {
		if r == '/' || r < 0x20 || r == 0x7f {
			return fmt.Errorf("container name %q has the character %q", n, r)
		}
	}
	return nil
}
