package api

import "xc5/resource"

// refuseTrunkZero refuses a destination of the system's country code
// followed by 0 (routing.View.RefuseTrunkZero).
func (s *Server) refuseTrunkZero(res *resource.Resource, in resource.Input) error {
	if s.view == nil {
		return nil
	}
	return s.view.RefuseTrunkZero(res, in)
}
