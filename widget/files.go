package widget

import "strconv"

// Error codes of the attachment upload (PROTOCOL.md "Attachments") beside
// the protocol's own.
const (
	UploadTooLarge = "too_large" // the file is over the size limit (413)
	UploadBadType  = "bad_type"  // its content is not an allowed type (415)
)

// UploadErrorText turns an upload's error code into a sentence for the
// visitor. A forbidden upload is one the chatflow does not take.
func UploadErrorText(code string) string {
	if code == ErrForbidden {
		return T("err_files_off")
	}
	return ErrorText(code)
}

// Uploading records that the visitor picked a file: it returns the client
// message id for the upload (unique like a send's), or an error to show
// when there is no conversation yet to put it in.
func (s *Session) Uploading(name string) (string, error) {
	if s.Conversation == "" || s.Token == "" {
		s.notice = T("err_write_first")
		return "", textError("err_write_first")
	}
	s.nextID++
	s.notice = T("uploading", "name", name)
	return s.idPrefix + "-" + strconv.Itoa(s.nextID), nil
}

// Uploaded records an upload's outcome: code is "" when stored (the file
// then arrives as a message), else the upload's error code.
func (s *Session) Uploaded(code string) {
	s.notice = ""
	if code != "" {
		s.notice = UploadErrorText(code)
	}
}

// HumanSize is a file size for people: "812 B", "4.2 KB", "3.1 MB".
func HumanSize(n int64) string {
	switch {
	case n < 1000:
		return strconv.FormatInt(n, 10) + " B"
	case n < 1000*1000:
		return tenths(n, 1000) + " KB"
	}
	return tenths(n, 1000*1000) + " MB"
}

func tenths(n, unit int64) string {
	t := (n*10 + unit/2) / unit
	return strconv.FormatInt(t/10, 10) + "." + strconv.FormatInt(t%10, 10)
}

// QuickRepliesKey returns the key of the entry whose quick replies show:
// the newest entry, if it offers any (a later message hides them).
func (s *Session) QuickRepliesKey() string {
	if n := len(s.entries); n > 0 && len(s.entries[n-1].QuickReplies) > 0 {
		return s.entries[n-1].Key
	}
	return ""
}
