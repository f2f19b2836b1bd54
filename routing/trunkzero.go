package routing

import (
	"xc5"
	"xc5/resource"
)

// RefuseTrunkZero refuses a write naming as a destination the system's
// country code followed by 0 (640…): no such number exists, and written
// as a destination it would leave as a national call past the provider's
// International block, which a carrier may dial as 00… abroad. The
// engine refuses such calls too (docs/routing.md, "Numbers that are
// never dialed"); the API and the company portal say so at once.
func (v *View) RefuseTrunkZero(res *resource.Resource, in resource.Input) error {
	if v == nil {
		return nil
	}
	parsed := in.Parsed() // the write's parsed destinations, not parsed again
	for _, f := range res.Fields {
		s, ok := in[f.Name].(string)
		if !ok {
			continue
		}
		ref := f.Ref
		if f.Of != nil { // a view's field (HydraAccount's cfna_dest) names what its account's does
			if of := f.Of.Field(f.Name); of != nil {
				ref = of.Ref
			}
		}
		if f.Name == "cfa" {
			ref = resource.RefDestination
		}
		for _, n := range parsed.Named(ref, f.Name, s).Numbers {
			if v.IsTrunkZero(n) {
				return xc5.Errorf(xc5.EINVALID, "%s: %s is not a valid number: no number of the system's country code continues with 0 (the trunk prefix)", f.Name, n)
			}
		}
	}
	return nil
}
