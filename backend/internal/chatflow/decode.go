package chatflow

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strconv"
	"strings"

	"github.com/parleychat/parley/backend/internal/problem"
)

// readOnly fields may appear in a request body (a GET sent back as a PUT)
// but never change.
var readOnly = []string{"id", "public_id", "version", "created_at", "updated_at"}

// Decode reads the JSON object body onto c: fields the body names replace
// c's, the rest keep their values (so decoding onto Default() is a create or
// full replace, onto the stored chatflow a partial update). Unknown fields and
// wrongly typed values come back as problem.Errors naming each field.
func Decode(body []byte, c *Chatflow) error {
	if err := DecodeStrict(body, c, readOnly...); err != nil {
		return err
	}
	c.normalize()
	return nil
}

// DecodeStrict decodes the JSON object body onto v (a pointer to a struct),
// rejecting unknown fields by path; the top-level fields named in keep are
// accepted and left as they were.
func DecodeStrict(body []byte, v any, keep ...string) error {
	var e problem.Errors
	var generic any
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&generic); err != nil {
		e.Add("body", "is not valid JSON: "+jsonMessage(err))
		return e
	}
	if dec.More() {
		e.Add("body", "must hold one JSON object")
		return e
	}
	obj, ok := generic.(map[string]any)
	if !ok {
		e.Add("body", "must be a JSON object")
		return e
	}
	for _, k := range keep {
		delete(obj, k)
	}
	rv := reflect.ValueOf(v).Elem()
	unknownFields(&e, obj, rv.Type(), "")
	if len(e) > 0 {
		return e.Err()
	}
	clean, _ := json.Marshal(obj)
	if err := json.Unmarshal(clean, v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			field := jsonPath(te.Field)
			if field == "" {
				field = "body"
			}
			e.Add(field, "must be "+typeName(te.Type)+", not "+te.Value)
		} else {
			e.Add("body", jsonMessage(err))
		}
		return e.Err()
	}
	return nil
}

// unknownFields walks a decoded JSON value against the Go type it will be
// decoded into and records every field the type does not have.
func unknownFields(e *problem.Errors, v any, t reflect.Type, path string) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Struct:
		obj, ok := v.(map[string]any)
		if !ok {
			return // a type error, reported by json.Unmarshal
		}
		fields := map[string]reflect.Type{}
		collectFields(t, fields)
		for k, sub := range obj {
			ft, ok := fields[k]
			if !ok {
				e.Add(join(path, k), "is not a known field")
				continue
			}
			unknownFields(e, sub, ft, join(path, k))
		}
	case reflect.Map:
		if obj, ok := v.(map[string]any); ok {
			for k, sub := range obj {
				unknownFields(e, sub, t.Elem(), join(path, k))
			}
		}
	case reflect.Slice, reflect.Array:
		if arr, ok := v.([]any); ok {
			for i, sub := range arr {
				unknownFields(e, sub, t.Elem(), path+"["+strconv.Itoa(i)+"]")
			}
		}
	}
}

// collectFields maps JSON names to field types, flattening embedded structs.
func collectFields(t reflect.Type, out map[string]reflect.Type) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		name, _, _ := strings.Cut(tag, ",")
		if name == "-" {
			continue
		}
		// Embedded structs lend their fields, exported or not (as in encoding/json).
		if f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct {
			collectFields(f.Type, out)
			continue
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		out[name] = f.Type
	}
}

func join(path, k string) string {
	if path == "" {
		return k
	}
	return path + "." + k
}

func typeName(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64, reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Map, reflect.Struct:
		return "an object"
	}
	return t.String()
}

func jsonMessage(err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return se.Error() + " at byte " + strconv.FormatInt(se.Offset, 10)
	}
	return strings.TrimPrefix(err.Error(), "json: ")
}

// jsonPath drops the names of embedded Go structs (capitalised; JSON names
// here are lower case) from a json.UnmarshalTypeError field path.
func jsonPath(field string) string {
	var keep []string
	for _, seg := range strings.Split(field, ".") {
		if seg != "" && !(seg[0] >= 'A' && seg[0] <= 'Z') {
			keep = append(keep, seg)
		}
	}
	return strings.Join(keep, ".")
}
