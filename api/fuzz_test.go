package api_test

import (
	"strings"
	"testing"

	"xc5/api"
	"xc5/resource"
)

// TestParsePath pins the path grammar the fuzzer below explores.
func TestParsePath(t *testing.T) {
	tests := []struct {
		path   string
		res    *resource.Resource // nil: the index (when ok) or an error
		parent string
		id     string
		ok     bool
	}{
		{"/api-sys/", nil, "", "", true},
		{"/api-sys", nil, "", "", true},
		{"/api-sys/account", resource.Account, "", "", true},
		{"/api-sys/account/", resource.Account, "", "", true},
		{"/api-sys/Account", resource.Account, "", "", true},
		{"/api-sys/account/alice@example.net", resource.Account, "", "alice@example.net", true},
		{"/api-sys/account/26DF146A-02E3-4A25-AE3F-08FE87DE6674/number", resource.Number, "26DF146A-02E3-4A25-AE3F-08FE87DE6674", "", true},
		{"/api-sys/account/a/number/E6134D37-104E-4320-AEE8-030300F3BF1A", resource.Number, "a", "E6134D37-104E-4320-AEE8-030300F3BF1A", true},
		{"/api-sys/account/*/number", resource.Number, "*", "", true},
		{"/api-sys/account/a/NUMBER/", resource.Number, "a", "", true},
		{"/api-sys/account/a/child", resource.Child, "a", "", true},
		{"/api-sys/account/a/child/b", resource.Child, "a", "b", true},
		{"/api-sys/account/a/accountresource/api_access", resource.AccountResource, "a", "api_access", true},
		{"/api-sys/account/a/numberallocate", resource.NumberAllocate, "a", "", true},
		{"/api-sys/guid", resource.GUID, "", "", true},
		{"/api-sys/x", nil, "", "", false},
		{"/api-sys/guid/x", nil, "", "", false},
		{"/api-sys/account/a/numberallocate/x", nil, "", "", false},
		{"/api-sys/account/a/x", nil, "", "", false},
		{"/api-sys/account/a/number/b/c", nil, "", "", false},
		{"/api-sys/account//number", nil, "", "", false},
		{"/api-sys/number", nil, "", "", false},
		{"/api-sysx", nil, "", "", false},
		{"/", nil, "", "", false},
		{"", nil, "", "", false},
		{"/api-sys/account/" + strings.Repeat("a", 257), nil, "", "", false},
	}
	for _, tt := range tests {
		got, err := api.ParsePath(tt.path)
		if (err == nil) != tt.ok {
			t.Errorf("ParsePath(%q) error %v, want ok=%v", tt.path, err, tt.ok)
			continue
		}
		if !tt.ok {
			continue
		}
		if tt.res == nil {
			if !got.Index {
				t.Errorf("ParsePath(%q) = %+v, want the index", tt.path, got)
			}
			continue
		}
		if got.Index || got.Res != tt.res || got.Parent != tt.parent || got.ID != tt.id {
			t.Errorf("ParsePath(%q) = {Index:%v Res:%v Parent:%q ID:%q}, want {Res:%v Parent:%q ID:%q}",
				tt.path, got.Index, got.Res, got.Parent, got.ID, tt.res, tt.parent, tt.id)
		}
	}
}

// FuzzParsePath: ParsePath never panics; every Target it returns names a
// resource unless it is the index, item targets are never NoItems
// resources, sub-resources have a parent and top-level ones do not.
//
//	go test -run=^$ -fuzz=FuzzParsePath -fuzztime=20s ./api/
func FuzzParsePath(f *testing.F) {
	for _, s := range []string{
		"/api-sys/", "/api-sys", "/api-sys/x", "/api-sys/account", "/api-sys/account/",
		"/api-sys/account/alice@example.net", "/api-sys/account/*/number",
		"/api-sys/account/26DF146A-02E3-4A25-AE3F-08FE87DE6674/number/E6134D37-104E-4320-AEE8-030300F3BF1A",
		"/api-sys/account/a/child/b", "/api-sys/account/a/numberallocate", "/api-sys/guid", "/api-sys/guid/x",
		"/api-sys/HydraAccount/6499878037", "/api-sys//", "/api-sys/account//number", "//api-sys/account",
		"/api-sys/account/a/accountresource/api_access", "/api-sys/account/%2F/number", "/api-sys/\x00",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		tg, err := api.ParsePath(p)
		if err != nil {
			if tg.Res != nil || tg.Index {
				t.Errorf("ParsePath(%q) failed with a non-zero target %+v", p, tg)
			}
			return
		}
		if tg.Index {
			if tg.Res != nil || tg.ID != "" || tg.Parent != "" {
				t.Errorf("ParsePath(%q) = index with %+v", p, tg)
			}
			return
		}
		if tg.Res == nil {
			t.Fatalf("ParsePath(%q) returned a target without a resource: %+v", p, tg)
		}
		if tg.Item() && tg.Res.NoItems {
			t.Errorf("ParsePath(%q) = item %q of %s, which has no items", p, tg.ID, tg.Res.Name)
		}
		if (tg.Res.Parent != nil) != (tg.Parent != "") {
			t.Errorf("ParsePath(%q) = resource %s with parent %q", p, tg.Res, tg.Parent)
		}
		for _, s := range []string{tg.Parent, tg.ID} {
			if strings.Contains(s, "/") {
				t.Errorf("ParsePath(%q) = a segment with a slash: %q", p, s)
			}
		}
		if !strings.HasPrefix(p, api.Base) {
			t.Errorf("ParsePath(%q) accepted a path outside %s", p, api.Base)
		}
	})
}
