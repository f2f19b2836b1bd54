package resource

import (
	"slices"
	"strings"
	"testing"
)

// TestDecodeEnum: a field with an Enum takes its values only (after its
// Check has normalised the case), and null resets it to a default that is
// one of them.
func TestDecodeEnum(t *testing.T) {
	for _, tc := range []struct {
		r        *Resource
		body     string
		field    string
		want     string
		errorHas string
	}{
		{Trunk, `{"transport":"TCP"}`, "transport", "tcp", ""},
		{Trunk, `{"transport":" tls "}`, "transport", "tls", ""},
		{Trunk, `{"transport":null}`, "transport", "udp", ""},
		{Trunk, `{"transport":"sctp"}`, "transport", "", "transport must be udp or tcp or tls"},
		{Voicemail, `{"status":"saved"}`, "status", "saved", ""},
		{Voicemail, `{"status":"old"}`, "status", "", "status must be new or saved"},
	} {
		in, err := Decode(tc.r, []byte(tc.body))
		if tc.errorHas != "" {
			if err == nil || !strings.Contains(err.Error(), tc.errorHas) {
				t.Errorf("%s %s: error %v, want %q", tc.r.Name, tc.body, err, tc.errorHas)
			}
			continue
		}
		if err != nil || in[tc.field] != tc.want {
			t.Errorf("%s %s: %v %v, want %q", tc.r.Name, tc.body, in, err, tc.want)
		}
	}
	for _, r := range All {
		for _, f := range r.Fields {
			if len(f.Enum) > 0 && (f.Type != String || !f.ReadOnly && !slices.Contains(f.Enum, f.DefaultOf().(string))) {
				t.Errorf("%s.%s: enum %v with type %s and default %q", r.Name, f.Name, f.Enum, f.Type, f.DefaultOf())
			}
		}
	}
}
