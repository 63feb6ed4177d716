package widget

import (
	"encoding/json"
	"reflect"
	"sort"
	"testing"
)

// jsonValue is Value over encoding/json's `any`, the way the browser's
// JSON.parse result looks to the wasm shell.
type jsonValue struct{ v any }

func (j jsonValue) Get(key string) jsonValue {
	m, _ := j.v.(map[string]any)
	return jsonValue{m[key]}
}
func (j jsonValue) String() string  { s, _ := j.v.(string); return s }
func (j jsonValue) Number() float64 { f, _ := j.v.(float64); return f }
func (j jsonValue) Object() bool {
	switch j.v.(type) {
	case map[string]any, []any:
		return true
	}
	return false
}
func (j jsonValue) Truthy() bool {
	switch x := j.v.(type) {
	case nil:
		return false
	case bool:
		return x
	case float64:
		return x != 0
	case string:
		return x != ""
	}
	return true
}
func (j jsonValue) Len() int { a, _ := j.v.([]any); return len(a) }
func (j jsonValue) Index(i int) jsonValue {
	a, _ := j.v.([]any)
	if i < 0 || i >= len(a) {
		return jsonValue{}
	}
	return jsonValue{a[i]}
}
func (j jsonValue) Keys() []string {
	m, _ := j.v.(map[string]any)
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// fill sets every field of v (a pointer) to a non-zero value: strings to
// their field's name, numbers to 7, booleans to true, one element per
// slice, pointers to filled values.
func fill(v reflect.Value, name string) {
	switch v.Kind() {
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fill(v.Elem(), name)
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() {
				fill(v.Field(i), v.Type().Field(i).Name)
			}
		}
	case reflect.String:
		v.SetString(name)
	case reflect.Int, reflect.Int64:
		v.SetInt(7)
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Slice:
		v.Set(reflect.MakeSlice(v.Type(), 1, 1))
		fill(v.Index(0), name)
	case reflect.Map:
		v.Set(reflect.MakeMap(v.Type()))
		e := reflect.New(v.Type().Elem()).Elem()
		fill(e, name)
		v.SetMapIndex(reflect.ValueOf(name), e)
	}
}

func parse(t *testing.T, x any) jsonValue {
	t.Helper()
	b, err := json.Marshal(x)
	if err != nil {
		t.Fatal(err)
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	return jsonValue{v}
}

// TestDecodeFrameReadsEveryServerField: a field added to Frame for the
// server to send must be read by DecodeFrame, or named here as one the
// browser never receives.
func TestDecodeFrameReadsEveryServerField(t *testing.T) {
	var want Frame
	fill(reflect.ValueOf(&want).Elem(), "")
	got := DecodeFrame(parse(t, want))
	// Sent only by clients, or only to apps (which decode with encoding/json).
	want.V, want.Site, want.Chatflow, want.Page, want.Referrer, want.IDToken, want.Resume = 0, "", "", "", "", "", ""
	want.Language = ""
	want.Comment, want.PushToken, want.Platform = "", "", ""
	if !reflect.DeepEqual(got, want) {
		t.Errorf("DecodeFrame lost fields:\n got %+v\nwant %+v", got, want)
	}
}

// TestDecodeConfigReadsWhatTheShellUses: a published field the browser
// needs must be read by DecodeConfig; the ones it does not need are named
// here.
func TestDecodeConfigReadsWhatTheShellUses(t *testing.T) {
	var want Config
	fill(reflect.ValueOf(&want).Elem(), "")
	cf := &want.Chatflows[0]
	cf.Language = "de"
	cf.EmailCapture.Prompt = map[string]string{"de": "Ihre E-Mail?", "en": "Your email?"}
	got := DecodeConfig(parse(t, want))
	// Not for browsers: the app's tag, the heading's setting (resolved into
	// HeadingName/HeadingImage), prompts in other languages, and options the
	// server acts on or has published as Consents.
	cf.MobileTag, cf.Look.Heading = "", Heading{}
	cf.EmailCapture.Prompt = map[string]string{"de": "Ihre E-Mail?"}
	cf.EmailCapture.TranscriptAtClose = false
	o := &cf.Options
	o.CookieConsent, o.DataConsent, o.CommunicationConsent = CookieConsent{}, DataConsent{}, CommunicationConsent{}
	o.MarketingContacts, o.SurveyID, o.BotID, o.LanguageChoice = false, 0, 0, "" // the choice is published as Translations
	if !reflect.DeepEqual(got, &want) {
		t.Errorf("DecodeConfig lost fields:\n got %+v\nwant %+v", got, &want)
	}
}

// Hostile shapes decode to zero values, never a panic.
func TestDecodeOddShapes(t *testing.T) {
	for _, raw := range []string{`null`, `"x"`, `[]`, `{"chatflows":"x"}`, `{"chatflows":[1,"a",null,{"targeting":{"groups":"x"}}]}`,
		`{"type":5,"attachment":"x","quick_replies":{"a":1},"properties":[1,2]}`} {
		var v any
		if err := json.Unmarshal([]byte(raw), &v); err != nil {
			t.Fatal(err)
		}
		DecodeConfig(jsonValue{v})
		DecodeFrame(jsonValue{v})
	}
}
