package resource_test

import (
	"reflect"
	"testing"

	"xc5/resource"
)

// TestNamed: what a destination or digit_map names, from one parse; the
// store's reference checks and the API's trunk checks rely on it.
func TestNamed(t *testing.T) {
	tests := []struct {
		ref                      resource.Ref
		v                        string
		accounts, numbers, rooms []string
	}{
		{resource.RefDestination, "reception@acmebrick.x.co.nz", []string{"reception@acmebrick.x.co.nz"}, nil, nil},
		{resource.RefDestination, "6491231234", nil, []string{"6491231234"}, nil},
		{resource.RefDestination, "conference:6499290085", nil, nil, []string{"6499290085"}},
		{resource.RefDestination, "email:dave@dcom.co.nz", nil, nil, nil},
		{resource.RefDestination, "drop:404:destination blocked", nil, nil, nil},
		{resource.RefDestination, "admin", []string{"admin"}, nil, nil}, // a fork destination or cfna_dest may be any username
		{resource.RefDigitMap, "1=#3,5=sales@acmebrick.x.co.nz,6=6499290088,7=conference:6499290085,T=#3",
			[]string{"sales@acmebrick.x.co.nz"}, []string{"6499290088"}, []string{"6499290085"}},
		{resource.RefDigitMap, "1=#3,T=#3", nil, nil, nil},
		{resource.RefDigitMap, "not a digit map", nil, nil, nil},
		{resource.RefNone, "6491231234", nil, nil, nil},
	}
	for _, tt := range tests {
		n := resource.Named(tt.ref, tt.v)
		if !reflect.DeepEqual(n, resource.Names{Accounts: tt.accounts, Numbers: tt.numbers, Rooms: tt.rooms}) {
			t.Errorf("Named(%v, %q) = %+v, want accounts %v numbers %v rooms %v", tt.ref, tt.v, n, tt.accounts, tt.numbers, tt.rooms)
		}
		if got := resource.NamedAccounts(tt.ref, tt.v); !reflect.DeepEqual(got, tt.accounts) {
			t.Errorf("NamedAccounts(%v, %q) = %v", tt.ref, tt.v, got)
		}
		if got := resource.NamedNumbers(tt.ref, tt.v); !reflect.DeepEqual(got, tt.numbers) {
			t.Errorf("NamedNumbers(%v, %q) = %v", tt.ref, tt.v, got)
		}
		if got := resource.NamedRooms(tt.ref, tt.v); !reflect.DeepEqual(got, tt.rooms) {
			t.Errorf("NamedRooms(%v, %q) = %v", tt.ref, tt.v, got)
		}
	}
}
