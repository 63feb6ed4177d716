//go:build tools

// Package parley pins the dependencies the parts share while they are written.
package parley

import (
	_ "github.com/chromedp/chromedp"
	_ "github.com/coder/websocket"
	_ "github.com/gin-gonic/gin"
	_ "github.com/hack-pad/safejs"
	_ "github.com/jmoiron/sqlx"
	_ "github.com/lib/pq"
	_ "golang.org/x/crypto/bcrypt"
)
