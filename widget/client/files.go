package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strings"
	"time"

	"github.com/parleychat/parley/widget"
)

// Attachment is a file of the conversation (PROTOCOL.md "Attachments").
type Attachment struct {
	ID   string
	Name string // the file name as uploaded: untrusted text
	Type string // MIME type, checked by the server from the content
	Size int64  // bytes
	URL  string // absolute URL on the edge; fetch it with Chat.Download

	path string
}

// SizeText is the size for people: "812 B", "4.2 KB", "3.1 MB".
func (a *Attachment) SizeText() string { return widget.HumanSize(a.Size) }

// File limits of the server (PROTOCOL.md "Attachments"): the SDK checks
// them before uploading so a file that would be refused is never sent.
const (
	// MaxFileBytes is the largest file a visitor may send.
	MaxFileBytes = 10 << 20
	// FileTypes are the MIME types a visitor may send, comma-separated,
	// decided from the file's content (never its name).
	FileTypes = "image/png,image/jpeg,image/gif,image/webp,application/pdf,text/plain"
)

// uploadTimeout bounds one upload or download.
const uploadTimeout = 2 * time.Minute

// FilesAllowed reports whether the chatflow takes files from the visitor.
func (c *Chat) FilesAllowed() bool {
	return c.cf == nil || c.cf.Options.Attachments
}

// FileType is the MIME type the server will see in data (it sniffs the
// content like this), whether or not it is allowed.
func FileType(data []byte) string {
	ct, _, _ := mime.ParseMediaType(http.DetectContentType(data))
	return ct
}

// CheckFile says whether the server would take data as a file: nil, or a
// sentence for the visitor (too large, a type that cannot be sent, files
// off in this chat, no conversation yet to put it in).
func (c *Chat) CheckFile(name string, data []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.checkFileLocked(data)
}

func (c *Chat) checkFileLocked(data []byte) error {
	switch {
	case !c.FilesAllowed():
		return c.errf("err_files_off")
	case len(data) > MaxFileBytes:
		return c.errf("err_too_large")
	case !strings.Contains(","+FileTypes+",", ","+FileType(data)+","):
		return c.errf("err_bad_type")
	case c.s.Conversation == "" || c.s.Token == "":
		return c.errf("err_write_first")
	}
	return nil
}

// SendFile uploads a file into the conversation and returns its message
// id; the file then arrives as a message with an Attachment, to the
// visitor too. A file the server would refuse is refused here, before
// anything is sent, with a sentence to show. It blocks until the upload
// is stored: call it off the UI thread.
func (c *Chat) SendFile(name string, data []byte) (string, error) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return "", errors.New("parley: the chat is closed")
	}
	if err := c.checkFileLocked(data); err != nil {
		c.mu.Unlock()
		return "", err
	}
	id, err := c.s.Uploading(name)
	if err != nil {
		c.mu.Unlock()
		return "", c.errf("err_write_first")
	}
	site, conv, token := c.s.Site, c.s.Conversation, c.s.Token
	c.mu.Unlock()

	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	mw.WriteField("site", site)
	mw.WriteField("conversation", conv)
	mw.WriteField("id", id)
	fw, _ := mw.CreateFormFile("file", name)
	fw.Write(data)
	mw.Close()
	ctx, cancel := context.WithTimeout(c.ctx, uploadTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+"/v1/attachments", &body)
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", &textError{errorText(c.tx, widget.ErrUnavailable)}
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(res.Body, 64<<10))
	if res.StatusCode == http.StatusCreated || res.StatusCode == http.StatusOK {
		return id, nil
	}
	var e struct{ Error string }
	json.Unmarshal(raw, &e)
	if e.Error == widget.ErrForbidden {
		return "", c.errf("err_files_off")
	}
	if e.Error == "" {
		e.Error = "other"
	}
	return "", &textError{errorText(c.tx, e.Error)}
}

// Download fetches a file of the conversation (a message's Attachment)
// with the visitor's token. It blocks: call it off the UI thread.
func (c *Chat) Download(a *Attachment) ([]byte, error) {
	if a == nil || !strings.HasPrefix(a.path, "/v1/attachments/") {
		return nil, errors.New("parley: not an attachment of this chat")
	}
	ctx, cancel := context.WithTimeout(c.ctx, uploadTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+a.path, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.Token())
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("parley: cannot fetch %s: %w", a.Name, err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("parley: fetching %s: %s", a.Name, res.Status)
	}
	return io.ReadAll(io.LimitReader(res.Body, MaxFileBytes*2))
}
