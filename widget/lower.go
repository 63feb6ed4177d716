package widget

// Lower lower-cases text for the case-insensitive comparisons of targeting
// rules. Native builds use strings.ToLower. In the browser, Unicode's case
// tables would add about 6 KB (brotli) to widget.wasm, so the shell sets
// Lower to the browser's own String.prototype.toLowerCase; until it does,
// only ASCII letters are lowered.
var Lower = lower

// lowerASCII lowers the letters A-Z and leaves every other byte alone.
func lowerASCII(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; 'A' <= c && c <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if c := b[j]; 'A' <= c && c <= 'Z' {
					b[j] = c + 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}
