package eod

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/suanpan/suanpan/store"
)

// Content types of the artifacts.
const (
	contentCSV  = "text/csv; charset=utf-8"
	contentJSON = "application/json"
)

// maxArtifactName bounds an artifact name a caller asks for.
const maxArtifactName = 200

// artifactName is "<kind>-<institution>-<date>.<ext>", or
// "<kind>-<date>.<ext>" for a file about every institution. The
// institution is path-escaped, so the name is a safe file name.
func artifactName(kind, inst, date, ext string) string {
	if inst == "" {
		return kind + "-" + date + "." + ext
	}
	return kind + "-" + url.PathEscape(inst) + "-" + date + "." + ext
}

func newArtifact(name, inst, contentType string, content []byte) *Artifact {
	sum := sha256.Sum256(content)
	return &Artifact{Name: name, InstitutionID: inst, ContentType: contentType, Content: content,
		Size: int64(len(content)), SHA256: hex.EncodeToString(sum[:])}
}

// jsonArtifact encodes v as indented JSON ending in a newline. The
// encoding is deterministic: struct fields in order, map keys sorted.
func jsonArtifact(kind, inst, date string, v any) (*Artifact, error) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode %s of %s: %w", kind, date, err)
	}
	return newArtifact(artifactName(kind, inst, date, "json"), inst, contentJSON, append(b, '\n')), nil
}

// storeArtifacts replaces the step's artifacts of the date with as, in
// the caller's transaction (the one that completes the step).
func storeArtifacts(ctx context.Context, tx *sql.Tx, date, step string, as []*Artifact, now time.Time) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM eod_artifacts WHERE business_date = $1 AND step = $2`, date, step); err != nil {
		return fmt.Errorf("eod %s: replace the artifacts of %s: %w", date, step, err)
	}
	for _, a := range as {
		if _, err := tx.ExecContext(ctx, `INSERT INTO eod_artifacts (business_date, name, institution_id, step, content_type,
			content, sha256, size, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
			date, a.Name, a.InstitutionID, step, a.ContentType, a.Content, a.SHA256, a.Size, now.UnixMicro()); err != nil {
			return fmt.Errorf("eod %s: store artifact %s: %w", date, a.Name, err)
		}
	}
	return nil
}

const artifactCols = `business_date, name, institution_id, step, content_type, size, sha256, created_at`

// scopeCond returns the condition limiting artifacts to the scope (nil:
// all): files about every institution, and those of the institutions in
// scope. Its placeholders start at $first.
func scopeCond(scope []string, first int) (string, []any) {
	if scope == nil {
		return "1 = 1", nil
	}
	if len(scope) == 0 {
		return "institution_id = ''", nil
	}
	marks := make([]string, len(scope))
	args := make([]any, len(scope))
	for i, inst := range scope {
		marks[i], args[i] = "$"+strconv.Itoa(first+i), inst
	}
	return "(institution_id = '' OR institution_id IN (" + strings.Join(marks, ", ") + "))", args
}

// artifacts lists the date's artifacts in scope, in name order, without
// their content.
func (r *Runner) artifacts(ctx context.Context, date string, scope []string) ([]*Artifact, error) {
	cond, args := scopeCond(scope, 2)
	rows, err := r.db.Read.QueryContext(ctx, `SELECT `+artifactCols+` FROM eod_artifacts WHERE business_date = $1 AND `+
		cond+` ORDER BY name`, append([]any{date}, args...)...)
	if err != nil {
		return nil, fmt.Errorf("eod %s: artifacts: %w", date, err)
	}
	defer rows.Close()
	out := []*Artifact{}
	for rows.Next() {
		a, err := scanArtifact(rows)
		if err != nil {
			return nil, fmt.Errorf("eod %s: artifacts: %w", date, err)
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

type scanner interface{ Scan(dest ...any) error }

func scanArtifact(s scanner, extra ...any) (*Artifact, error) {
	a := &Artifact{}
	var created int64
	if err := s.Scan(append([]any{&a.Date, &a.Name, &a.InstitutionID, &a.Step, &a.ContentType, &a.Size, &a.SHA256, &created},
		extra...)...); err != nil {
		return nil, err
	}
	a.CreatedAt = fromMicros(created)
	return a, nil
}

// Artifacts lists the artifacts of the date's run, without their
// content, in name order: those about the institutions in scope (nil:
// all) and the manifest, narrowed to the entries in scope (its size and
// SHA-256 are the narrowed file's). Permission:
// eod:read. Returns CodeInvalidRequest or CodeNotFound (no run for the
// date).
func (r *Runner) Artifacts(ctx context.Context, date string, scope []string) ([]*Artifact, error) {
	if err := checkDate(date); err != nil {
		return nil, err
	}
	if _, err := r.get(ctx, date); err != nil {
		return nil, err
	}
	as, err := r.artifacts(ctx, date, scope)
	if err != nil || scope == nil {
		return as, err
	}
	for i, a := range as {
		if a.Step != StepArchive {
			continue
		}
		// The manifest's size and checksum are those of the caller's view.
		m, err := r.Artifact(ctx, date, a.Name, scope)
		if err != nil {
			return nil, err
		}
		m.Content = nil
		as[i] = m
	}
	return as, nil
}

// Artifact returns one artifact of the date with its content, if it is
// about an institution in scope (nil: any) or is the manifest, which then
// lists the entries in scope only, with its size and SHA-256 recomputed.
// Permission: eod:read. Returns CodeInvalidRequest or CodeArtifactNotFound
// (also outside the scope).
func (r *Runner) Artifact(ctx context.Context, date, name string, scope []string) (*Artifact, error) {
	if err := checkDate(date); err != nil {
		return nil, err
	}
	notFound := errorf(CodeArtifactNotFound, "no artifact %q for %s", name, date)
	if name == "" || len(name) > maxArtifactName || !store.Storable(name) {
		return nil, notFound
	}
	cond, args := scopeCond(scope, 3)
	var content []byte
	a, err := scanArtifact(r.db.Read.QueryRowContext(ctx, `SELECT `+artifactCols+`, content FROM eod_artifacts
		WHERE business_date = $1 AND name = $2 AND `+cond, append([]any{date, name}, args...)...), &content)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound
	}
	if err != nil {
		return nil, fmt.Errorf("eod %s: artifact %s: %w", date, name, err)
	}
	a.Content = content
	if scope != nil && a.Step == StepArchive {
		if err := a.scopeManifest(scope); err != nil {
			return nil, fmt.Errorf("eod %s: artifact %s: %w", date, name, err)
		}
	}
	return a, nil
}

// scopeManifest narrows the manifest a to the entries about institutions
// in scope: the manifest is about every institution, and other
// institutions' report names, sizes and checksums are theirs. It is
// encoded as the archive step encodes it, so a scope that holds every
// institution of the day gets the archived bytes and checksum.
func (a *Artifact) scopeManifest(scope []string) error {
	var m manifest
	if err := json.Unmarshal(a.Content, &m); err != nil {
		return fmt.Errorf("decode the manifest: %w", err)
	}
	kept := []manifestEntry{}
	for _, e := range m.Artifacts {
		if e.InstitutionID == "" || slices.Contains(scope, e.InstitutionID) {
			kept = append(kept, e)
		}
	}
	m.Artifacts = kept
	v, err := jsonArtifact("manifest", "", m.Date, m)
	if err != nil {
		return err
	}
	a.Content, a.Size, a.SHA256 = v.Content, v.Size, v.SHA256
	return nil
}
