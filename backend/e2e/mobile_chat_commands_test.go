package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// terminalCommands drives parley-chat through its commands like a person
// trying the protocol: consent (refuse, then agree), the Help tab
// (categories, search, an article), files both ways (an oversized one
// refused before upload), and the survey after the agent closes.
func terminalCommands(t *testing.T, s *System) {
	bin := filepath.Join(t.TempDir(), "parley-chat")
	if err := run(repoRoot(), nil, "go", "build", "-o", bin, "./widget/cmd/parley-chat"); err != nil {
		t.Fatal(err)
	}
	kb := restID(t, s, "/api/v1/knowledge-bases", map[string]any{"name": "Terminal help", "language": "en"})
	kbPath := fmt.Sprintf("/api/v1/knowledge-bases/%d", kb)
	cat := restID(t, s, kbPath+"/categories", map[string]any{"name": "Orders"})
	art := restID(t, s, kbPath+"/articles", map[string]any{"title": "Refunds", "category_id": cat, "published": true,
		"body": "You get a full **refund** within 30 days."})
	sv := restID(t, s, "/api/v1/surveys", map[string]any{"name": "CLI", "question": "Was the terminal chat helpful?", "scale": "numeric", "allow_comment": true})
	mobileFlow(t, s, "app.cli", `,"options":{"attachments":true,"survey_id":`+strconv.FormatInt(sv, 10)+`,"knowledge_base_id":`+strconv.FormatInt(kb, 10)+`,"help_tab":true,
		"data_consent":{"enabled":true,"type":"explicit"}}`)

	dir := t.TempDir()
	chat := startChat(t, bin, "-edge", s.Edge, "-site", s.Demo.Site, "-tag", "app.cli", "-state", filepath.Join(dir, "state.json"))
	at := chat.waitLine(0, "/agree data_processing")
	at = chat.waitLine(at, "* connected")

	chat.say("/refuse data_processing")
	at = chat.waitLine(at, "* consent data_processing refused")
	chat.say("Hello?")
	at = chat.waitLine(at, "declined the processing of your data")
	chat.say("/agree data_processing")
	at = chat.waitLine(at, "* consent data_processing granted")
	chat.say("/agree cookie")
	at = chat.waitLine(at, "* consent cookie granted")
	chat.say("Hello from the command line")
	at = chat.waitLine(at, "as #1")

	chat.say("/help")
	at = chat.waitLine(at, "* Orders (1)")
	at = chat.waitLine(at, fmt.Sprintf("%d: Refunds", art))
	chat.say("/search refund")
	at = chat.waitLine(at, "*refund*")
	chat.say("/article " + strconv.FormatInt(art, 10))
	at = chat.waitLine(at, "You get a full refund within 30 days.")

	png := filepath.Join(dir, "photo.png")
	big := filepath.Join(dir, "big.png")
	os.WriteFile(png, pngBytes, 0o600)
	os.WriteFile(big, append(append([]byte(nil), pngBytes...), make([]byte, 11<<20)...), 0o600)
	chat.say("/file " + big)
	at = chat.waitLine(at, "not sent: That file is too large")
	chat.say("/file " + png)
	at = chat.waitLine(at, "file photo.png (image/png")
	chat.say("/get 2 " + filepath.Join(dir, "copy.png"))
	at = chat.waitLine(at, "* saved photo.png")
	if b, err := os.ReadFile(filepath.Join(dir, "copy.png")); err != nil || string(b) != string(pngBytes) {
		t.Fatalf("the downloaded file: %d bytes, %v", len(b), err)
	}

	conv := conversationOf(t, s, filepath.Join(dir, "state.json"))
	if code, out := liveREST(t, s, "POST", fmt.Sprintf("/api/v1/conversations/%d/close", conv.ID), map[string]any{}); code >= 300 {
		t.Fatalf("close: %d %s", code, out)
	}
	at = chat.waitLine(at, "* survey: Was the terminal chat helpful?")
	chat.say("/survey 5 Worked from my terminal")
	chat.waitLine(at, "* survey answered: 5 Worked from my terminal")
	waitREST(t, s, fmt.Sprintf("/api/v1/surveys/%d/responses", sv), "Worked from my terminal")
}
