package resource_test

import (
	"encoding/json"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"xc5"
	"xc5/dialplan"
	"xc5/resource"
)

// TestDecodeAccepts: the body rules of the document: partial objects,
// null resets to the default, integer strings, 0/1 booleans, duplicate
// keys with the last one winning, _links ignored, values normalised.
func TestDecodeAccepts(t *testing.T) {
	tests := []struct {
		name string
		res  *resource.Resource
		body string
		want resource.Input
	}{
		{"empty body", resource.Number, ``, resource.Input{}},
		{"blank body", resource.Number, " \n\t ", resource.Input{}},
		{"empty object", resource.Number, `{}`, resource.Input{}},
		{"document number", resource.Number, `{ "number":"6491231234"}`, resource.Input{"number": "6491231234"}},
		{"a: number", resource.Number, `{"number":"a:6491231234"}`, resource.Input{"number": "a:6491231234"}},
		{"trimmed number", resource.Number, `{"number":" 6491231234 "}`, resource.Input{"number": "6491231234"}},
		{"document null", resource.Number, `{ "alert-info":null }`, resource.Input{"alert-info": ""}},
		{"null bool", resource.Number, `{"is-pilot":null}`, resource.Input{"is-pilot": false}},
		{"all number fields", resource.Number, `{"number":"6499740205","is-pilot":true,"cfa":"6499740206","alert-info":"dr4","account-code":"x"}`,
			resource.Input{"number": "6499740205", "is-pilot": true, "cfa": "6499740206", "alert-info": "dr4", "account-code": "x"}},
		{"guid accepted", resource.Number, `{"guid":"E6134D37-104E-4320-AEE8-030300F3BF1A"}`, resource.Input{"guid": "E6134D37-104E-4320-AEE8-030300F3BF1A"}},
		{"links ignored", resource.Number, `{"alert-info":"x","_links":{"self":{"href":"/x"}}}`, resource.Input{"alert-info": "x"}},
		{"duplicate last wins", resource.Number, `{"alert-info":"a","alert-info":"b"}`, resource.Input{"alert-info": "b"}},
		{"document username", resource.Account, `{"username":"acmebrick.x.co.nz"}`, resource.Input{"username": "acmebrick.x.co.nz"}},
		{"username lower-cased", resource.Account, `{"username":"Reception@AcmeBrick.x.co.nz"}`, resource.Input{"username": "reception@acmebrick.x.co.nz"}},
		{"system username", resource.Account, `{"username":"_unassigned.pool"}`, resource.Input{"username": "_unassigned.pool"}},
		{"document cfna_duration", resource.Account, `{ "cfna_duration":10 }`, resource.Input{"cfna_duration": int64(10)}},
		{"integer string", resource.Account, `{"cfna_duration":"100"}`, resource.Input{"cfna_duration": int64(100)}},
		{"integer string spaces", resource.Account, `{"cfna_duration":" 7 "}`, resource.Input{"cfna_duration": int64(7)}},
		{"range low", resource.Account, `{"cfna_duration":1}`, resource.Input{"cfna_duration": int64(1)}},
		{"range high", resource.Account, `{"cfna_duration":600}`, resource.Input{"cfna_duration": int64(600)}},
		{"null integer default", resource.Account, `{"cfna_duration":null}`, resource.Input{"cfna_duration": int64(20)}},
		{"null bool default true", resource.Account, `{"enabled":null,"callerid":null}`, resource.Input{"enabled": true, "callerid": true}},
		{"private 1", resource.Account, `{"private":1}`, resource.Input{"private": true}},
		{"private 0", resource.Account, `{"private":0}`, resource.Input{"private": false}},
		{"bool strings", resource.Account, `{"cfna_active":"true","callerid":"FALSE"}`, resource.Input{"cfna_active": true, "callerid": false}},
		{"concurrent_limit 0", resource.Account, `{"concurrent_limit":0}`, resource.Input{"concurrent_limit": int64(0)}},
		{"timezone", resource.Account, `{"timezone":"Pacific/Auckland"}`, resource.Input{"timezone": "Pacific/Auckland"}},
		{"cfna_dest username", resource.Account, `{"cfna_dest":"Reception@AcmeBrick.x.co.nz"}`, resource.Input{"cfna_dest": "reception@acmebrick.x.co.nz"}},
		{"cfna_dest number", resource.Account, `{"cfna_dest":"6499650085"}`, resource.Input{"cfna_dest": "6499650085"}},
		{"ums_pin", resource.Account, `{"ums_pin":"5676"}`, resource.Input{"ums_pin": "5676"}},
		{"HydraAccount duplicate notes last wins", resource.AccountResource, `{"name":"note","value":"a","value":"b"}`, resource.Input{"name": "note", "value": "b"}},
		{"resource name lower-cased", resource.AccountResource, `{"name":"API_Access","value":"user"}`, resource.Input{"name": "api_access", "value": "user"}},
	}
	for _, tt := range tests {
		got, err := resource.Decode(tt.res, []byte(tt.body))
		if err != nil {
			t.Errorf("%s: Decode(%s, %s) error %v", tt.name, tt.res.Name, tt.body, err)
			continue
		}
		delete(got, resource.ParsedKey) // the parsed forms: see TestDecodeCarriesForms
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: Decode(%s, %s) = %#v, want %#v", tt.name, tt.res.Name, tt.body, got, tt.want)
		}
	}
}

