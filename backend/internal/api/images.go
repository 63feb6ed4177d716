package api

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"image"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
	"mime"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/parleychat/parley/backend/internal/chatflow"
	"github.com/parleychat/parley/backend/internal/onboarding"
	"github.com/parleychat/parley/backend/internal/problem"
	"github.com/parleychat/parley/backend/internal/store"
	"github.com/parleychat/parley/widget"
)

// Brand images: an editor uploads a PNG, JPEG or GIF (POST /api/v1/images,
// the raw bytes or a multipart form's file); its id is the SHA-256 of the
// bytes, so uploading it again changes nothing, and a chatflow's brand
// heading names it (look.heading.image_id). The edge serves it from
// /internal/sites/:site/images/:id at an address that never changes.

// DefaultImageMaxBytes is the largest brand image unless
// BRAND_IMAGE_MAX_BYTES says otherwise.
const DefaultImageMaxBytes = 1 << 20

// Limits on an image's pixels: decoding one costs memory by its size, not
// by its file's.
const (
	MaxImageSide   = 4096
	MaxImagePixels = 4096 * 4096
)

// imageField names the upload in problem documents (and a multipart form).
const imageField = "image"

var imageID = regexp.MustCompile(`^[0-9a-f]{64}$`)

func (a *API) registerImages(v1 *gin.RouterGroup) {
	v1.POST("/images", a.uploadImage)
	v1.GET("/images", a.listImages)
	v1.GET("/images/:id", a.getImage)
}

// imageMax is the configured size cap.
func (a *API) imageMax() int64 {
	if a.ImageMaxBytes > 0 {
		return a.ImageMaxBytes
	}
	return DefaultImageMaxBytes
}

// ImageMaxBytes is the size cap of an uploaded brand image, for forms
// that read an upload before passing it on.
func (l *Local) ImageMaxBytes() int64 { return l.a.imageMax() }

// imageOut is an image as the API shows it.
type imageOut struct {
	*store.BrandImage
	Animated bool   `json:"animated"`
	Path     string `json:"path"`          // on the edge, as chatflows publish it
	URL      string `json:"url,omitempty"` // Path on the edge's public address, when known
}

func (a *API) imageOut(c *gin.Context, img *store.BrandImage) imageOut {
	out := imageOut{BrandImage: img, Animated: img.Frames > 1, Path: widget.ImagePath(account(c).PublicID, img.ID)}
	if a.PublicURL != "" || c.Request.Host != "" {
		out.URL = onboarding.Base(a.PublicURL, c.Request) + out.Path
	}
	return out
}

func (a *API) uploadImage(c *gin.Context) {
	data, ok := a.readImage(c)
	if !ok {
		return
	}
	n, errs := CheckImage(data)
	if errs != nil {
		problem.Invalid(c.Writer, "Invalid image", errs)
		return
	}
	img, fresh, err := a.st.PutBrandImage(c, account(c).ID, n)
	if err != nil {
		a.fail(c, err)
		return
	}
	out := a.imageOut(c, img)
	status := http.StatusOK // the same bytes were uploaded before
	if fresh {
		status = http.StatusCreated
	}
	c.Header("Location", "/api/v1/images/"+img.ID)
	c.JSON(status, out)
}

// readImage reads the upload: the body itself, or the first file of a
// multipart form, refusing more than the size cap with 413.
func (a *API) readImage(c *gin.Context) ([]byte, bool) {
	max := a.imageMax()
	tooBig := func() ([]byte, bool) {
		problem.Status(c.Writer, http.StatusRequestEntityTooLarge,
			"The image is larger than "+strconv.FormatInt(max, 10)+" bytes, the limit of this server (BRAND_IMAGE_MAX_BYTES).")
		return nil, false
	}
	// The form's boundaries and headers come on top of the file.
	c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, max+64<<10)
	var r io.Reader = c.Request.Body
	mt, _, _ := mime.ParseMediaType(c.GetHeader("Content-Type"))
	if mt == "application/json" {
		problem.Status(c.Writer, http.StatusUnsupportedMediaType,
			"Send the image file itself as the body (any other Content-Type), or as the file of a multipart/form-data form; JSON is no image.")
		return nil, false
	}
	if mt == "multipart/form-data" {
		mr, err := c.Request.MultipartReader()
		for err == nil {
			var p interface {
				io.Reader
				FileName() string
				FormName() string
			}
			p, err = mr.NextPart()
			if err == nil && (p.FileName() != "" || p.FormName() == imageField) {
				r = p
				break
			}
		}
		var mbe *http.MaxBytesError
		switch {
		case errors.As(err, &mbe):
			return tooBig()
		case err != nil:
			problem.Invalid(c.Writer, "Invalid image", problem.Errors{{Field: imageField,
				Message: "is missing: send the image as the body, or as the file of a multipart form"}})
			return nil, false
		}
	}
	data, err := io.ReadAll(io.LimitReader(r, max+1))
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe) || int64(len(data)) > max:
		return tooBig()
	case err != nil:
		problem.Status(c.Writer, http.StatusBadRequest, "Could not read the upload.")
		return nil, false
	}
	return data, true
}

