package contracts

import "fmt"

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

// refusal builds an error whose text is "CODE: message".
func refusal(code, format string, args ...interface{}) error {
	return fmt.Errorf("%s: %s", code, fmt.Sprintf(format, args...))
}