// TestDecodeRejects: non-objects, malformed JSON, unknown and read-only
// fields, wrong types, out-of-range values and invalid numbers are all
// EINVALID errors (400), naming the field where there is one.
func TestDecodeRejects(t *testing.T) {
	tests := []struct {
		name    string
		res     *resource.Resource
		body    string
		mention string
	}{
		{"array", resource.Number, `[{"number":"6491231234"}]`, ""},
		{"empty array", resource.Number, `[]`, ""},
		{"string", resource.Number, `"x"`, ""},
		{"null", resource.Number, `null`, ""},
		{"number", resource.Number, `12`, ""},
		{"truncated", resource.Number, `{"number":"6491231234"`, ""},
		{"trailing", resource.Number, `{"number":"6491231234"} x`, ""},
		{"two objects", resource.Number, `{}{}`, ""},
		{"bad literal", resource.Number, `{"is-pilot":tru}`, ""},
		{"unknown", resource.Number, `{"ring":"x"}`, "ring"},
		{"unknown among known", resource.Account, `{"cfna_duration":10,"cfna_secs":1}`, "cfna_secs"},
		{"case-sensitive names", resource.Number, `{"Number":"6491231234"}`, "Number"},
		{"read-only assigned", resource.Number, `{"assigned":"x"}`, "assigned"},
		{"string wrong type", resource.Number, `{"alert-info":1}`, "alert-info"},
		{"string as bool", resource.Number, `{"cfa":true}`, "cfa"},
		{"string as object", resource.Number, `{"account-code":{}}`, "account-code"},
		{"number as number", resource.Number, `{"number":6491231234}`, "number"},
		{"bool wrong", resource.Number, `{"is-pilot":"yes"}`, "is-pilot"},
		{"bool 2", resource.Number, `{"is-pilot":2}`, "is-pilot"},
		{"bool array", resource.Number, `{"is-pilot":[true]}`, "is-pilot"},
		{"int float", resource.Account, `{"cfna_duration":1.5}`, "cfna_duration"},
		{"int exponent", resource.Account, `{"cfna_duration":1e1}`, "cfna_duration"},
		{"int word", resource.Account, `{"cfna_duration":"ten"}`, "cfna_duration"},
		{"int bool", resource.Account, `{"cfna_duration":false}`, "cfna_duration"},
		{"int overflow", resource.Account, `{"cfna_duration":9223372036854775808}`, "cfna_duration"},
		{"cfna_duration 0", resource.Account, `{"cfna_duration":0}`, "cfna_duration"},
		{"cfna_duration 100000", resource.Account, `{"cfna_duration":100000}`, "cfna_duration"},
		{"cfna_duration string 0", resource.Account, `{"cfna_duration":"0"}`, "cfna_duration"},
		{"concurrent_limit negative", resource.Account, `{"concurrent_limit":-1}`, "concurrent_limit"},
		{"number plus", resource.Number, `{"number":"+6491231234"}`, ""},
		{"number leading zero", resource.Number, `{"number":"091231234"}`, ""},
		{"number letters", resource.Number, `{"number":"64912ABC"}`, ""},
		{"number too short", resource.Number, `{"number":"12"}`, ""},
		{"number too long", resource.Number, `{"number":"1234567890123456"}`, ""},
		{"number empty", resource.Number, `{"number":""}`, ""},
		{"number bad prefix", resource.Number, `{"number":"b:6491231234"}`, ""},
		{"cfa invalid", resource.Number, `{"cfa":"0800"}`, ""},
		{"alert-info control", resource.Number, `{"alert-info":"a\nb"}`, "alert-info"},
		{"alert-info too long", resource.Number, `{"alert-info":"` + strings.Repeat("x", 300) + `"}`, "alert-info"},
		{"username invalid", resource.Account, `{"username":"not valid"}`, ""},
		{"username two ats", resource.Account, `{"username":"a@b@c"}`, ""},
		{"username empty", resource.Account, `{"username":""}`, ""},
		{"timezone", resource.Account, `{"timezone":"Nowhere/Land"}`, ""},
		{"ums_pin letters", resource.Account, `{"ums_pin":"12ab"}`, ""},
		{"ums_pin short", resource.Account, `{"ums_pin":"123"}`, ""},
		{"country_code long", resource.Account, `{"country_code":"6411"}`, ""},
		{"cfna_dest", resource.Account, `{"cfna_dest":"a b"}`, ""},
		{"resource name", resource.AccountResource, `{"name":"has space"}`, ""},
	}
	for _, tt := range tests {
		got, err := resource.Decode(tt.res, []byte(tt.body))
		if err == nil {
			t.Errorf("%s: Decode(%s, %s) = %v, want an error", tt.name, tt.res.Name, tt.body, got)
			continue
		}
		if code := xc5.ErrorCode(err); code != xc5.EINVALID {
			t.Errorf("%s: error code %q, want %q (%v)", tt.name, code, xc5.EINVALID, err)
		}
		if !strings.Contains(xc5.ErrorMessage(err), tt.mention) {
			t.Errorf("%s: error %q does not name %q", tt.name, xc5.ErrorMessage(err), tt.mention)
		}
	}
}