// CheckImage decides whether data is a brand image Parley keeps: a PNG,
// JPEG or GIF by its bytes (never by a name or a header), readable, within
// the pixel limits. GIFs are kept as they are, animation and all. The
// errors name the field "image".
func CheckImage(data []byte) (store.NewBrandImage, problem.Errors) {
	bad := func(msg string) (store.NewBrandImage, problem.Errors) {
		return store.NewBrandImage{}, problem.Errors{{Field: imageField, Message: msg}}
	}
	if len(data) == 0 {
		return bad("is empty: choose a PNG, JPEG or GIF file")
	}
	n := store.NewBrandImage{Frames: 1, Data: data}
	var err error
	r := bytes.NewReader(data)
	switch {
	case bytes.HasPrefix(data, []byte("\x89PNG\r\n\x1a\n")):
		n.ContentType = "image/png"
		if n.Width, n.Height, err = dims(png.DecodeConfig(r)); err == nil {
			_, err = png.Decode(bytes.NewReader(data))
		}
	case bytes.HasPrefix(data, []byte("\xff\xd8\xff")):
		n.ContentType = "image/jpeg"
		if n.Width, n.Height, err = dims(jpeg.DecodeConfig(r)); err == nil {
			_, err = jpeg.Decode(bytes.NewReader(data))
		}
	case bytes.HasPrefix(data, []byte("GIF87a")), bytes.HasPrefix(data, []byte("GIF89a")):
		n.ContentType = "image/gif"
		if n.Width, n.Height, err = dims(gif.DecodeConfig(r)); err == nil {
			// The first frame decodes, and the rest is well-formed GIF
			// blocks; decoding every frame could take gigabytes.
			if _, err = gif.Decode(bytes.NewReader(data)); err == nil {
				n.Frames, err = gifFrames(data)
			}
		}
	default:
		return bad("must be a PNG, JPEG or GIF image; this file is " + describe(data))
	}
	var big errTooManyPixels
	switch {
	case errors.As(err, &big):
		return bad(big.Error())
	case err != nil:
		return bad("is not a readable " + strings.ToUpper(strings.TrimPrefix(n.ContentType, "image/")) + " image (" + err.Error() + ")")
	}
	sum := sha256.Sum256(data)
	n.ID = hex.EncodeToString(sum[:])
	return n, nil
}

// errTooManyPixels refuses an image before it is decoded.
type errTooManyPixels struct{ w, h int }

func (e errTooManyPixels) Error() string {
	return "is " + strconv.Itoa(e.w) + "×" + strconv.Itoa(e.h) + " pixels; at most " +
		strconv.Itoa(MaxImageSide) + " on a side and " + strconv.Itoa(MaxImagePixels) + " in all"
}

// dims checks an image's size from its header, before it is decoded.
func dims(cfg image.Config, err error) (int, int, error) {
	switch w, h := cfg.Width, cfg.Height; {
	case err != nil:
		return 0, 0, err
	case w <= 0 || h <= 0:
		return 0, 0, errors.New("it has no pixels")
	case w > MaxImageSide || h > MaxImageSide || w*h > MaxImagePixels:
		return 0, 0, errTooManyPixels{w, h}
	}
	return cfg.Width, cfg.Height, nil
}

