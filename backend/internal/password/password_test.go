package password

import (
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

func TestCheckAndHash(t *testing.T) {
	for pw, ok := range map[string]bool{
		"":                        false,
		"nine char":               false,
		"ten chars!":              true,
		"äöüäöüäöüä":              true, // ten characters, twenty bytes
		strings.Repeat("x", 72):   true,
		strings.Repeat("x", 73):   false,
		strings.Repeat("é", 37):   false, // 37 characters, 74 bytes
		"correct horse battery 1": true,
	} {
		if err := Check(pw); (err == nil) != ok {
			t.Errorf("Check(%q) = %v, want ok=%v", pw, err, ok)
		}
	}
	h, err := Hash("correct horse battery")
	if err != nil || bcrypt.CompareHashAndPassword([]byte(h), []byte("correct horse battery")) != nil {
		t.Fatalf("hash %q: %v", h, err)
	}
	if _, err := Hash(strings.Repeat("x", 73)); err == nil {
		t.Fatal("a password bcrypt would cut was hashed")
	}
}
