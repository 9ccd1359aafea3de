package contracts

import (
	"fmt"
	"unicode/utf8"
)

// Error codes are stable: clients match on the code, never on the message text.
// contract.json lists them.
const (
	CodeInvalidArgument    = "INVALID_ARGUMENT"
	CodeNotFound           = "NOT_FOUND"
	CodeAlreadyExists      = "ALREADY_EXISTS"
	CodePermissionDenied   = "PERMISSION_DENIED"
	CodeFailedPrecondition = "FAILED_PRECONDITION"
	CodeInternal           = "INTERNAL"
)

// maxMessageLen bounds a refusal's text: messages quote the caller's input, and an unbounded
// one would travel back in gRPC trailers, which peers and clients cap.
const maxMessageLen = 512

// refusal builds an error whose text is "CODE: message".
func refusal(code, format string, args ...interface{}) error {
	return fmt.Errorf("%s: %s", code, refusalText(format, args...))
}

// refusalText formats a message of at most maxMessageLen bytes (it may quote the caller's input).
func refusalText(format string, args ...interface{}) string {
	message := fmt.Sprintf(format, args...)
	if len(message) > maxMessageLen {
		cut := maxMessageLen
		for cut > 0 && !utf8.RuneStart(message[cut]) {
			cut--
		}
		message = message[:cut] + "… (truncated)"
	}
	return message
}
