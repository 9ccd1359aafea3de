package contracts

import "fmt"

// Error codes are stable: clients match on the code, never on the message text.
// CONTRACT.md lists them.
const (
	CodeInvalidArgument = "INVALID_ARGUMENT"
	CodeNotFound        = "NOT_FOUND"
	CodeInternal        = "INTERNAL"
)

// refusal builds an error whose text is "CODE: message".
func refusal(code, format string, args ...interface{}) error {
	return fmt.Errorf("%s: %s", code, fmt.Sprintf(format, args...))
}
