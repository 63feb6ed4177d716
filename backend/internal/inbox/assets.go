package inbox

import (
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/parleychat/parley/public"
)

// asset is one embedded file with its content hash.
type asset struct {
	body        []byte
	hash        string // first 16 hex digits of its SHA-256
	contentType string
}

// assets serves public/inbox at /static/inbox/. Pages link files with
// ?v=<hash>: a URL with the current hash is cached for a year, any other
// answer must be revalidated (ETag), so a deploy is picked up at once.
type assets struct {
	files map[string]*asset // by name inside inbox/: "inbox.css"
}

func loadAssets() *assets {
	as := &assets{files: map[string]*asset{}}
	sub, err := fs.Sub(public.Inbox, "inbox")
	if err != nil {
		panic(err) // embedded at build time: cannot fail
	}
	fs.WalkDir(sub, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(sub, p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		ct := mime.TypeByExtension(path.Ext(p))
		if ct == "" {
			ct = "application/octet-stream"
		}
		as.files[p] = &asset{body: b, hash: hex.EncodeToString(sum[:8]), contentType: ct}
		return nil
	})
	return as
}

// url returns the versioned URL of an inbox asset, for templates.
func (as *assets) url(name string) string {
	a := as.files[name]
	if a == nil {
		return "/static/inbox/" + name
	}
	return "/static/inbox/" + name + "?v=" + a.hash
}

func (as *assets) serve(c *gin.Context) {
	a := as.files[strings.TrimPrefix(c.Param("file"), "/")]
	if a == nil {
		c.String(http.StatusNotFound, "not found")
		return
	}
	etag := `"` + a.hash + `"`
	hd := c.Writer.Header()
	hd.Set("ETag", etag)
	hd.Set("X-Content-Type-Options", "nosniff")
	if c.Query("v") == a.hash {
		hd.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		hd.Set("Cache-Control", "no-cache")
	}
	if match := c.GetHeader("If-None-Match"); match != "" && strings.Contains(match, etag) {
		c.Status(http.StatusNotModified)
		return
	}
	c.Data(http.StatusOK, a.contentType, a.body)
}
