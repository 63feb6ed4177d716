package inbox

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"github.com/parleychat/parley/backend/internal/chat"
	"github.com/parleychat/parley/backend/internal/store"
)

// fileView is an attachment as the thread's script shows it.
type fileView struct {
	URL  string `json:"url"`
	Name string `json:"name"`
	Type string `json:"type"`
	Size int64  `json:"size"`
}

func fileOf(a *store.Attachment) *fileView {
	if a == nil {
		return nil
	}
	return &fileView{URL: fileURL(a), Name: a.Filename, Type: a.ContentType, Size: a.Size}
}

func fileURL(a *store.Attachment) string { return "/inbox/attachments/" + a.PublicID }

// attachmentsOf loads the files of the messages shown.
func (h *Handler) attachmentsOf(ctx context.Context, ms []store.Message) (map[int64]*store.Attachment, error) {
	return h.st.AttachmentsOfMessages(ctx, ms)
}

// limitUpload caps an upload's body before anything (the CSRF check
// included) parses it.
func (h *Handler) limitUpload(c *gin.Context) {
	c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, h.cfg.MaxAttachmentBytes+64<<10)
	c.Next()
}

// upload stores a file an agent sends into the thread (or as a note).
func (h *Handler) upload(c *gin.Context) {
	conv, ok := h.conversation(c)
	if !ok {
		return
	}
	fh, err := c.FormFile("file")
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			h.uploadError(c, conv, http.StatusRequestEntityTooLarge, fmt.Sprintf("The file is larger than the limit of %d MB.", h.cfg.MaxAttachmentBytes>>20))
			return
		}
		h.uploadError(c, conv, http.StatusUnprocessableEntity, "Choose a file to send.")
		return
	}
	if fh.Size > h.cfg.MaxAttachmentBytes {
		h.uploadError(c, conv, http.StatusRequestEntityTooLarge, fmt.Sprintf("The file is larger than the limit of %d MB.", h.cfg.MaxAttachmentBytes>>20))
		return
	}
	f, err := fh.Open()
	if err != nil {
		h.fail(c, "upload", err)
		return
	}
	data, err := io.ReadAll(io.LimitReader(f, h.cfg.MaxAttachmentBytes+1))
	f.Close()
	if err != nil {
		h.fail(c, "upload", err)
		return
	}
	ct, allowed := chat.SniffAttachment(data, h.cfg.AttachmentTypes)
	if !allowed {
		h.uploadError(c, conv, http.StatusUnsupportedMediaType, "Files of this type ("+ct+") cannot be sent; send an image, a PDF or a text file.")
		return
	}
	caption := strings.TrimSpace(c.PostForm("text"))
	if !utf8.ValidString(caption) || utf8.RuneCountInString(caption) > h.cfg.MaxTextRunes {
		h.uploadError(c, conv, http.StatusUnprocessableEntity, "The caption is too long or not valid text.")
		return
	}
	clientID := c.PostForm("client_id")
	if clientID == "" || len(clientID) > maxClientID || !utf8.ValidString(clientID) {
		clientID = store.NewToken()
	}
	m, _, err := h.st.AddAttachment(c, store.NewAttachment{
		Message:     store.NewMessage{ConversationID: conv.ID, ClientID: clientID, AuthorType: store.AuthorAgent, AuthorID: user(c).ID, Internal: c.PostForm("internal") != "", Body: caption},
		Filename:    chat.CleanFilename(fh.Filename),
		ContentType: ct,
		Data:        data,
	})
	if err != nil {
		h.fail(c, "upload", err)
		return
	}
	if wantsJSON(c) {
		c.JSON(http.StatusOK, gin.H{"seq": m.Seq})
		return
	}
	c.Redirect(http.StatusSeeOther, fmt.Sprintf("/inbox/conversations/%d#m%d", conv.ID, m.Seq))
}

func (h *Handler) uploadError(c *gin.Context, conv *store.ConversationSummary, status int, msg string) {
	if wantsJSON(c) {
		c.JSON(status, gin.H{"error": msg})
		return
	}
	d, err := h.threadPage(c, conv)
	if err != nil {
		h.fail(c, "upload", err)
		return
	}
	d.ClientID, d.FileError = store.NewToken(), msg
	h.renderThread(c, status, d)
}

// download serves a file to an agent of the conversation's inbox: 403 for
// anyone else, whatever they know of its id.
func (h *Handler) download(c *gin.Context) {
	u := user(c)
	a, _, err := h.st.AttachmentByPublicID(c, c.Param("id"))
	if errors.Is(err, store.ErrNotFound) || err == nil && a.AccountID != u.AccountID {
		h.deny(c, http.StatusNotFound, "There is no such file.")
		return
	}
	if err != nil {
		h.fail(c, "download", err)
		return
	}
	conv, err := h.st.Conversation(c, u.AccountID, a.ConversationID)
	if err != nil {
		h.fail(c, "download", err)
		return
	}
	ok, err := h.st.IsInboxMember(c, u.ID, conv.InboxID)
	if err != nil {
		h.fail(c, "download", err)
		return
	}
	if !ok {
		h.deny(c, http.StatusForbidden, "This file is in an inbox you are not a member of.")
		return
	}
	data, err := h.st.AttachmentData(c, a.ID)
	if err != nil {
		h.fail(c, "download", err)
		return
	}
	if c.Query("inline") != "" && isInlineImage(a.ContentType) {
		// A picture shown in the thread or opened full size: the same
		// sandboxing headers, displayed rather than downloaded.
		hd := c.Writer.Header()
		hd.Set("Content-Type", a.ContentType)
		hd.Set("Content-Disposition", "inline")
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Content-Security-Policy", "default-src 'none'; sandbox; frame-ancestors 'none'")
		hd.Set("Cache-Control", "private, no-store")
		c.Writer.Write(data)
		return
	}
	chat.ServeAttachment(c.Writer, a, data)
}