// TestDecodeNullOnRequiredField: a required field has no usable default,
// so a JSON null on it must be refused rather than produce a value its
// own check rejects.
func TestDecodeNullOnRequiredField(t *testing.T) {
	for _, tt := range []struct {
		res  *resource.Resource
		body string
	}{
		{resource.Number, `{"number":null}`},
		{resource.Account, `{"username":null}`},
		{resource.AccountResource, `{"name":null}`},
	} {
		if got, err := resource.Decode(tt.res, []byte(tt.body)); err == nil {
			t.Errorf("Decode(%s, %s) = %#v, want an error", tt.res.Name, tt.body, got)
		}
	}
}

// TestDocumentation: OPTIONS documentation is generated from the same
// descriptions: the number resource matches the document.
func TestDocumentation(t *testing.T) {
	d := resource.Number.Documentation(false)
	if d.Description != "Manage account phonenumbers" {
		t.Errorf("description %q", d.Description)
	}
	if want := []string{"GET", "PUT", "PATCH", "DELETE", "OPTIONS"}; !reflect.DeepEqual(d.Methods, want) {
		t.Errorf("methods %v, want %v", d.Methods, want)
	}
	want := map[string]resource.FieldDoc{
		"guid":         {Type: "string", Description: "Unique identifier for each entry"},
		"number":       {Type: "string", Description: "The e.164 phone number. Numbers must be unique, or prefixed with a: if outgoing rewrite is allowed"},
		"is-pilot":     {Type: "boolean", Description: "Indicates to use this number a a default for invalid presented caller number"},
		"cfa":          {Type: "string", Description: "An e.164 destination. Creates a call-forward-all for calls to this number"},
		"alert-info":   {Type: "string", Description: "Assigns a value to the sip Alert-Info header for distinctive ring"},
		"account-code": {Type: "string", Description: "Free for use associated data"},
	}
	for name, w := range want {
		if got := d.Fields[name]; got != w {
			t.Errorf("field %s = %+v, want %+v", name, got, w)
		}
	}
	if d.Fields["assigned"].Type != resource.String {
		t.Errorf("assigned not documented as a string: %+v", d.Fields["assigned"])
	}
	if got := without(d.Order(), "assigned"); !reflect.DeepEqual(got, []string{"guid", "number", "is-pilot", "cfa", "alert-info", "account-code"}) {
		t.Errorf("order %v", d.Order())
	}
	// Every declared field is documented, with a type and a description.
	for _, r := range resource.All {
		d := r.Documentation(false)
		for _, f := range r.Fields {
			fd, ok := d.Fields[f.Name]
			if !ok || fd.Type == "" || fd.Description == "" {
				t.Errorf("%s: field %s documented as %+v", r, f.Name, fd)
			}
		}
		if d.Description == "" || len(d.Methods) == 0 {
			t.Errorf("%s: empty description or methods", r)
		}
	}
	// The write-only password says so.
	if !strings.Contains(resource.Account.Documentation(true).Fields["password"].Description, "never returned") {
		t.Errorf("password documentation does not say it is write-only")
	}
}

