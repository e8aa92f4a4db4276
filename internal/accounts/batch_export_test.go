package accounts

// SetBatchTuning sets a batch service's chunk size and a hook run after
// each recorded chunk (an error from it stops processing like a crash).
func SetBatchTuning(b *Batches, chunk int, afterChunk func() error) {
	b.chunk, b.afterChunk = chunk, afterChunk
}
