package reconciler

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"theseus.dev/specs"
)

// TestSameStatusSeesEveryField: a status that differs from another in any
// one field, at any depth, is not the same, but for the time its phase
// began and the time it was written; and no errors is as an empty list.
// A field added to specs.Status and not compared fails here.
func TestSameStatusSeesEveryField(t *testing.T) {
	var base specs.Status
	fill(reflect.ValueOf(&base).Elem())
	if !sameStatus(&base, &base) {
		t.Fatal("a status is not the same as itself")
	}
	ignored := map[string]bool{"Since": true, "UpdatedAt": true}
	paths := leaves(reflect.TypeFor[specs.Status](), "")
	if len(paths) < 20 {
		t.Fatalf("found only %d fields: %v", len(paths), paths)
	}
	for _, p := range paths {
		other := clone(base)
		change(reflect.ValueOf(&other).Elem(), p)
		if got, want := sameStatus(&base, &other), ignored[p]; got != want {
			t.Errorf("%s changed: sameStatus = %v, want %v", p, got, want)
		}
	}
	a, b := base, base
	a.Errors, b.Errors = nil, []string{}
	if !sameStatus(&a, &b) {
		t.Error("no errors and an empty list of them are not the same")
	}
}

// leaves lists the paths ("Rollout.Started") of the fields of t that hold
// values rather than structs of fields, time.Time counting as a value.
func leaves(t reflect.Type, prefix string) []string {
	var out []string
	for f := range t.Fields() {
		ft := f.Type
		if ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		if ft.Kind() == reflect.Struct && ft != reflect.TypeFor[time.Time]() {
			out = append(out, leaves(ft, prefix+f.Name+".")...)
			continue
		}
		out = append(out, prefix+f.Name)
	}
	return out
}

// fill gives every field of v, at any depth, a value other than its zero.
func fill(v reflect.Value) {
	switch v.Kind() {
	case reflect.Struct:
		if v.Type() == reflect.TypeFor[time.Time]() {
			v.Set(reflect.ValueOf(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)))
			return
		}
		for i := range v.NumField() {
			fill(v.Field(i))
		}
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fill(v.Elem())
	case reflect.Slice:
		v.Set(reflect.MakeSlice(v.Type(), 1, 1))
		fill(v.Index(0))
	case reflect.String:
		v.SetString("a")
	case reflect.Int, reflect.Int64:
		v.SetInt(1)
	case reflect.Bool:
		v.SetBool(true)
	default:
		panic("fill: a field of kind " + v.Kind().String())
	}
}

// clone copies s deeply enough that changing the copy leaves s alone.
func clone(s specs.Status) specs.Status {
	c := s
	c.Errors = append([]string(nil), s.Errors...)
	if s.Rollout != nil {
		r := *s.Rollout
		c.Rollout = &r
	}
	if s.Superseded != nil {
		r := *s.Superseded
		c.Superseded = &r
	}
	if s.Failure != nil {
		f := *s.Failure
		c.Failure = &f
	}
	if s.Scaled != nil {
		l := *s.Scaled
		c.Scaled = &l
	}
	return c
}

// change changes the field at path in v.
func change(v reflect.Value, path string) {
	for {
		name, rest, nested := strings.Cut(path, ".")
		f := v.FieldByName(name)
		if f.Kind() == reflect.Pointer {
			f = f.Elem()
		}
		if !nested {
			switch f.Kind() {
			case reflect.String:
				f.SetString(f.String() + "b")
			case reflect.Int, reflect.Int64:
				f.SetInt(f.Int() + 1)
			case reflect.Bool:
				f.SetBool(!f.Bool())
			case reflect.Slice:
				f.Set(reflect.Append(f, reflect.ValueOf("b")))
			case reflect.Struct: // time.Time
				f.Set(reflect.ValueOf(f.Interface().(time.Time).Add(time.Second)))
			default:
				panic("change: " + path)
			}
			return
		}
		v, path = f, rest
	}
}

// BenchmarkSameStatus compares two equal statuses, as every reconcile
// does before it writes one.
func BenchmarkSameStatus(b *testing.B) {
	x := specs.Status{Phase: specs.PhaseSynced, AppID: "/a/b", Errors: []string{"e"}, Rollout: &specs.Rollout{Revision: 3}}
	y := clone(x)
	b.ReportAllocs()
	for b.Loop() {
		if !sameStatus(&x, &y) {
			b.Fatal("equal statuses differ")
		}
	}
}
