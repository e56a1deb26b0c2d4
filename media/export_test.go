package media

// Orient is orient, for the tests.
var Orient = orient

// OnPass sets a function called after each pass of the housekeeper's loop; before Start.
func (h *Housekeeper) OnPass(fn func()) { h.onPass = fn }