func without(list []string, drop string) []string {
	var out []string
	for _, s := range list {
		if s != drop {
			out = append(out, s)
		}
	}
	return out
}

// TestDefaults: new records start from the declared defaults.
func TestDefaults(t *testing.T) {
	d := resource.Account.Defaults()
	for k, v := range map[string]any{"enabled": true, "cfna_duration": int64(20), "callerid": true, "private": false,
		"pickup_group": "", "concurrent_limit": int64(0)} {
		if d[k] != v {
			t.Errorf("Account default %s = %#v, want %#v", k, d[k], v)
		}
	}
	n := resource.Number.Defaults()
	if n["alert-info"] != "" || n["is-pilot"] != false {
		t.Errorf("Number defaults %v", n)
	}
}

// TestLookupAndGUID: resource lookup is case-insensitive and scoped to the
// parent; GUIDs are upper-case 8-4-4-4-12.
func TestLookupAndGUID(t *testing.T) {
	if resource.Lookup(nil, "ACCOUNT") != resource.Account || resource.Lookup(resource.Account, "Number") != resource.Number {
		t.Errorf("Lookup is not case-insensitive")
	}
	if resource.Lookup(nil, "number") != nil || resource.Lookup(resource.Account, "account") != nil {
		t.Errorf("Lookup ignores the parent")
	}
	re := regexp.MustCompile(`^[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}$`)
	seen := map[string]bool{}
	for i := 0; i < 100; i++ {
		g := resource.NewGUID()
		if !re.MatchString(g) || seen[g] {
			t.Fatalf("NewGUID() = %q (repeat %v)", g, seen[g])
		}
		seen[g] = true
		if !resource.IsGUID(g) || !resource.IsGUID(strings.ToLower(g)) {
			t.Errorf("IsGUID(%q) false", g)
		}
	}
	for _, s := range []string{"", "acmebrick.x.co.nz", "E6134D37104E4320AEE8030300F3BF1A", "E6134D37-104E-4320-AEE8-030300F3BF1", "G6134D37-104E-4320-AEE8-030300F3BF1A"} {
		if resource.IsGUID(s) {
			t.Errorf("IsGUID(%q) true", s)
		}
	}
}

