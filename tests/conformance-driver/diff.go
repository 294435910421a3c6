package main

// Normalisation (only what tests/conformance/normalisation.yaml writes down) and the
// field-by-field comparison.

import (
	"encoding/json"
	"fmt"
	"os"
	"path"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"sigs.k8s.io/yaml"
)

type obj map[string]any

func (o obj) kind() string { s, _ := o["kind"].(string); return s }
func (o obj) name() string { return str(o, "metadata", "name") }
func (o obj) namespace() string {
	return str(o, "metadata", "namespace")
}

// fieldRule removes (drop) or blanks (mask) the value at path on the given side; drop-empty
// removes empty objects the other side does not have at all; drop-if-other-absent removes a
// value the other side does not have at that path (and keeps comparing it where both have it).
type fieldRule struct {
	OursIs  any      `json:"oursIs"` // only where our value (no "*" in path) equals this one
	Fixture string   `json:"fixture"`
	Kind    string   `json:"kind"`
	Name    string   `json:"name"`
	Path    []string `json:"path"`
	Action  string   `json:"action"`
	Side    string   `json:"side"`
	Reason  string   `json:"reason"`
	used    int
}

// objectRule tolerates an object that exists on one side only.
type objectRule struct {
	Fixture string `json:"fixture"`
	Owner   string `json:"owner"` // kind of an owner reference the object has
	Side    string `json:"side"`
	Context string `json:"context"`
	Kind    string `json:"kind"`
	Name    string `json:"name"`
	Reason  string `json:"reason"`
	used    int
}

// fixtureRule documents a fixture-level outcome (one side refuses the input).
type fixtureRule struct {
	Fixture string `json:"fixture"`
	Outcome string `json:"outcome"`
	Reason  string `json:"reason"`
	used    int
}

type rules struct {
	Fields   []*fieldRule   `json:"fields"`
	Objects  []*objectRule  `json:"objects"`
	Fixtures []*fixtureRule `json:"fixtures"`
}

func loadRules(file string) *rules {
	data, err := os.ReadFile(file)
	must(err)
	var r rules
	if err := yaml.UnmarshalStrict(data, &r); err != nil {
		fatalf("%s: %v", file, err)
	}
	for i, f := range r.Fields {
		if f.Reason == "" || len(f.Path) == 0 || (f.Action != "drop" && f.Action != "mask" && f.Action != "drop-empty" && f.Action != "drop-if-other-absent") || (f.Side != "" && f.Side != "operator" && f.Side != "ours") {
			fatalf("%s: fields[%d]: needs path, action drop|mask|drop-empty|drop-if-other-absent, side operator|ours|(both) and a reason", file, i)
		}
	}
	for i, o := range r.Objects {
		if o.Reason == "" || (o.Side != "operator" && o.Side != "ours") || (o.Kind == "" && o.Owner == "") {
			fatalf("%s: objects[%d]: needs side operator|ours, kind or owner, and a reason", file, i)
		}
	}
	for i, f := range r.Fixtures {
		if f.Reason == "" || f.Fixture == "" || (f.Outcome != "operator-refuses" && f.Outcome != "ours-refuses" && f.Outcome != "stalled") {
			fatalf("%s: fixtures[%d]: needs fixture, outcome operator-refuses|ours-refuses|stalled and a reason", file, i)
		}
	}
	return &r
}

// unused lists the entries no compared fixture needed (only meaningful on a full run).
func (r *rules) unused() []string {
	var out []string
	for i, f := range r.Fields {
		if f.used == 0 {
			out = append(out, fmt.Sprintf("fields[%d] %s %v (%s)", i, f.Action, f.Path, f.Reason))
		}
	}
	for i, o := range r.Objects {
		if o.used == 0 {
			out = append(out, fmt.Sprintf("objects[%d] %s %s %s %s (%s)", i, o.Side, o.Kind, o.Name, o.Owner, o.Reason))
		}
	}
	for i, f := range r.Fixtures {
		if f.used == 0 {
			out = append(out, fmt.Sprintf("fixtures[%d] %s %s (%s)", i, f.Fixture, f.Outcome, f.Reason))
		}
	}
	return out
}

func ownedBy(x obj, kind string) bool {
	refs, _ := field(x, "metadata", "ownerReferences").([]any)
	for _, r := range refs {
		if m, _ := r.(map[string]any); m != nil && glob(kind, fmt.Sprint(m["kind"])) {
			return true
		}
	}
	return false
}

func glob(pattern, s string) bool {
	if pattern == "" || pattern == "*" {
		return true
	}
	ok, _ := path.Match(pattern, s)
	return ok
}

// apply normalises one object of one side in place.
func (r *rules) apply(o obj, side, fixture string) {
	kind, name := o.kind(), o.name()
	for _, f := range r.Fields {
		if (f.Side != "" && f.Side != side) || !glob(f.Fixture, fixture) || !glob(f.Kind, kind) || !glob(f.Name, name) {
			continue
		}
		if f.Action == "drop-empty" || f.Action == "drop-if-other-absent" || f.OursIs != nil {
			continue // needs both sides: see pruneAgainst
		}
		if walk(map[string]any(o), f.Path, f.Action) {
			f.used++
		}
	}
}

