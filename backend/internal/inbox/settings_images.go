package inbox

import (
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/parleychat/parley/backend/internal/api"
	"github.com/parleychat/parley/backend/internal/store"
)

// Brand images in the console: /inbox/settings/images lists an account's
// uploads and takes new ones; the same POST is the upload field of the
// chatflow editor. Every upload goes through the REST upload in-process
// (POST /api/v1/images), so type sniffing, the size cap and the
// content-hash ids have one home.
//
// The chatflow editor embeds the field with two partials of
// templates/_images.html, given an ImageField from h.imageField:
//
//	{{template "image-field" .Image}}        inside the editor's form: the current
//	                                          image, a hidden input named .Field
//	                                          holding its id, a file input and an
//	                                          Upload (and Remove) button
//	{{template "image-upload-form" .Image}}  OUTSIDE the editor's form (forms do not
//	                                          nest): the multipart form the file
//	                                          input and buttons belong to (form=)
//
// An upload for a chatflow stores the image, sets the chatflow's
// look.heading.image_id to it (PATCH with the page's version: a stale page
// is refused) and goes back to ImageField.Return with notice=saved; a
// refused upload shows the images page with the reason beside the file
// field and a link back. With "Accept: application/json" (a script) the
// answer is the REST image ({"id", "path", "url", ...}) or {"error"}.

// headingImageField is the chatflow field an editor upload sets.
const headingImageField = "look.heading.image_id"

// imageSettings mounts the brand image pages.
func (h *Handler) imageSettings(g *gin.RouterGroup) {
	g.GET("/images", h.imagesPage)
	g.POST("/images", h.limitImage, h.requireCSRF, h.imageUpload)
}

// ImageField is what the image partials render for one image field.
type ImageField struct {
	Field    string // the JSON path of the image id, e.g. look.heading.image_id: the hidden input's name
	Label    string
	ID       string // the image chosen now; "" for none
	Src      string // its address on the edge, for <img>
	Form     string // the upload form's id
	CSRF     string
	Chatflow int64  // the chatflow whose heading an upload sets; 0 only uploads
	Version  int64  // that chatflow's version on the page, for the stale check
	Return   string // where a done upload goes back to (a /inbox/settings/ path)
	Max      string // the size cap, for people ("1 MiB")
	Error    string // why the field's value or the last upload was refused
}

// imageField builds the field of chatflow cf's heading image (version is
// the version the page shows; returnTo the editor's address, e.g.
// /inbox/settings/chatflows/3?tab=build). errs may hold the field's error
// from a save (key look.heading.image_id).
func (h *Handler) imageField(c *gin.Context, imageID string, chatflowID, version int64, returnTo string, errs formErrors) ImageField {
	f := ImageField{Field: headingImageField, Label: "Brand image (PNG, JPEG or GIF)", ID: imageID,
		Form: "image-upload", CSRF: session(c).CSRFToken, Chatflow: chatflowID, Version: version,
		Return: safeReturn(returnTo), Max: sizeText(h.imageMax()), Error: errs[headingImageField]}
	if imageID != "" {
		f.Src = "/v1/sites/" + h.siteKey(c) + "/images/" + imageID
	}
	return f
}

// siteKey is the signed-in person's account's public site key.
func (h *Handler) siteKey(c *gin.Context) string {
	acct, err := h.st.Account(c, user(c).AccountID)
	if err != nil {
		return ""
	}
	return acct.PublicID
}

func (h *Handler) imageMax() int64 {
	if h.cfg.REST == nil {
		return api.DefaultImageMaxBytes
	}
	return h.cfg.REST.ImageMaxBytes()
}

