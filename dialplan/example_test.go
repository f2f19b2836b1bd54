package dialplan_test

import (
	"fmt"
	"time"

	"xc5/dialplan"
)

func Example() {
	hols := dialplan.NZHolidaySet(2025, 2030)
	sets := func(name string) dialplan.TimeSet {
		if name == "nz_holidays" {
			return hols
		}
		return nil
	}
	afterHours, err := dialplan.ParseTimeDefinition("nz_holidays,!Mon-Thur 08:30-17:00",
		func(name string) bool { return sets(name) != nil })
	if err != nil {
		panic(err)
	}
	nz := time.FixedZone("NZST", 12*3600) // in production: the account's zone
	fmt.Println(afterHours)
	fmt.Println(afterHours.Matches(time.Date(2025, 6, 3, 10, 0, 0, 0, nz), sets)) // Tuesday 10:00
	fmt.Println(afterHours.Matches(time.Date(2025, 6, 2, 10, 0, 0, 0, nz), sets)) // King's Birthday

	menu, err := dialplan.ParseDigitMap("1=#3,5=#2,56=*%,T=#3")
	if err != nil {
		panic(err)
	}
	collected := "5"
	if menu.IsPrefix(collected) {
		fmt.Println("keep collecting after", collected)
	}
	if a, ok := menu.Lookup("56"); ok && !a.IsMenuJump() {
		fmt.Println("dial", a.Destination.Expand("0211234567"))
	}

	_, err = dialplan.ParseDestination("foo:bar")
	fmt.Println(err)
	// Output:
	// nz_holidays,!Mon-Thu 08:30-17:00
	// false
	// true
	// keep collecting after 5
	// dial *0211234567
	// destination "foo:bar": unknown scheme "foo" (want email:, drop:, conference: or :EXTENSION)
}
