package ecs

import (
	"fmt"
	"reflect"
	"slices"
	"strings"

	json "github.com/goccy/go-json"
)

// CollisionKey is the object under which passthrough keys that collide with a typed top-level
// field are kept, so user data is neither lost nor allowed to overwrite ECS fields.
const CollisionKey = "fluentbit"

// typedKeys are the JSON names of Document's top-level fields, computed once from the struct
// tags so the collision check cannot drift from the type.
var typedKeys = func() map[string]bool {
	keys := map[string]bool{CollisionKey: true}
	t := reflect.TypeFor[Document]()
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		if name != "" && name != "-" {
			keys[name] = true
		}
	}
	return keys
}()

// documentNoMethods has Document's fields without its methods, so encoding the typed part does
// not recurse into Document.MarshalJSON.
type documentNoMethods Document

// MarshalJSON encodes the typed fields followed by the passthrough fields.
func (d *Document) MarshalJSON() ([]byte, error) {
	var collided map[string]any
	for k := range d.Passthrough {
		if typedKeys[k] {
			if collided == nil {
				collided = make(map[string]any)
			}
			collided[k] = d.Passthrough[k]
		}
	}
	if collided != nil {
		keys := make([]string, 0, len(collided))
		for k := range collided {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			d.SiemScore.Issues = appendIssue(d.SiemScore.Issues, IssuePassthroughCollision+":"+k)
		}
	}
	out, err := json.Marshal((*documentNoMethods)(d))
	if err != nil {
		return nil, fmt.Errorf("ecs: encode document: %w", err)
	}
	if len(d.Passthrough) == 0 {
		return out, nil
	}
	keys := make([]string, 0, len(d.Passthrough))
	for k := range d.Passthrough {
		if !typedKeys[k] {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	out = out[:len(out)-1] // reopen the object: the typed part always ends with '}'
	for _, k := range keys {
		if out, err = appendMember(out, k, d.Passthrough[k]); err != nil {
			return nil, err
		}
	}
	if collided != nil {
		if out, err = appendMember(out, CollisionKey, collided); err != nil {
			return nil, err
		}
	}
	return append(out, '}'), nil
}

func appendMember(out []byte, key string, value any) ([]byte, error) {
	k, err := json.Marshal(key)
	if err != nil {
		return nil, fmt.Errorf("ecs: encode passthrough key %q: %w", key, err)
	}
	v, err := json.Marshal(value)
	if err != nil {
		return nil, fmt.Errorf("ecs: encode passthrough field %q: %w", key, err)
	}
	out = append(out, ',')
	out = append(out, k...)
	out = append(out, ':')
	return append(out, v...), nil
}

func appendIssue(issues []string, issue string) []string {
	if slices.Contains(issues, issue) {
		return issues
	}
	return append(issues, issue)
}
