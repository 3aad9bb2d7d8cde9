package specs_test

import (
	"fmt"
	"reflect"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"theseus.dev/specs"
	"theseus.dev/specs/specstest"
)

// filledSpec is a spec with every field set, built anew at each call so
// that two calls give equal specs that share nothing. variant, when not
// negative, makes field variant hold something else.
func filledSpec(variant int) *specs.Spec {
	var s specs.Spec
	v := reflect.ValueOf(&s).Elem()
	for i := range v.NumField() {
		fill(v.Field(i), i == variant)
	}
	return &s
}

// fill sets f to a value that is not its zero, a different one when other
// is set.
func fill(f reflect.Value, other bool) {
	tag := "a"
	if other {
		tag = "b"
	}
	switch f.Kind() {
	case reflect.String:
		f.SetString(tag + "-" + f.Type().Name()) // built at run time: no two calls share its bytes
	case reflect.Bool:
		f.SetBool(!other)
	case reflect.Int, reflect.Int64:
		f.SetInt(int64(len(tag) + btoi(other)))
	case reflect.Float64:
		f.SetFloat(float64(1 + btoi(other)))
	case reflect.Pointer:
		p := reflect.New(f.Type().Elem())
		fill(p.Elem(), other)
		f.Set(p)
	case reflect.Slice:
		s := reflect.MakeSlice(f.Type(), 1, 1)
		fill(s.Index(0), other)
		f.Set(s)
	case reflect.Map:
		m := reflect.MakeMap(f.Type())
		k, e := reflect.New(f.Type().Key()).Elem(), reflect.New(f.Type().Elem()).Elem()
		fill(k, false)
		fill(e, other)
		m.SetMapIndex(k, e)
		f.Set(m)
	case reflect.Struct:
		for i := range f.NumField() {
			if f.Type().Field(i).IsExported() {
				fill(f.Field(i), other)
			}
		}
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

func TestShareEqual(t *testing.T) {
	typ := reflect.TypeFor[specs.Spec]()
	var refs []string // the fields that can share: strings, maps, slices, pointers
	for f := range typ.Fields() {
		switch f.Type.Kind() {
		case reflect.String, reflect.Map, reflect.Slice, reflect.Pointer:
			refs = append(refs, f.Name)
		}
	}
	for differs := -1; differs < typ.NumField(); differs++ {
		name, want := "equal", refs
		if differs >= 0 {
			field := typ.Field(differs).Name
			name = field + " differs"
			want = slices.DeleteFunc(slices.Clone(refs), func(n string) bool { return n == field })
		}
		t.Run(name, func(t *testing.T) {
			dst, src, same := filledSpec(differs), filledSpec(-1), filledSpec(differs)
			specs.ShareEqual(dst, src)
			if diff := cmp.Diff(same, dst); diff != "" {
				t.Fatalf("sharing changed the spec (-want +got):\n%s", diff)
			}
			if got := specstest.SharedFields(dst, src); !slices.Equal(got, want) {
				t.Errorf("shares %v, want %v", got, want)
			}
		})
	}
}

func TestShareEqualKeepsEmptyApartFromUnset(t *testing.T) {
	dst := &specs.Spec{Env: map[string]specs.Value{}, Args: []string{}, Image: "nginx"}
	src := &specs.Spec{Image: "nginx"}
	specs.ShareEqual(dst, src)
	if dst.Env == nil || dst.Args == nil {
		t.Errorf("an empty map or slice became unset: %+v", dst)
	}
}

// Specs of the same group differ only in a few fields when they differ at
// all; sharing the rest costs a comparison of each field.
func BenchmarkShareEqual(b *testing.B) {
	for _, differs := range []int{-1, 0} {
		b.Run(fmt.Sprint("differs=", differs), func(b *testing.B) {
			src, base := filledSpec(-1), *filledSpec(differs)
			b.ReportAllocs()
			for b.Loop() {
				s := base // a shallow copy: the comparisons are timed, not the building
				specs.ShareEqual(&s, src)
			}
		})
	}
}
