package sipserver

// stopMusic ends the hold music of a call, if any.
func (c *call) stopMusic() {}
