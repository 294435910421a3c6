// Exports go.yaml.in/yaml/v2's encoder test vectors (encode_test.go) as data for
// k8ssandra-gitops's port of the emitter (src/ports/yaml_v2.rs). scripts/gen-go-yaml-v2-vectors
// copies this file into a scratch copy of the module (package yaml_test, next to
// encode_test.go, so marshalTests is in scope) and runs it; see
// data/upstream/go-yaml-v2/SOURCE.md.
package yaml_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"go.yaml.in/yaml/v2"
)

var exportOut = flag.String("out", "", "where to write the vectors (JSON)")

type vector struct {
	Source string      `json:"source"`
	Value  interface{} `json:"value,omitempty"`
	Skip   string      `json:"skip,omitempty"`
	YAML   string      `json:"yaml"`
}

var (
	marshalerT     = reflect.TypeOf((*yaml.Marshaler)(nil)).Elem()
	textMarshalerT = reflect.TypeOf((*interface{ MarshalText() ([]byte, error) })(nil)).Elem()
)

// plain converts v into the generic tree the port emits (strings, non-negative integers,
// lists, maps with string keys), or says why it cannot. The rule, in order: a nil value, a
// type with its own encoding (yaml.Marshaler, encoding.TextMarshaler, a named non-basic type
// such as time.Duration or yaml.MapSlice), a struct, a bool, a float, a negative integer, a map
// with a non-string key, or a string that is not valid UTF-8 is not representable.
func plain(v reflect.Value) (interface{}, string) {
	if !v.IsValid() {
		return nil, "nil"
	}
	for v.Kind() == reflect.Ptr || v.Kind() == reflect.Interface {
		if v.IsNil() {
			return nil, "nil"
		}
		if v.Kind() == reflect.Ptr && (v.Type().Implements(marshalerT) || v.Type().Implements(textMarshalerT)) {
			return nil, "own encoding"
		}
		v = v.Elem()
	}
	t := v.Type()
	if t.Implements(marshalerT) || t.Implements(textMarshalerT) {
		return nil, "own encoding"
	}
	if t.PkgPath() != "" {
		return nil, "own encoding"
	}
	switch v.Kind() {
	case reflect.String:
		if !utf8.ValidString(v.String()) {
			return nil, "binary string"
		}
		return v.String(), ""
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if v.Int() < 0 {
			return nil, "negative integer"
		}
		return v.Int(), ""
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return v.Uint(), ""
	case reflect.Bool:
		return nil, "bool"
	case reflect.Float32, reflect.Float64:
		return nil, "float"
	case reflect.Struct:
		return nil, "struct"
	case reflect.Slice, reflect.Array:
		out := []interface{}{}
		for i := 0; i < v.Len(); i++ {
			item, why := plain(v.Index(i))
			if why != "" {
				return nil, why
			}
			out = append(out, item)
		}
		return out, ""
	case reflect.Map:
		out := map[string]interface{}{}
		for _, k := range v.MapKeys() {
			key, why := plain(k)
			if why != "" {
				return nil, why
			}
			s, ok := key.(string)
			if !ok {
				return nil, "non-string key"
			}
			item, why := plain(v.MapIndex(k))
			if why != "" {
				return nil, why
			}
			out[s] = item
		}
		return out, ""
	}
	return nil, "kind " + v.Kind().String()
}

func add(vs []vector, source string, value interface{}, data string) []vector {
	p, why := plain(reflect.ValueOf(value))
	if why != "" {
		return append(vs, vector{Source: source, Skip: why, YAML: data})
	}
	return append(vs, vector{Source: source, Value: p, YAML: data})
}

func TestExportVectors(t *testing.T) {
	if *exportOut == "" {
		t.Skip("no -out")
	}
	var vs []vector
	for i, item := range marshalTests {
		data, err := yaml.Marshal(item.value)
		if err != nil || string(data) != item.data {
			t.Fatalf("marshalTests[%d]: the library disagrees with its own vector", i)
		}
		vs = add(vs, "encode_test.go marshalTests["+strconv.Itoa(i)+"]", item.value, item.data)
	}
	// TestLineWrapping, before its FutureLineWrap() call (the default width, 80).
	wrap := map[string]string{
		"a": "abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ 1234567890 abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ 1234567890 ",
	}
	wrapWant := "a: 'abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ 1234567890 abcdefghijklmnopqrstuvwxyz\n" +
		"  ABCDEFGHIJKLMNOPQRSTUVWXYZ 1234567890 '\n"
	if data, _ := yaml.Marshal(wrap); string(data) != wrapWant {
		t.Fatalf("TestLineWrapping: the library disagrees with its own vector")
	}
	vs = add(vs, "encode_test.go TestLineWrapping", wrap, wrapWant)
	// TestSortedOutput's string keys (its other keys are bools and numbers), in a map the
	// library sorts; the expected bytes are the library's own output.
	order := []string{"", ".1", ".2", ".a", "1", "2", "a!10", "a/0001", "a/002", "a/3", "a/10",
		"a/11", "a/0012", "a/100", "a~10", "ab/1", "b/1", "b/01", "b/2", "b/02", "b/3", "b/03",
		"b1", "b01", "b3", "c2.10", "c10.2", "d1", "d7", "d7abc", "d12", "d12a"}
	m := map[string]int{}
	for _, k := range order {
		m[k] = 1
	}
	data, err := yaml.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	keys := []string{}
	for _, line := range strings.Split(strings.TrimSuffix(string(data), "\n"), "\n") {
		keys = append(keys, strings.Trim(strings.TrimSuffix(line, ": 1"), `"`))
	}
	if !reflect.DeepEqual(keys, order) {
		t.Fatalf("TestSortedOutput: the library's order %q is not the test's %q", keys, order)
	}
	vs = add(vs, "encode_test.go TestSortedOutput (string keys)", m, string(data))

	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(map[string]interface{}{"vectors": vs}); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(*exportOut, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}
