package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"sync"

	"github.com/gin-gonic/gin"

	"github.com/parleychat/parley/backend/internal/problem"
	"github.com/parleychat/parley/backend/internal/store"
)

// Local calls the REST API in-process for a signed-in person: the same
// routes, validation and role table as a Bearer key of the person's role,
// without a key or a network round trip. The console's forms go through it
// so every rule about settings keeps one home, the REST API.
type Local struct {
	a    *API
	once sync.Once
	eng  *gin.Engine
}

// Local returns the in-process caller of a.
func (a *API) Local() *Local { return &Local{a: a} }

type localKey struct{}

type localCaller struct {
	accountID int64
	role      string
}

// Result is the API's answer to one Local call.
type Result struct {
	Status int
	Header http.Header
	Body   []byte
}

// OK reports a 2xx answer.
func (r *Result) OK() bool { return r.Status >= 200 && r.Status < 300 }

// Decode reads the JSON body into v.
func (r *Result) Decode(v any) error { return json.Unmarshal(r.Body, v) }

// Problem is the problem document of an error answer; nil for a 2xx or a
// body that is not one.
func (r *Result) Problem() *problem.Problem {
	if r.OK() {
		return nil
	}
	var p problem.Problem
	if json.Unmarshal(r.Body, &p) != nil || p.Status == 0 {
		return &problem.Problem{Status: r.Status, Title: http.StatusText(r.Status)}
	}
	return &p
}

// Do calls method path (e.g. "PATCH", "/api/v1/chatflows/3") as a person
// of role in accountID with a JSON body (nil for none) and extra headers
// such as If-Match (a Content-Type among them sends another kind of body).
func (l *Local) Do(ctx context.Context, accountID int64, role, method, path string, body []byte, hdr http.Header) *Result {
	l.once.Do(func() {
		l.eng = gin.New()
		v1 := l.eng.Group("/api/v1", checkText, l.a.fromLocal, authorize)
		l.a.routes(v1, gin.New())
	})
	ctx = context.WithValue(ctx, localKey{}, localCaller{accountID, role})
	req, err := http.NewRequestWithContext(ctx, method, path, bytes.NewReader(body))
	if err != nil {
		return &Result{Status: http.StatusBadRequest, Header: http.Header{}, Body: []byte(`{"status":400,"title":"Bad Request","detail":"bad path"}`)}
	}
	for k, vs := range hdr {
		req.Header[k] = vs
	}
	if body != nil && req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "application/json")
	}
	w := &recorder{header: http.Header{}}
	l.eng.ServeHTTP(w, req)
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return &Result{Status: w.status, Header: w.header, Body: w.body.Bytes()}
}

// fromLocal stands in for authenticate on Local calls.
func (a *API) fromLocal(c *gin.Context) {
	lc, ok := c.Request.Context().Value(localKey{}).(localCaller)
	if !ok {
		problem.Status(c.Writer, http.StatusUnauthorized, "No caller.")
		c.Abort()
		return
	}
	acct, err := a.st.Account(c, lc.accountID)
	if errors.Is(err, store.ErrNotFound) {
		problem.Status(c.Writer, http.StatusUnauthorized, "The account is gone.")
		c.Abort()
		return
	}
	if err != nil {
		a.fail(c, err)
		c.Abort()
		return
	}
	c.Set(accountKey, acct)
	c.Set(roleKey, lc.role)
	c.Next()
}

// recorder is the smallest http.ResponseWriter that keeps an answer.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }
func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
}
func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.body.Write(b)
}
