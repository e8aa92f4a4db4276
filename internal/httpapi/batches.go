package httpapi

import (
	"bytes"
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"
	"github.com/suanpan/suanpan/internal/accounts"
	"github.com/suanpan/suanpan/internal/auth"
)

// Batch operations: a CSV file of operations uploaded once, processed
// asynchronously by the server's batch worker, with a per-line result file.

type batchUploadIn struct {
	Reference string `query:"reference" required:"true" minLength:"1" maxLength:"64" doc:"The batch's reference, unique in the caller's institution: uploading the same file under it again returns the stored batch; another file is refused (409 conflict). It prefixes every line's operation reference (<batch reference>:<line reference>)."`
	RawBody   []byte `contentType:"text/csv"`
}

type batchFileOut struct {
	Status int
	Body   *accounts.Batch
}

type batchFileIn struct {
	ID string `path:"id" maxLength:"64"`
}

type batchListIn struct {
	Limit int `query:"limit" minimum:"0" maximum:"1000" doc:"At most this many, newest first; default 100."`
}

type batchListOut struct {
	Body struct {
		Items []*accounts.Batch `json:"items"`
	}
}

func (s *Server) registerBatches() {
	tags := []string{"Batch operations"}
	register(s, huma.Operation{OperationID: "upload-batch", Method: http.MethodPost, Path: "/batches", Tags: tags,
		Summary: "Upload a batch of operations", Description: "The body is a CSV file (text/csv, at most 32 MiB and 200,000 lines) " +
			"whose first line is the header `" + accounts.BatchHeader + "`; each further line is one top-up, withdrawal, " +
			"payment (`pay`), transfer or refund in the caller's institution, its amount a decimal string in the asset's scale. " +
			"The file is stored and queued (202); the batch worker runs the lines and records one result per line: a bad line " +
			"never stops the others. Uploading the same file under the same reference returns the stored batch (200) and " +
			"runs nothing again.",
		DefaultStatus: http.StatusAccepted, MaxBodyBytes: accounts.MaxBatchBytes + 64<<10}, auth.LedgerPost, s.uploadBatch)
	register(s, huma.Operation{OperationID: "list-batches", Method: http.MethodGet, Path: "/batches", Tags: tags,
		Summary: "Uploaded batches", Description: "Of the caller's institutions, newest first."}, auth.LedgerRead, s.listBatches)
	register(s, huma.Operation{OperationID: "get-batch", Method: http.MethodGet, Path: "/batches/{id}", Tags: tags,
		Summary: "A batch's status and counts", Description: "status is queued, running, done or failed; succeeded and failed " +
			"count the lines when done."}, auth.LedgerRead, s.getBatch)
	register(s, huma.Operation{OperationID: "get-batch-results", Method: http.MethodGet, Path: "/batches/{id}/results", Tags: tags,
		Summary: "A batch's result file", Description: "text/csv: line, reference, status (ok or error), code, message, " +
			"transaction_id — one line per data line of the file once the batch is done (the lines recorded so far before).",
		Responses: rawResponses("text/csv")}, auth.LedgerRead, s.batchResults)
}

func (s *Server) uploadBatch(ctx context.Context, in *batchUploadIn) (*batchFileOut, error) {
	p := principal(ctx)
	b, created, err := s.Batches.Upload(ctx, accounts.BatchUpload{InstitutionID: p.InstitutionID, Reference: in.Reference,
		Content: in.RawBody, CreatedBy: p.KeyID}, s.auditChange(ctx, "batches.upload"))
	if err != nil {
		return nil, err
	}
	status := http.StatusAccepted
	if !created {
		status = http.StatusOK
	}
	return &batchFileOut{Status: status, Body: b}, nil
}

func (s *Server) listBatches(ctx context.Context, in *batchListIn) (*batchListOut, error) {
	items, err := s.Batches.List(ctx, principal(ctx).Scope, in.Limit)
	if err != nil {
		return nil, err
	}
	out := &batchListOut{}
	out.Body.Items = items
	return out, nil
}

func (s *Server) getBatch(ctx context.Context, in *batchFileIn) (*batchFileOut, error) {
	b, err := s.Batches.Get(ctx, in.ID, principal(ctx).Scope)
	if err != nil {
		return nil, err
	}
	return &batchFileOut{Status: http.StatusOK, Body: b}, nil
}

func (s *Server) batchResults(ctx context.Context, in *batchFileIn) (*rawOut, error) {
	var b bytes.Buffer
	if err := s.Batches.WriteResults(ctx, in.ID, principal(ctx).Scope, &b); err != nil {
		return nil, err
	}
	return &rawOut{ContentType: "text/csv; charset=utf-8", ContentDisposition: `attachment; filename="batch-` + in.ID + `-results.csv"`,
		Body: b.Bytes()}, nil
}