// TestNormalizeUsername: domains and local@domain, lower-cased.
func TestNormalizeUsername(t *testing.T) {
	for in, want := range map[string]string{
		"acmebrick.x.co.nz": "acmebrick.x.co.nz", "Reception@AcmeBrick.x.co.nz": "reception@acmebrick.x.co.nz",
		"alice@example.net": "alice@example.net", "admin": "admin", "_unassigned.pool": "_unassigned.pool",
		"main_entry@acmebrick.x.co.nz": "main_entry@acmebrick.x.co.nz", "dave@dcom": "dave@dcom", " x.test ": "x.test",
	} {
		got, err := resource.NormalizeUsername(in)
		if err != nil || got != want {
			t.Errorf("NormalizeUsername(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", "a b", "a@b@c", "@x", "x@", "-x.test", "x-.test", "x..test", "x.test.", "x/y", "x;y", "é.test"} {
		if got, err := resource.NormalizeUsername(in); err == nil {
			t.Errorf("NormalizeUsername(%q) = %q, want an error", in, got)
		}
	}
}

// TestCheckAccountResource: api_access takes system or user (or empty);
// a user-level caller cannot grant system (EFORBIDDEN).
func TestCheckAccountResource(t *testing.T) {
	for _, tt := range []struct {
		value     string
		userLevel bool
		code      string
	}{
		{"system", false, ""}, {"user", false, ""}, {"", false, ""}, {"user", true, ""},
		{"system", true, xc5.EFORBIDDEN}, {"root", false, xc5.EINVALID}, {"System", false, xc5.EINVALID},
	} {
		err := resource.CheckAccountResource(resource.Input{"name": "api_access", "value": tt.value}, tt.userLevel)
		if xc5.ErrorCode(err) != tt.code {
			t.Errorf("CheckAccountResource(%q, user=%v) = %v, want code %q", tt.value, tt.userLevel, err, tt.code)
		}
	}
	if err := resource.CheckAccountResource(resource.Input{"name": "color", "value": "system"}, true); err != nil {
		t.Errorf("a non-api_access resource was checked: %v", err)
	}
}

// FuzzDecode: Decode never panics; it fails only with EINVALID; what it
// accepts is typed after the field (string, int64, bool), within range,
// known and writable, normalised (the field's own check accepts it
// unchanged) and survives a JSON round trip.
//
//	go test -run=^$ -fuzz=FuzzDecode -fuzztime=20s ./resource/
func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		``, `{}`, `[]`, `null`, `{ "number":"6491231234"}`, `{ "alert-info":null }`, `{"number":"a:6491231234","is-pilot":1}`,
		`{"username":"acmebrick.x.co.nz"}`, `{ "cfna_duration":10 }`, `{"cfna_duration":"100"}`, `{"cfna_duration":0}`,
		`{"private":1,"callerid":true,"note":"x","note":"y"}`, `{"password":"5gjgosk2@#","cfna_dest":"6499650085","cfna_active":true}`,
		`{"alert-info":"a","alert-info":"b"}`, `{"_links":{"self":{"href":"/x"}},"guid":"E6134D37-104E-4320-AEE8-030300F3BF1A"}`,
		`{"timezone":"Pacific/Auckland","country_code":"64","area_code":"9"}`, `{"number":"\u0000"}`, `{"cfa":"649\n"}`,
		`{"username":"Reception@AcmeBrick.x.co.nz","parent":"acmebrick.x.co.nz"}`, `{"number":6491231234}`, `{"ums_pin":" 5676 "}`,
	} {
		f.Add(0, []byte(s))
		f.Add(1, []byte(s))
	}
	resources := []*resource.Resource{resource.Number, resource.Account, resource.AccountResource}
	f.Fuzz(func(t *testing.T, which int, body []byte) {
		r := resources[uint(which)%uint(len(resources))]
		in, err := resource.Decode(r, body)
		if err != nil {
			if code := xc5.ErrorCode(err); code != xc5.EINVALID {
				t.Fatalf("Decode(%s, %q): error code %q (%v), want %q", r.Name, body, code, err, xc5.EINVALID)
			}
			if in != nil {
				t.Fatalf("Decode(%s, %q) failed but returned %v", r.Name, body, in)
			}
			return
		}
		if in == nil {
			t.Fatalf("Decode(%s, %q) = nil Input without an error", r.Name, body)
		}
		delete(in, resource.ParsedKey) // the parsed forms, not a field (parsed.go)
		for name, v := range in {
			fld := r.Field(name)
			if fld == nil {
				t.Fatalf("Decode(%s, %q) accepted unknown field %q", r.Name, body, name)
			}
			if fld.ReadOnly && name != "guid" {
				t.Fatalf("Decode(%s, %q) accepted read-only field %q", r.Name, body, name)
			}
			switch fld.Type {
			case resource.String:
				if _, ok := v.(string); !ok {
					t.Fatalf("Decode(%s, %q): %s = %#v (%T), want string", r.Name, body, name, v, v)
				}
			case resource.Integer:
				n, ok := v.(int64)
				if !ok {
					t.Fatalf("Decode(%s, %q): %s = %#v (%T), want int64", r.Name, body, name, v, v)
				}
				if fld.Max > fld.Min && (n < fld.Min || n > fld.Max) && n != fld.DefaultOf() {
					t.Fatalf("Decode(%s, %q): %s = %d outside [%d, %d]", r.Name, body, name, n, fld.Min, fld.Max)
				}
			case resource.Boolean:
				if _, ok := v.(bool); !ok {
					t.Fatalf("Decode(%s, %q): %s = %#v (%T), want bool", r.Name, body, name, v, v)
				}
			default:
				t.Fatalf("field %s has unknown type %q", name, fld.Type)
			}
			// A null reset gives the default, which need not pass the
			// check (a required field's empty default); see
			// TestDecodeNullOnRequiredField.
			if fld.Check != nil && v != fld.DefaultOf() {
				again, err := fld.Check(v)
				if err != nil || again != v {
					t.Fatalf("Decode(%s, %q): %s = %#v is not normalised: Check gives %#v, %v", r.Name, body, name, v, again, err)
				}
			}
		}
		// Round trip: what was accepted, sent again, decodes the same.
		// (Defaults of checked fields are left out, as above.)
		resend := map[string]any{}
		for name, v := range in {
			if fld := r.Field(name); fld.Check == nil || v != fld.DefaultOf() {
				resend[name] = v
			}
		}
		b, err := json.Marshal(resend)
		if err != nil {
			t.Fatal(err)
		}
		again, err := resource.Decode(r, b)
		if err != nil {
			t.Fatalf("Decode(%s, %q) accepted, but its re-encoding %s fails: %v", r.Name, body, b, err)
		}
		for name, v := range resend {
			if again[name] != v {
				t.Fatalf("Decode(%s, %q): %s round-trips as %#v, want %#v", r.Name, body, name, again[name], v)
			}
		}
	})
}

