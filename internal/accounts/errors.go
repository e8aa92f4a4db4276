package accounts

import "fmt"

// Error is a refusal: a stable code that reaches the API unchanged, a
// message safe to show the caller and, for validation errors, the field at
// fault as a path like "fees[1].tiers[0].rate".
type Error struct {
	Code    string
	Message string
	Field   string
}

func (e *Error) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("%s: %s (%s)", e.Code, e.Message, e.Field)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

// The refusal codes shared by the package's services.
const (
	CodeInvalidRequest  = "invalid_request"   // a field is missing, malformed or not allowed here
	CodeProductNotFound = "product_not_found" // no such product (in the caller's institution)
	CodeConflict        = "conflict"          // the change contradicts the stored state
)

func errorf(code, field, format string, args ...any) *Error {
	return &Error{Code: code, Field: field, Message: fmt.Sprintf(format, args...)}
}
