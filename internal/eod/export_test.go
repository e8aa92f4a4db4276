package eod

// SetHooks makes r call beforeWork when a step has been marked running,
// before its work, and beforeCommit inside the storage transaction that
// completes a step, after its writes and before the commit. Either may be
// nil.
func SetHooks(r *Runner, beforeWork, beforeCommit func(step string)) {
	r.hooks = hooks{beforeWork: beforeWork, beforeCommit: beforeCommit}
}