// walk drops or masks every value matching the path ("*" matches any key or index).
func walk(cur any, p []string, action string) bool {
	hit := false
	switch c := cur.(type) {
	case map[string]any:
		for k, v := range c {
			if p[0] != "*" && p[0] != k {
				continue
			}
			if len(p) == 1 {
				if action == "drop" {
					delete(c, k)
				} else {
					c[k] = "<masked>"
				}
				hit = true
			} else if walk(v, p[1:], action) {
				hit = true
			}
		}
		// Emptied maps are dropped so that `annotations: {}` equals no annotations.
		for k, v := range c {
			if m, ok := v.(map[string]any); ok && len(m) == 0 && hit {
				delete(c, k)
			}
		}
	case []any:
		for i, v := range c {
			if p[0] != "*" && p[0] != strconv.Itoa(i) {
				continue
			}
			if len(p) == 1 {
				c[i] = "<masked>"
				hit = true
			} else if walk(v, p[1:], action) {
				hit = true
			}
		}
	}
	return hit
}

// pruneAgainst applies the drop-empty rules: an empty map on one side whose key the other
// side does not have at all is removed (Go's encoder writes empty structs; we omit them). An
// empty map that both sides write (e.g. `emptyDir: {}`) is kept and compared.
func (r *rules) pruneAgainst(a, b obj, side, fixture string) {
	for _, f := range r.Fields {
		if (f.Side != "" && f.Side != side) || !glob(f.Fixture, fixture) || !glob(f.Kind, a.kind()) || !glob(f.Name, a.name()) {
			continue
		}
		if f.Action == "drop-if-other-absent" {
			if dropIfAbsent(map[string]any(a), map[string]any(b), f.Path) {
				f.used++
			}
			continue
		}
		if f.OursIs != nil {
			ours := b
			if side == "ours" {
				ours = a
			}
			if reflect.DeepEqual(field(ours, f.Path...), f.OursIs) && walk(map[string]any(a), f.Path, f.Action) {
				f.used++
			}
			continue
		}
		if f.Action != "drop-empty" {
			continue
		}
		var x, y any = map[string]any(a), map[string]any(b)
		for _, p := range f.Path {
			xm, _ := x.(map[string]any)
			ym, _ := y.(map[string]any)
			x, y = xm[p], ym[p]
		}
		if pruneEmptyAgainst(x, y) {
			f.used++
		}
	}
}

// dropIfAbsent removes from x every value at path ("*" = any key) that y does not have.
func dropIfAbsent(x, y map[string]any, p []string) bool {
	hit := false
	for k, v := range x {
		if p[0] != "*" && p[0] != k {
			continue
		}
		other, present := y[k]
		if len(p) == 1 {
			if !present {
				delete(x, k)
				hit = true
			}
			continue
		}
		xm, ok := v.(map[string]any)
		if !ok {
			continue
		}
		ym, _ := other.(map[string]any)
		if dropIfAbsent(xm, ym, p[1:]) {
			hit = true
		}
		if len(xm) == 0 && !present {
			delete(x, k)
		}
	}
	return hit
}

func pruneEmptyAgainst(x, y any) bool {
	hit := false
	switch c := x.(type) {
	case map[string]any:
		ym, _ := y.(map[string]any)
		for k, v := range c {
			other, present := ym[k]
			if m, ok := v.(map[string]any); ok && len(m) == 0 && !present {
				delete(c, k)
				hit = true
				continue
			}
			if pruneEmptyAgainst(v, other) {
				hit = true
			}
			if m, ok := v.(map[string]any); ok && len(m) == 0 && !present {
				delete(c, k)
			}
		}
	case []any:
		yl, _ := y.([]any)
		for i, v := range c {
			var other any
			if i < len(yl) {
				other = yl[i]
			}
			if pruneEmptyAgainst(v, other) {
				hit = true
			}
		}
	}
	return hit
}

func (r *rules) tolerated(side, fixture, context string, x obj) *objectRule {
	kind, name := x.kind(), x.name()
	for _, o := range r.Objects {
		if o.Owner != "" && !ownedBy(x, o.Owner) {
			continue
		}
		if o.Side == side && glob(o.Fixture, fixture) && glob(o.Context, context) && glob(o.Kind, kind) && glob(o.Name, name) {
			return o
		}
	}
	return nil
}

func (r *rules) fixture(name string) *fixtureRule {
	for _, f := range r.Fixtures {
		if f.Fixture == name {
			return f
		}
	}
	return nil
}

// diff lists every differing leaf as "path: operator=... ours=...".
func diff(prefix string, a, b any, out *[]string) {
	if reflect.DeepEqual(a, b) {
		return
	}
	am, aok := a.(map[string]any)
	bm, bok := b.(map[string]any)
	if aok && bok {
		keys := map[string]bool{}
		for k := range am {
			keys[k] = true
		}
		for k := range bm {
			keys[k] = true
		}
		sorted := make([]string, 0, len(keys))
		for k := range keys {
			sorted = append(sorted, k)
		}
		sort.Strings(sorted)
		for _, k := range sorted {
			diff(prefix+"."+k, am[k], bm[k], out)
		}
		return
	}
	al, aok := a.([]any)
	bl, bok := b.([]any)
	if aok && bok && len(al) == len(bl) {
		for i := range al {
			diff(fmt.Sprintf("%s[%d]", prefix, i), al[i], bl[i], out)
		}
		return
	}
	*out = append(*out, fmt.Sprintf("%s: operator=%s ours=%s", strings.TrimPrefix(prefix, "."), short(a), short(b)))
}

func short(v any) string {
	if v == nil {
		return "(absent)"
	}
	b, _ := json.Marshal(v)
	s := string(b)
	if len(s) > 160 {
		s = s[:157] + "..."
	}
	return s
}
