package api

import (
	"strings"

	"xc5"
	"xc5/resource"
)

// Base is the path prefix of the system API.
const Base = "/api-sys/"

// Target is what a request path names.
type Target struct {
	// Index is true for the API index, GET /api-sys/.
	Index bool
	// Res is the resource the path names.
	Res *resource.Resource
	// Parent is the account named in /account/{parent}/… ("*" in OPTIONS).
	Parent string
	// ID names one record (GUID or key); "" for a collection.
	ID string
}

// Item reports whether the path names a single record.
func (t Target) Item() bool { return t.ID != "" }

var errInvalidPath = xc5.Errorf(xc5.ENOTFOUND, "invalid path")

// ParsePath maps a request path onto a resource. Resource names match
// case-insensitively (the document writes both HydraAccount and
// hydraaccount); one trailing slash is allowed ("PUT /api-sys/account/").
func ParsePath(p string) (Target, error) {
	if p == "/api-sys" {
		return Target{Index: true}, nil
	}
	if !strings.HasPrefix(p, Base) {
		return Target{}, errInvalidPath
	}
	rest := strings.TrimSuffix(p[len(Base):], "/")
	if rest == "" {
		return Target{Index: true}, nil
	}
	segs := strings.Split(rest, "/")
	for _, s := range segs {
		if s == "" || len(s) > 256 {
			return Target{}, errInvalidPath
		}
	}
	top := resource.Lookup(nil, segs[0])
	if top == nil {
		return Target{}, errInvalidPath
	}
	var t Target
	switch len(segs) {
	case 1:
		t = Target{Res: top}
	case 2:
		t = Target{Res: top, ID: segs[1]}
	case 3, 4:
		sub := resource.Lookup(top, segs[2])
		if sub == nil {
			return Target{}, errInvalidPath
		}
		t = Target{Res: sub, Parent: segs[1]}
		if len(segs) == 4 {
			t.ID = segs[3]
		}
	default:
		return Target{}, errInvalidPath
	}
	if t.ID != "" && t.Res.NoItems {
		return Target{}, errInvalidPath
	}
	return t, nil
}
