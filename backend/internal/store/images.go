package store

import (
	"context"
	"time"
)

// BrandImage is an uploaded heading image (without its bytes). Its ID is
// the SHA-256 of the bytes, in hex.
type BrandImage struct {
	AccountID   int64     `db:"account_id" json:"-"`
	ID          string    `db:"sha256" json:"id"`
	ContentType string    `db:"content_type" json:"content_type"`
	Size        int       `db:"size" json:"size"`
	Width       int       `db:"width" json:"width"`
	Height      int       `db:"height" json:"height"`
	Frames      int       `db:"frames" json:"frames"`
	CreatedAt   time.Time `db:"created_at" json:"created_at"`
}

// brandImageColumns are the columns of BrandImage (every one but data).
const brandImageColumns = "account_id, sha256, content_type, size, width, height, frames, created_at"

// NewBrandImage is an image to store, already checked.
type NewBrandImage struct {
	ID            string // SHA-256 of Data, hex
	ContentType   string
	Width, Height int
	Frames        int
	Data          []byte
}

// PutBrandImage stores an account's image unless it has it already, and
// returns it and whether it is new. Uploading the same bytes twice stores
// them once.
func (s *Store) PutBrandImage(ctx context.Context, accountID int64, n NewBrandImage) (*BrandImage, bool, error) {
	var img BrandImage
	err := s.db.GetContext(ctx, &img, `INSERT INTO brand_images (account_id, sha256, content_type, size, width, height, frames, data)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
		ON CONFLICT (account_id, sha256) DO NOTHING RETURNING `+brandImageColumns,
		accountID, n.ID, n.ContentType, len(n.Data), n.Width, n.Height, n.Frames, n.Data)
	if err == nil {
		return &img, true, nil
	}
	if err := s.db.GetContext(ctx, &img, `SELECT `+brandImageColumns+` FROM brand_images
		WHERE account_id = $1 AND sha256 = $2`, accountID, n.ID); err != nil {
		return nil, false, notFound(err)
	}
	return &img, false, nil
}

// BrandImage returns one of the account's images; ErrNotFound if it has none by that id.
func (s *Store) BrandImage(ctx context.Context, accountID int64, id string) (*BrandImage, error) {
	var img BrandImage
	err := s.db.GetContext(ctx, &img, `SELECT `+brandImageColumns+` FROM brand_images
		WHERE account_id = $1 AND sha256 = $2`, accountID, id)
	if err != nil {
		return nil, notFound(err)
	}
	return &img, nil
}

// BrandImages lists the account's images, newest first.
func (s *Store) BrandImages(ctx context.Context, accountID int64) ([]BrandImage, error) {
	out := []BrandImage{}
	err := s.db.SelectContext(ctx, &out, `SELECT `+brandImageColumns+` FROM brand_images
		WHERE account_id = $1 ORDER BY created_at DESC, sha256`, accountID)
	return out, err
}

// BrandImageBytes returns the type and bytes of image id of the account
// whose site key is site, for the edge; ErrNotFound for either unknown.
func (s *Store) BrandImageBytes(ctx context.Context, site, id string) (contentType string, data []byte, err error) {
	var row struct {
		ContentType string `db:"content_type"`
		Data        []byte `db:"data"`
	}
	err = s.db.GetContext(ctx, &row, `SELECT i.content_type, i.data FROM brand_images i
		JOIN accounts a ON a.id = i.account_id WHERE a.public_id = $1 AND i.sha256 = $2`, site, id)
	if err != nil {
		return "", nil, notFound(err)
	}
	return row.ContentType, row.Data, nil
}
