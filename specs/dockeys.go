package specs

import yaml "go.yaml.in/yaml/v3"

// DocumentKey is the group a document of a spec file names.
type DocumentKey struct {
	Line int      // the document's first line in the file
	Key  GroupKey // valid only when OK
	OK   bool     // whether the metadata names a valid group key
}

// DocumentKeys returns, for each document of data in order, the group its
// metadata names, read from metadata.service and metadata.labels alone: a
// document whose other fields do not decode or validate still names its
// group, so that its problems are that group's, and a plan leaves the
// group's app alone instead of taking it for one without a spec. A
// document that is not YAML, or whose service or labels are not strings,
// names none.
func DocumentKeys(data []byte) []DocumentKey {
	docs := splitDocuments(data)
	out := make([]DocumentKey, len(docs))
	for i, d := range docs {
		out[i].Line = d.line
		if len(d.data) > MaxSpecBytes {
			continue
		}
		var root yaml.Node
		if yaml.Unmarshal(d.data, &root) != nil || len(root.Content) == 0 {
			continue
		}
		service, labels, ok := metadataOf(root.Content[0])
		if !ok {
			continue
		}
		if k, err := NewGroupKey(service, labels); err == nil {
			out[i].Key, out[i].OK = k, true
		}
	}
	return out
}

// metadataOf reads metadata.service and metadata.labels of a document's
// root node, each only if it is a string (a list of strings).
func metadataOf(n *yaml.Node) (service string, labels []string, ok bool) {
	md := mappingValue(n, "metadata")
	if md == nil {
		return "", nil, false
	}
	s := mappingValue(md, "service")
	if !isString(s) {
		return "", nil, false
	}
	if l := mappingValue(md, "labels"); l != nil && !isNull(l) {
		if l.Kind != yaml.SequenceNode {
			return "", nil, false
		}
		for _, c := range l.Content {
			if !isString(c) {
				return "", nil, false
			}
			labels = append(labels, c.Value)
		}
	}
	return s.Value, labels, true
}

// mappingValue returns the value of key in mapping n, or nil when n is
// not a mapping or holds key other than once.
func mappingValue(n *yaml.Node, key string) *yaml.Node {
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	var v *yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key && n.Content[i].Kind == yaml.ScalarNode {
			if v != nil {
				return nil
			}
			v = n.Content[i+1]
		}
	}
	if v != nil && v.Kind == yaml.AliasNode {
		v = v.Alias
	}
	return v
}

// isString reports whether n is a string as the decoder reads it: not
// `yes`, which it takes for a boolean.
func isString(n *yaml.Node) bool {
	return n != nil && n.Kind == yaml.ScalarNode && n.Tag == "!!str" && !isYAML11Bool(n)
}
