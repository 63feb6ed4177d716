//go:build js

package widget

func lower(s string) string { return lowerASCII(s) }
