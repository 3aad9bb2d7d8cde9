package specs

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestDocumentKeys: the group of each document is read from its metadata
// alone, also when the rest does not decode; a document whose metadata
// cannot be read names none, and every document keeps its first line.
func TestDocumentKeys(t *testing.T) {
	key := func(service string, labels ...string) GroupKey {
		k, err := NewGroupKey(service, labels)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	for _, tc := range []struct {
		name, data string
		want       []DocumentKey
	}{
		{"valid", "apiVersion: theseus/v1\nkind: Group\nmetadata: {service: web, labels: [dev, eu]}\nspec: {image: x}\n",
			[]DocumentKey{{Line: 1, Key: key("web", "dev", "eu"), OK: true}}},
		{"fields that do not decode", "metadata:\n  service: web\n  labels: [dev]\nspec: {image: x, instances: two, cpu: 1}\n",
			[]DocumentKey{{Line: 1, Key: key("web", "dev"), OK: true}}},
		{"JSON", `{"metadata": {"service": "db", "labels": ["dev"]}, "spec": {"mem": "lots"}}`,
			[]DocumentKey{{Line: 1, Key: key("db", "dev"), OK: true}}},
		{"several documents", "# first\nmetadata: {service: a, labels: [x]}\n---\nkind: [\n---\nmetadata: {service: b, labels: [x]}\n",
			[]DocumentKey{{Line: 1, Key: key("a", "x"), OK: true}, {Line: 4}, {Line: 6, Key: key("b", "x"), OK: true}}},
		{"no metadata", "spec: {image: x}\n", []DocumentKey{{Line: 1}}},
		{"no labels", "metadata: {service: web}\n", []DocumentKey{{Line: 1}}},
		{"service not a string", "metadata: {service: [web]}\n", []DocumentKey{{Line: 1}}},
		{"service a number", "metadata: {service: 42}\n", []DocumentKey{{Line: 1}}},
		{"labels not a list", "metadata: {service: web, labels: dev}\n", []DocumentKey{{Line: 1}}},
		{"a label not a string", "metadata: {service: web, labels: [dev, yes]}\n", []DocumentKey{{Line: 1}}},
		{"invalid label", "metadata: {service: web, labels: [Dev]}\n", []DocumentKey{{Line: 1}}},
		{"service given twice", "metadata: {service: a, service: b}\n", []DocumentKey{{Line: 1}}},
		{"not YAML", "metadata: {service: web\n", []DocumentKey{{Line: 1}}},
		{"only comments", "# nothing\n", []DocumentKey{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, DocumentKeys([]byte(tc.data))); diff != "" {
				t.Errorf("DocumentKeys (-want +got):\n%s", diff)
			}
		})
	}
}
