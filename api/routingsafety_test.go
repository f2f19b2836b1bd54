package api_test

import (
	"net/http"
	"testing"
)

// Row: callrules on <CallRule-Emergency> are the provider's: a partition
// can neither create one (blocking 111, or sending it to its own phone)
// nor change or delete one the provider set; and the shared locations
// themselves are read-only to it.
func TestTenantEmergencyRules(t *testing.T) {
	eachTenancy(t, func(t *testing.T, e *tenancy) {
		a1 := "/api-sys/account/a1@acme.test/callrule"
		lab := str(t, e.must(http.StatusCreated, "PUT", a1, `{"order":-10,"location":"<CallRule-Emergency>","destination":"drop:403:lab line"}`).one(t), "guid")
		own := str(t, e.as("PUT", a1, `{"order":-5,"location":"<CallRule-International>","destination":"drop:404:no"}`).one(t), "guid")
		for _, tt := range []struct{ method, target, body, mention string }{
			{"PUT", a1, `{"order":-20,"location":"<CallRule-Emergency>","destination":"drop:404:no 111"}`, "location"},
			{"PUT", "/api-sys/account/acme.test/callrule", `{"order":-20,"location":"<CallRule-Emergency>","destination":"6491110001"}`, "location"},
			{"PATCH", a1 + "/" + own, `{"location":"<CallRule-Emergency>"}`, "location"},
			{"PATCH", a1 + "/" + lab, `{"destination":"6491110001"}`, "location"},
			{"PUT", a1 + "/" + lab, `{"order":-10,"location":"<CallRule-International>","destination":"drop:403:lab line"}`, "location"},
			{"DELETE", a1 + "/" + lab, ``, "location"},
			{"PUT", "/api-sys/location/<CallRule-International>", `{"prefixes":"1"}`, "system"},
			{"PATCH", "/api-sys/location/<CallRule-Emergency>", `{"prefixes":"999"}`, "system"},
			{"DELETE", "/api-sys/location/<CallRule-ShortCodes>", ``, "system"},
			{"PUT", "/api-sys/location/", `{"name":"<Mine>","prefixes":"64"}`, "system"},
		} {
			e.as(tt.method, tt.target, tt.body).wantError(t, http.StatusForbidden, tt.mention)
		}
		if got := e.get(a1 + "/" + lab)[0]; got["location"] != "<CallRule-Emergency>" || got["destination"] != "drop:403:lab line" {
			t.Errorf("the provider's Emergency rule changed: %v", got)
		}
		if got := e.get("/api-sys/location/<CallRule-International>")[0]["prefixes"]; got == "1" {
			t.Errorf("the partition changed a shared location")
		}
		// The provider writes them.
		e.must(http.StatusOK, "PATCH", a1+"/"+lab, `{"destination":"drop:403:still a lab line"}`)
		e.must(http.StatusOK, "DELETE", a1+"/"+lab, ``)
	})
}

// Destinations are checked where they are written (docs/routing.md): no
// forward or blast leg to an emergency number, number destinations in
// E.164, country and area codes without the trunk prefix 0. Each is a 400
// naming the field.
func TestDestinationChecks(t *testing.T) {
	e := newEnv(t)
	e.must(http.StatusCreated, "PUT", "/api-sys/account/", `{"username":"dest.test"}`)
	num := str(t, e.createNumber("dest.test", "6491115555"), "guid")
	for _, tt := range []struct{ method, target, body, field string }{
		{"PUT", "/api-sys/account/dest.test/fork", `{"destination":"111"}`, "destination"},
		{"PUT", "/api-sys/account/dest.test/fork", `{"destination":"112"}`, "destination"},
		{"PATCH", "/api-sys/account/dest.test", `{"cfna_dest":"111"}`, "cfna_dest"},
		{"PATCH", "/api-sys/account/dest.test/number/" + num, `{"cfa":"112"}`, "cfa"},
		{"PUT", "/api-sys/account/dest.test/route", `{"order":1,"destination":"111"}`, "destination"},
		{"PUT", "/api-sys/account/dest.test/route", `{"order":1,"destination":"0061299998888"}`, "destination"},
		{"PUT", "/api-sys/account/dest.test/route", `{"order":1,"destination":"093330099"}`, "destination"},
		{"PUT", "/api-sys/account/dest.test/route", `{"order":-8,"menu_level":1,"digit_map":"1=111"}`, "digit_map"},
		{"PUT", "/api-sys/account/dest.test/route", `{"order":-8,"menu_level":1,"digit_map":"1=0061299998888"}`, "digit_map"},
		{"PUT", "/api-sys/account/dest.test/callrule", `{"order":1,"prefix_raw":"77","destination":"0061299998888"}`, "destination"},
		{"PATCH", "/api-sys/account/dest.test", `{"area_code":"09"}`, "area_code"},
		{"PATCH", "/api-sys/account/dest.test", `{"country_code":"064"}`, "country_code"},
	} {
		e.do(tt.method, tt.target, tt.body).wantError(t, http.StatusBadRequest, tt.field)
	}
	// What is accepted: E.164 numbers, and a speed dial to 111 (the
	// caller's own emergency call).
	e.must(http.StatusCreated, "PUT", "/api-sys/account/dest.test/route", `{"order":1,"destination":"61299998888"}`)
	e.must(http.StatusCreated, "PUT", "/api-sys/account/dest.test/fork", `{"destination":"6491115556"}`)
	e.must(http.StatusCreated, "PUT", "/api-sys/account/dest.test/callrule", `{"order":1,"prefix_raw":"999","destination":"111"}`)
	e.must(http.StatusOK, "PATCH", "/api-sys/account/dest.test", `{"area_code":"9","country_code":"64","cfna_dest":"6491115556"}`)
}