// TestDecodeCarriesForms: a cfna_dest or fork destination that names a
// destination carries its parsed form, for the write's later checks;
// an empty one carries none.
func TestDecodeCarriesForms(t *testing.T) {
	for _, tt := range []struct {
		res   *resource.Resource
		body  string
		field string
		want  dialplan.Destination
		form  bool
	}{
		{resource.Account, `{"cfna_dest":"Reception@AcmeBrick.x.co.nz"}`, "cfna_dest", dialplan.Destination{Kind: dialplan.KindUsername, Value: "reception@acmebrick.x.co.nz"}, true},
		{resource.Account, `{"cfna_dest":"6499650085"}`, "cfna_dest", dialplan.Destination{Kind: dialplan.KindNumber, Value: "6499650085"}, true},
		{resource.Account, `{"cfna_dest":""}`, "cfna_dest", dialplan.Destination{}, false},
	} {
		in, err := resource.Decode(tt.res, []byte(tt.body))
		if err != nil {
			t.Fatalf("%s: %v", tt.body, err)
		}
		got, ok := resource.ParsedAs[dialplan.Destination](in.Parsed(), tt.field, in[tt.field].(string))
		if ok != tt.form || got != tt.want {
			t.Errorf("%s: form %+v (%v), want %+v (%v)", tt.body, got, ok, tt.want, tt.form)
		}
	}
}
