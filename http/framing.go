package http

import nethttp "net/http"

// closeAfterChunkedRequest closes the connection once a request whose body came chunked is
// answered. net/http frames such a request by its chunks and drops a Content-Length sent with
// them, without telling the handler; a request with both may be a smuggling attempt, and after
// answering one the server MUST close the connection (RFC 9112 §6.3), so that what a front end
// framed differently is never read as the next request. As the handler cannot tell which
// chunked requests also had a length, it closes after each: a chunked upload costs its client a
// new connection, and this API's clients send lengths.
func closeAfterChunkedRequest(next nethttp.Handler) nethttp.Handler {
	return nethttp.HandlerFunc(func(w nethttp.ResponseWriter, r *nethttp.Request) {
		if len(r.TransferEncoding) > 0 {
			w.Header().Set("Connection", "close")
		}
		next.ServeHTTP(w, r)
	})
}
