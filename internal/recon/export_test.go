package recon

import "context"

// Prepare records a run without applying its rules and parking: what a
// crash right after the recording leaves behind.
func (s *Service) Prepare(ctx context.Context, r RunRequest) (*Run, error) { return s.prepare(ctx, r) }
