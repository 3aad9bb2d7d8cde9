package etcd

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"
)

// roundTrip checks that a decoded value encodes to JSON that decodes to
// the same encoding: what theseus reads it can write back unchanged.
func roundTrip[T any](t *testing.T, v T, decode func([]byte) (T, error)) {
	t.Helper()
	b1, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("marshal decoded value: %v", err)
	}
	v2, err := decode(b1)
	if err != nil {
		t.Fatalf("decode of own encoding %s: %v", b1, err)
	}
	b2, err := json.Marshal(v2)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b1, b2) {
		t.Fatalf("round trip changed the value:\n%s\n%s", b1, b2)
	}
}

func FuzzDecodeContainerInfo(f *testing.F) {
	f.Add([]byte(`{"instance_host":"agent-1","instance_port":31001,"port_mappings":[{"container_port":80,"host_port":31001,"protocol":"tcp","name":"http"}],"instance_name":"web_dev.1","state":"TASK_RUNNING","health":"healthy","ready":true}`))
	f.Add([]byte(`{"instance_port":"x"}`))
	f.Add([]byte(`null`))
	f.Add([]byte(`{"port_mappings":null,"extra":[1,2]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		info, err := decodeContainerInfo(data)
		if err != nil {
			return
		}
		roundTrip(t, info, decodeContainerInfo)
	})
}

func FuzzDecodeStatus(f *testing.F) {
	f.Add([]byte(`{"phase":"Synced","observedRevision":42,"tasks":{"wanted":2,"running":2,"healthy":2,"staged":0,"unhealthy":0},"updatedAt":"2026-01-02T03:04:05Z"}`))
	f.Add([]byte(`{"phase":"Invalid","errors":["spec.mem: too small"],"lastActionAt":"2026-01-02T03:04:05.123+02:00"}`))
	f.Add([]byte(`{"since":"not a time"}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		st, err := decodeStatus(data)
		if err != nil {
			return
		}
		roundTrip(t, st, decodeStatus)
	})
}

func FuzzDecodeConfig(f *testing.F) {
	f.Add([]byte(`{"upstream":"api","x":"y"}`))
	f.Add([]byte(`null`))
	f.Add([]byte(`{"a":1}`))
	f.Add([]byte(`{"\u00e9":"\ud800"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := decodeConfig(data)
		if err != nil {
			return
		}
		if cfg == nil {
			t.Fatal("nil config for a value that decoded")
		}
		roundTrip(t, cfg, decodeConfig)
	})
}

// fuzzRecord fuzzes the decoder of a record theseus keeps in etcd: a
// value that does not decode is an error matching ErrCorrupt, one that
// does encodes back unchanged.
func fuzzRecord[T any](f *testing.F, decode func([]byte) (T, error), seeds ...string) {
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := decode(data)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error does not match ErrCorrupt: %v", err)
			}
			return
		}
		roundTrip(t, v, decode)
	})
}

func FuzzDecodePause(f *testing.F) {
	fuzzRecord(f, decodePause, `{"by":"alice@laptop","at":"2026-01-02T03:04:05Z","reason":"db migration"}`,
		`{"at":"yesterday"}`, `null`, `not json`)
}

func FuzzDecodeWriter(f *testing.F) {
	fuzzRecord(f, decodeWriter, `{"kind":"apply","by":"alice@laptop","at":"2026-01-02T03:04:05Z"}`,
		`{"kind":"rollback","by":"bob@ops","restoredFrom":12}`, `{"restoredFrom":"x"}`, `[]`)
}

// FuzzDecodeOwnership: a record that names no owner does not decode.
func FuzzDecodeOwnership(f *testing.F) {
	fuzzRecord(f, func(data []byte) (Ownership, error) {
		o, err := decodeOwnership(data)
		if err == nil && o.Owner == "" {
			panic("a record that names no owner decoded")
		}
		return o, err
	}, `{"owner":"git:/srv/specs","source":"git:main@1a2b3c","file":"web.yaml","sha256":"ab"}`,
		`{}`, `{"owner":""}`, `{"owner":1}`)
}