// limitImage caps the upload's body before anything (the CSRF check
// included) parses it. A body announced too large is refused at once, with
// the page saying why (the token cannot be read from a cut-off form).
func (h *Handler) limitImage(c *gin.Context) {
	limit := h.imageMax() + 64<<10
	if c.Request.ContentLength > limit {
		msg := "The image is larger than " + sizeText(h.imageMax()) + ", the limit of this server."
		if wantsJSON(c) {
			c.AbortWithStatusJSON(http.StatusRequestEntityTooLarge, gin.H{"error": msg})
			return
		}
		d := h.imagesData(c)
		d.Field.Error = msg
		d.Back = safeReturn(c.Query("return"))
		h.render(c, http.StatusRequestEntityTooLarge, "settings_images.html", d)
		c.Abort()
		return
	}
	c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, limit)
	c.Next()
}

// imagesPageData is the images page.
type imagesPageData struct {
	settingsPage
	Images []imageView
	Field  ImageField // the upload form
	Back   string     // the editor to go back to after a refused upload
}

// imageView is one uploaded image as the page lists it.
type imageView struct {
	ID, Src, URL, Type, Size string
	Width, Height            int
	Animated                 bool
}

func (h *Handler) imagesPage(c *gin.Context) {
	d := h.imagesData(c)
	d.Notice = map[string]string{"uploaded": "Uploaded. Name the image in a chatflow's heading by its id."}[c.Query("notice")]
	h.render(c, http.StatusOK, "settings_images.html", d)
}

func (h *Handler) imagesData(c *gin.Context) *imagesPageData {
	d := &imagesPageData{settingsPage: h.settingsBase(c, "images", "Brand images")}
	d.Field = h.imageField(c, "", 0, 0, "", nil)
	d.Field.Label = "Upload an image (PNG, JPEG or GIF)"
	var list struct {
		Images []struct {
			store.BrandImage
			Animated bool   `json:"animated"`
			Path     string `json:"path"`
			URL      string `json:"url"`
		} `json:"images"`
	}
	if res := h.rest(c, "GET", "/api/v1/images", nil, 0); res.OK() && res.Decode(&list) == nil {
		for _, i := range list.Images {
			d.Images = append(d.Images, imageView{ID: i.ID, Src: i.Path, URL: i.URL, Type: strings.TrimPrefix(i.ContentType, "image/"),
				Size: sizeText(int64(i.Size)), Width: i.Width, Height: i.Height, Animated: i.Animated})
		}
	}
	return d
}

// imageUpload stores an uploaded image and, for a chatflow, names it in
// the chatflow's heading; or, with remove=1, takes the heading's image away.
func (h *Handler) imageUpload(c *gin.Context) {
	chatflowID, _ := strconv.ParseInt(c.PostForm("chatflow_id"), 10, 64)
	version, _ := strconv.ParseInt(c.PostForm("version"), 10, 64)
	back := safeReturn(c.DefaultPostForm("return", c.Query("return")))
	refuse := func(status int, msg string) {
		if wantsJSON(c) {
			c.JSON(status, gin.H{"error": msg})
			return
		}
		d := h.imagesData(c)
		d.Field.Error, d.Back = msg, back
		if chatflowID > 0 {
			d.Field.Chatflow, d.Field.Version, d.Field.Return = chatflowID, version, back
		}
		h.render(c, status, "settings_images.html", d)
	}
	if c.PostForm("remove") != "" && chatflowID > 0 {
		if status, msg := h.setHeadingImage(c, chatflowID, version, ""); msg != "" {
			refuse(status, msg)
			return
		}
		h.imageDone(c, back, chatflowID, nil)
		return
	}
	data, status, msg := h.formImage(c)
	if msg != "" {
		refuse(status, msg)
		return
	}
	res := h.restRaw(c, "POST", "/api/v1/images", "application/octet-stream", data)
	if !res.OK() {
		refuse(res.Status, imageProblem(res))
		return
	}
	var img map[string]any
	if err := res.Decode(&img); err != nil {
		h.fail(c, "image upload", err)
		return
	}
	if chatflowID > 0 {
		id, _ := img["id"].(string)
		if status, msg := h.setHeadingImage(c, chatflowID, version, id); msg != "" {
			refuse(status, msg)
			return
		}
	}
	h.imageDone(c, back, chatflowID, img)
}

