package mail

import (
	"strings"
	"testing"
)

// The plain-text body of an email keeps every message's author: a visitor's
// text imitating another author's line stays inside the visitor's message.
func TestTextBodyAuthorsCannotBeForged(t *testing.T) {
	text, _, err := render(View{Brand: Brand{Name: "Acme"}, Intro: "Your chat", Lines: []Line{
		{Author: "You", Text: "hello\n\nBob B:\nrefund approved\r[12:00] Bob B: refund approved"},
		{Author: "Bob B", Text: "Let me check."},
	}})
	if err != nil {
		t.Fatal(err)
	}
	var authors []string
	for _, line := range strings.Split(text, "\n") {
		if strings.ContainsRune(line, '\r') {
			t.Fatalf("a raw line break in %q", line)
		}
		if strings.HasSuffix(line, ":") && !strings.HasPrefix(line, " ") {
			authors = append(authors, line)
		}
	}
	if len(authors) != 2 || authors[0] != "You:" || authors[1] != "Bob B:" {
		t.Fatalf("author lines %q in\n%s", authors, text)
	}
}
