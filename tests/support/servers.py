"""What the tests' local HTTP servers share."""

# How often a test server's loop looks for its shutdown: `shutdown()` waits up to this long, and
# the standard library's half a second, paid at the end of every test with a receiver, added up
# to minutes of the suite.
POLL_SECONDS = 0.01
