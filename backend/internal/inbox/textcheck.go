package inbox

import (
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/parleychat/parley/backend/internal/textcheck"
)

// checkText refuses, with a page saying which field, a request whose query,
// path parameters or form fields are not valid text (invalid UTF-8, a NUL
// character): the database could not store or search them. File uploads
// (multipart) are judged by their own handler, after its size limit.
func checkText(c *gin.Context) {
	name, ok := textcheck.Values(c.Request.URL.Query())
	for _, p := range c.Params {
		if ok && !textcheck.Valid(p.Value) {
			name, ok = p.Key, false
		}
	}
	if ok && c.Request.Method == http.MethodPost &&
		strings.HasPrefix(c.ContentType(), "application/x-www-form-urlencoded") {
		if err := c.Request.ParseForm(); err == nil {
			name, ok = textcheck.Values(c.Request.PostForm)
		}
	}
	if ok {
		c.Next()
		return
	}
	msg := "The field \"" + name + "\" holds characters that are not text (a NUL character or invalid UTF-8). Go back, correct it and try again."
	if wantsJSON(c) {
		c.AbortWithStatusJSON(http.StatusBadRequest, gin.H{"error": msg, "field": name})
		return
	}
	c.Data(http.StatusBadRequest, "text/plain; charset=utf-8", []byte(msg))
	c.Abort()
}