// describe names what an upload that is no image Parley takes looks like.
func describe(data []byte) string {
	head := bytes.ToLower(data[:min(len(data), 1024)])
	switch ct, _, _ := mime.ParseMediaType(http.DetectContentType(data)); {
	case bytes.Contains(head, []byte("<svg")):
		return "an SVG image (SVG may carry scripts; export it as PNG)"
	case ct == "text/html":
		return "an HTML document"
	case strings.HasPrefix(ct, "image/"):
		return "a " + strings.ToUpper(strings.TrimPrefix(ct, "image/")) + " image"
	case strings.HasPrefix(ct, "text/"):
		return "text"
	case ct == "application/pdf":
		return "a PDF document"
	default:
		return "not an image format Parley knows (" + ct + ")"
	}
}

// gifFrames walks a GIF's blocks and counts its frames, checking each
// block is whole, without decompressing any.
func gifFrames(data []byte) (int, error) {
	bad := errors.New("the GIF's blocks are cut short or malformed")
	p := 13 // header and logical screen descriptor
	if len(data) < p {
		return 0, bad
	}
	if flags := data[10]; flags&0x80 != 0 {
		p += 3 << (flags&7 + 1) // global colour table
	}
	subBlocks := func() bool {
		for p < len(data) {
			n := int(data[p])
			p += 1 + n
			if n == 0 {
				return p <= len(data)
			}
		}
		return false
	}
	frames := 0
	for p < len(data) {
		switch data[p] {
		case 0x21: // extension: label, then sub-blocks
			p += 2
			if !subBlocks() {
				return 0, bad
			}
		case 0x2c: // image descriptor, local colour table, LZW code size, data
			if p+10 > len(data) {
				return 0, bad
			}
			flags := data[p+9]
			p += 10
			if flags&0x80 != 0 {
				p += 3 << (flags&7 + 1)
			}
			p++ // LZW minimum code size
			if !subBlocks() {
				return 0, bad
			}
			frames++
		case 0x3b: // trailer
			if frames == 0 {
				return 0, bad
			}
			return frames, nil
		default:
			return 0, bad
		}
	}
	return 0, bad
}

func (a *API) listImages(c *gin.Context) {
	imgs, err := a.st.BrandImages(c, account(c).ID)
	if err != nil {
		a.fail(c, err)
		return
	}
	out := make([]imageOut, len(imgs))
	for i := range imgs {
		out[i] = a.imageOut(c, &imgs[i])
	}
	c.JSON(http.StatusOK, gin.H{"images": out})
}

func (a *API) getImage(c *gin.Context) {
	id := c.Param("id")
	if !imageID.MatchString(id) {
		problem.Status(c.Writer, http.StatusNotFound, "No such image.")
		return
	}
	img, err := a.st.BrandImage(c, account(c).ID, id)
	if err != nil {
		a.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, a.imageOut(c, img))
}

// checkHeadingImage refuses a brand heading naming an image the account
// never uploaded (its form is chatflow.Validate's to check).
func (a *API) checkHeadingImage(c *gin.Context, cf *chatflow.Chatflow) bool {
	id := cf.Look.Heading.ImageID
	if id == "" || cf.Look.Heading.Kind != widget.HeadingBrand {
		return true
	}
	_, err := a.st.BrandImage(c, account(c).ID, id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		problem.Invalid(c.Writer, "Invalid input", problem.Errors{{Field: "look.heading.image_id",
			Message: "no such image: upload it first (POST /api/v1/images)"}})
		return false
	case err != nil:
		a.fail(c, err)
		return false
	}
	return true
}

// siteImage answers the edge with an image's bytes and type; the edge
// adds the caching and cross-origin headers.
func (a *API) siteImage(c *gin.Context) {
	id := c.Param("id")
	if !imageID.MatchString(id) {
		problem.Status(c.Writer, http.StatusNotFound, "No such image.")
		return
	}
	ct, data, err := a.st.BrandImageBytes(c, c.Param("site"), id)
	if errors.Is(err, store.ErrNotFound) {
		problem.Status(c.Writer, http.StatusNotFound, "No such image.")
		return
	}
	if err != nil {
		a.fail(c, err)
		return
	}
	c.Header("X-Content-Type-Options", "nosniff")
	c.Data(http.StatusOK, ct, data)
}
