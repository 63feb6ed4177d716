//go:build js && wasm

package main

import (
	"errors"

	"github.com/hack-pad/safejs"
)

// Small wrappers over safejs for the shell's many DOM calls. A JavaScript
// exception never reaches the page: each helper returns a zero value and
// remembers the first error, which makes the widget report "failed".

var firstErr error

func note(err error) {
	if err != nil && firstErr == nil {
		firstErr = err
	}
}

var global = safejs.Global()

// get returns v[p], or undefined when v is not an object.
//
//go:noinline
func get(v safejs.Value, p string) safejs.Value {
	if v.IsUndefined() || v.IsNull() {
		return safejs.Undefined()
	}
	r, err := v.Get(p)
	if err != nil {
		return safejs.Undefined()
	}
	return r
}

// str returns v[p] if it is a string, else "".
//
//go:noinline
func str(v safejs.Value, p string) string {
	r := get(v, p)
	if r.Type() != safejs.TypeString {
		return ""
	}
	s, _ := r.String()
	return s
}

// num returns v[p] if it is a number, else 0.
//
//go:noinline
func num(v safejs.Value, p string) float64 {
	r := get(v, p)
	if r.Type() != safejs.TypeNumber {
		return 0
	}
	f, _ := r.Float()
	return f
}

// truthy reports whether v[p] is truthy.
//
//go:noinline
func truthy(v safejs.Value, p string) bool {
	r := get(v, p)
	if r.IsUndefined() {
		return false
	}
	b, _ := r.Truthy()
	return b
}

//go:noinline
func set(v safejs.Value, p string, x any) {
	note(v.Set(p, x))
}

//go:noinline
func call(v safejs.Value, m string, args ...any) safejs.Value {
	r, err := v.Call(m, args...)
	note(err)
	return r
}

// try calls a method whose failure is expected now and then (sending on a
// closing socket) and must not mark the widget failed.
//
//go:noinline
func try(v safejs.Value, m string, args ...any) error {
	_, err := v.Call(m, args...)
	return err
}

//go:noinline
func attr(el safejs.Value, name, value string) {
	call(el, "setAttribute", name, value)
}

// text sets an element's text. Text from visitors, agents and settings is
// only ever shown this way, never as HTML.
//
//go:noinline
func text(el safejs.Value, s string) {
	set(el, "textContent", s)
}

// newObject returns a fresh empty JavaScript object.
//
//go:noinline
func newObject() safejs.Value {
	o, err := get(global, "Object").New()
	note(err)
	return o
}

// funcOf wraps fn for JavaScript. The shell's functions live as long as the
// page, so they are never released.
//
//go:noinline
func funcOf(fn func(this safejs.Value, args []safejs.Value) any) safejs.Value {
	f, err := safejs.FuncOf(fn)
	if err != nil {
		note(err)
		return safejs.Undefined()
	}
	return f.Value()
}

//go:noinline
func arg(args []safejs.Value, i int) safejs.Value {
	if i < len(args) {
		return args[i]
	}
	return safejs.Undefined()
}

// await blocks the calling goroutine (never a JavaScript callback) until
// promise p settles.
func await(p safejs.Value) (safejs.Value, error) {
	type result struct {
		v   safejs.Value
		err error
	}
	ch := make(chan result, 1)
	ok, err := safejs.FuncOf(func(_ safejs.Value, args []safejs.Value) any {
		ch <- result{v: arg(args, 0)}
		return nil
	})
	if err != nil {
		return safejs.Undefined(), err
	}
	defer ok.Release()
	fail, err := safejs.FuncOf(func(_ safejs.Value, args []safejs.Value) any {
		msg, _ := arg(args, 0).String()
		ch <- result{err: errors.New(msg)}
		return nil
	})
	if err != nil {
		return safejs.Undefined(), err
	}
	defer fail.Release()
	if _, err := p.Call("then", ok.Value(), fail.Value()); err != nil {
		return safejs.Undefined(), err
	}
	r := <-ch
	return r.v, r.err
}

// jsValue is a value parsed by the browser's JSON.parse, read by
// widget.DecodeFrame and widget.DecodeConfig.
type jsValue struct{ v safejs.Value }

func (j jsValue) Get(key string) jsValue { return jsValue{get(j.v, key)} }

func (j jsValue) String() string {
	if j.v.Type() != safejs.TypeString {
		return ""
	}
	s, _ := j.v.String()
	return s
}

func (j jsValue) Number() float64 {
	if j.v.Type() != safejs.TypeNumber {
		return 0
	}
	f, _ := j.v.Float()
	return f
}

func (j jsValue) Truthy() bool {
	if j.v.IsUndefined() {
		return false
	}
	b, _ := j.v.Truthy()
	return b
}

func (j jsValue) Object() bool { return j.v.Type() == safejs.TypeObject }

func (j jsValue) Len() int {
	if !j.Object() {
		return 0
	}
	n, _ := j.v.Length()
	return n
}

func (j jsValue) Index(i int) jsValue {
	x, err := j.v.Index(i)
	if err != nil {
		return jsValue{safejs.Undefined()}
	}
	return jsValue{x}
}

func (j jsValue) Keys() []string {
	keys, err := get(global, "Object").Call("keys", j.v)
	if err != nil {
		return nil
	}
	n, _ := keys.Length()
	out := make([]string, 0, n)
	for i := 0; i < n; i++ {
		k, _ := keys.Index(i)
		s, _ := k.String()
		out = append(out, s)
	}
	return out
}
