//go:build !js

package widget

import "strings"

func lower(s string) string { return strings.ToLower(s) }