// formImage reads the form's file, with a sentence for people when there is none.
func (h *Handler) formImage(c *gin.Context) ([]byte, int, string) {
	fh, err := c.FormFile("image")
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig) || (err == nil && fh.Size > h.imageMax()):
		return nil, http.StatusRequestEntityTooLarge, "The image is larger than " + sizeText(h.imageMax()) + ", the limit of this server."
	case err != nil:
		return nil, http.StatusBadRequest, "Choose a PNG, JPEG or GIF file to upload."
	}
	f, err := fh.Open()
	if err != nil {
		return nil, http.StatusBadRequest, "The file could not be read; try again."
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, h.imageMax()+1))
	if err != nil {
		return nil, http.StatusBadRequest, "The file could not be read; try again."
	}
	return data, 0, ""
}

// imageProblem is the REST refusal of an upload as one sentence.
func imageProblem(res *api.Result) string {
	p := res.Problem()
	for _, f := range p.Errors {
		return "The file " + f.Message + "."
	}
	if p.Detail != "" {
		return p.Detail
	}
	return p.Title
}

// setHeadingImage names image id ("": none) in chatflow id's heading,
// refused when the chatflow changed since version.
func (h *Handler) setHeadingImage(c *gin.Context, id, version int64, image string) (int, string) {
	heading := map[string]any{"image_id": image}
	if image != "" {
		heading["image_url"] = "" // an uploaded image replaces an image address
	}
	body := map[string]any{"look": map[string]any{"heading": heading}}
	res := h.rest(c, "PATCH", "/api/v1/chatflows/"+strconv.FormatInt(id, 10), body, version)
	switch {
	case res.Status == http.StatusPreconditionFailed:
		return http.StatusConflict, "The image is uploaded, but the chatflow was saved by someone else meanwhile, so its heading was not changed. Go back, reload the chatflow and upload again (the same file is stored once)."
	case !res.OK():
		if p := res.Problem(); len(p.Errors) > 0 {
			return res.Status, p.Errors[0].Field + " " + p.Errors[0].Message
		}
		return res.Status, imageProblem(res)
	}
	return 0, ""
}

// imageDone answers a done upload or removal.
func (h *Handler) imageDone(c *gin.Context, back string, chatflowID int64, img map[string]any) {
	switch {
	case wantsJSON(c):
		if img == nil {
			img = map[string]any{}
		}
		c.JSON(http.StatusOK, img)
	case chatflowID > 0 && back != "":
		sep := "?"
		if strings.Contains(back, "?") {
			sep = "&"
		}
		c.Redirect(http.StatusSeeOther, back+sep+"notice=saved")
	default:
		c.Redirect(http.StatusSeeOther, "/inbox/settings/images?notice=uploaded")
	}
}

// restRaw is h.rest with a body of another type than JSON (an upload).
func (h *Handler) restRaw(c *gin.Context, method, path, contentType string, body []byte) *api.Result {
	if h.cfg.REST == nil {
		return h.rest(c, method, path, nil, 0)
	}
	u := user(c)
	return h.cfg.REST.Do(c, u.AccountID, u.Role, method, path, body, http.Header{"Content-Type": {contentType}})
}

// safeReturn keeps a return address inside the console.
func safeReturn(p string) string {
	if !strings.HasPrefix(p, "/inbox/settings/") || strings.ContainsAny(p, "\\\r\n") || strings.Contains(p, "//") {
		return ""
	}
	return p
}

// sizeText writes a byte count for people: 1 MiB, 300 KiB, 512 bytes.
func sizeText(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return strconv.FormatInt(n>>20, 10) + " MiB"
	case n >= 1<<20:
		return strconv.FormatFloat(float64(n)/(1<<20), 'f', 1, 64) + " MiB"
	case n >= 1<<10:
		return strconv.FormatInt((n+512)>>10, 10) + " KiB"
	}
	return strconv.FormatInt(n, 10) + " bytes"
}
