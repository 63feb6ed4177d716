// Package problem writes RFC 9457 problem documents: the one error shape of
// the REST API, with a field-by-field list for invalid input.
package problem

import (
	"encoding/json"
	"net/http"
	"sort"
	"strings"
)

// FieldError is one invalid field, named by its JSON path (e.g. "look.accent_color").
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// Problem is an RFC 9457 problem document.
type Problem struct {
	Type   string       `json:"type"`
	Title  string       `json:"title"`
	Status int          `json:"status"`
	Detail string       `json:"detail,omitempty"`
	Errors []FieldError `json:"errors,omitempty"`
}

// Errors collects field errors while validating.
type Errors []FieldError

// Add records that field is invalid.
func (e *Errors) Add(field, message string) { *e = append(*e, FieldError{field, message}) }

// Addf records an error on prefix.field (prefix may be empty).
func (e *Errors) At(prefix, field, message string) {
	if prefix != "" {
		field = prefix + "." + field
	}
	e.Add(field, message)
}

// Err returns nil when nothing was recorded, else the errors as an error.
func (e Errors) Err() error {
	if len(e) == 0 {
		return nil
	}
	sort.SliceStable(e, func(i, j int) bool { return e[i].Field < e[j].Field })
	return e
}

// Error lists the fields.
func (e Errors) Error() string {
	parts := make([]string, len(e))
	for i, f := range e {
		parts[i] = f.Field + ": " + f.Message
	}
	return strings.Join(parts, "; ")
}

// Write sends p as application/problem+json.
func Write(w http.ResponseWriter, p Problem) {
	if p.Type == "" {
		p.Type = "about:blank"
	}
	if p.Title == "" {
		p.Title = http.StatusText(p.Status)
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(p.Status)
	json.NewEncoder(w).Encode(p)
}

// Invalid sends a 400 listing the field errors.
func Invalid(w http.ResponseWriter, title string, errs Errors) {
	Write(w, Problem{Type: "https://parley.chat/problems/invalid", Title: title, Status: http.StatusBadRequest,
		Detail: "One or more fields are invalid; see errors.", Errors: errs})
}

// Status sends a problem with just a status and a detail sentence.
func Status(w http.ResponseWriter, status int, detail string) {
	Write(w, Problem{Status: status, Detail: detail})
}
