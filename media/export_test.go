package media

// Orient is orient, for the tests.
var Orient = orient
