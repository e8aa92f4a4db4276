package httpapi

import (
	"context"
	"database/sql"
	"net/http"

	"github.com/danielgtaylor/huma/v2"
	"github.com/suanpan/suanpan/internal/audit"
	"github.com/suanpan/suanpan/internal/auth"
)

type institutionBody struct {
	ID       string `json:"id" pattern:"^[a-z0-9][a-z0-9_-]{0,62}$" doc:"Institution ID: lowercase letters, digits, - and _."`
	ParentID string `json:"parent_id,omitempty" maxLength:"63" doc:"Default: the API key's institution. Must be in the key's subtree."`
	Name     string `json:"name" minLength:"1" maxLength:"200"`
}

type institutionOut struct {
	Body *auth.Institution
}

type keyBody struct {
	InstitutionID string `json:"institution_id,omitempty" maxLength:"63" doc:"Default: the API key's institution."`
	Role          string `json:"role" enum:"admin,operator,poster,viewer,auditor"`
	Name          string `json:"name,omitempty" maxLength:"200"`
}

// NewKeyView is a created key with its token, shown this once.
type NewKeyView struct {
	*auth.Key
	Token string `json:"token" doc:"The API key. It is shown only now; Suanpan keeps only its hash."`
}

type auditListIn struct {
	Target string `query:"target" maxLength:"200" doc:"e.g. account:<id> or transaction:<id>."`
	After  int64  `query:"after" minimum:"0" doc:"Cursor: next_cursor of the previous page."`
	Limit  int    `query:"limit" minimum:"0" maximum:"1000"`
}

type auditPage struct {
	Body struct {
		Items      []audit.Record `json:"items"`
		NextCursor int64          `json:"next_cursor,omitempty"`
	}
}

func (s *Server) registerPlatform() {
	register(s, huma.Operation{OperationID: "create-institution", Method: http.MethodPost, Path: "/institutions", Tags: []string{"Institutions"},
		Summary: "Create an institution", Description: "Under the caller's institution or one of its descendants.",
		DefaultStatus: http.StatusCreated}, auth.InstitutionsWrite, s.createInstitution)
	register(s, huma.Operation{OperationID: "list-institutions", Method: http.MethodGet, Path: "/institutions", Tags: []string{"Institutions"},
		Summary: "List the caller's institutions"}, auth.InstitutionsRead, s.listInstitutions)
	register(s, huma.Operation{OperationID: "get-institution", Method: http.MethodGet, Path: "/institutions/{id}", Tags: []string{"Institutions"},
		Summary: "Get an institution"}, auth.InstitutionsRead, s.getInstitution)

	register(s, huma.Operation{OperationID: "create-key", Method: http.MethodPost, Path: "/keys", Tags: []string{"API keys"},
		Summary: "Create an API key", Description: "The response carries the key once; only its hash is kept.",
		DefaultStatus: http.StatusCreated}, auth.KeysWrite, s.createKey)
	register(s, huma.Operation{OperationID: "list-keys", Method: http.MethodGet, Path: "/keys", Tags: []string{"API keys"},
		Summary: "List API keys", Description: "Without their secrets."}, auth.KeysWrite, s.listKeys)
	register(s, huma.Operation{OperationID: "revoke-key", Method: http.MethodPost, Path: "/keys/{id}/revoke", Tags: []string{"API keys"},
		Summary: "Revoke an API key", Description: "Takes effect at once in this server, within 5 seconds in others sharing the database."},
		auth.KeysWrite, s.revokeKey)

	register(s, huma.Operation{OperationID: "list-audit", Method: http.MethodGet, Path: "/audit", Tags: []string{"Audit"},
		Summary: "Read the audit log", Description: "Records of the caller's institutions in chain order."}, auth.AuditRead, s.listAudit)
	register(s, huma.Operation{OperationID: "verify-audit", Method: http.MethodPost, Path: "/audit/verify", Tags: []string{"Audit"},
		Summary: "Verify the audit hash chain", Description: "Reports every altered, inserted or deleted record. The chain spans every institution, so only keys of the root institution may verify it."}, auth.AuditRead, s.verifyAudit)
}

func (s *Server) createInstitution(ctx context.Context, in *struct{ Body institutionBody }) (*institutionOut, error) {
	parent, err := institutionIn(ctx, in.Body.ParentID, "body.parent_id")
	if err != nil {
		return nil, err
	}
	inst, err := s.Auth.CreateInstitution(ctx, in.Body.ID, parent, in.Body.Name,
		s.audit(ctx, "institutions.create", "institution:"+in.Body.ID, parent, nil, in.Body))
	if err != nil {
		return nil, err
	}
	// The new institution joins its ancestors' scopes.
	s.Auth.ForgetScopes()
	return &institutionOut{Body: inst}, nil
}

func (s *Server) listInstitutions(ctx context.Context, _ *struct{}) (*struct{ Body []*auth.Institution }, error) {
	insts, err := s.Auth.ListInstitutions(ctx, principal(ctx).Scope)
	if err != nil {
		return nil, err
	}
	return &struct{ Body []*auth.Institution }{insts}, nil
}

func (s *Server) getInstitution(ctx context.Context, in *struct {
	ID string `path:"id" maxLength:"63"`
}) (*institutionOut, error) {
	if !principal(ctx).InScope(in.ID) {
		return nil, &auth.Error{Code: auth.CodeNotFound, Message: "institution " + in.ID + " not found"}
	}
	inst, err := s.Auth.GetInstitution(ctx, in.ID)
	if err != nil {
		return nil, err
	}
	return &institutionOut{Body: inst}, nil
}

func (s *Server) createKey(ctx context.Context, in *struct{ Body keyBody }) (*struct{ Body NewKeyView }, error) {
	inst, err := institution(ctx, in.Body.InstitutionID)
	if err != nil {
		return nil, err
	}
	p := principal(ctx)
	// A key may not grant more than its creator holds.
	role := auth.Role(in.Body.Role)
	for _, perm := range role.Permissions() {
		if !p.Can(perm) {
			return nil, fail(ctx, http.StatusForbidden, auth.CodeForbidden, "body.role", "cannot grant "+string(perm)+": this API key lacks it")
		}
	}
	k, token, err := s.Auth.CreateKey(ctx, inst, role, in.Body.Name, p.KeyID, func(wctx context.Context, tx *sql.Tx, k *auth.Key) error {
		return s.audit(ctx, "keys.create", "key:"+k.ID, inst, nil, k)(wctx, tx)
	})
	if err != nil {
		return nil, err
	}
	return &struct{ Body NewKeyView }{NewKeyView{Key: k, Token: token}}, nil
}

func (s *Server) listKeys(ctx context.Context, _ *struct{}) (*struct{ Body []*auth.Key }, error) {
	ks, err := s.Auth.ListKeys(ctx, principal(ctx).Scope)
	if err != nil {
		return nil, err
	}
	if ks == nil {
		ks = []*auth.Key{}
	}
	return &struct{ Body []*auth.Key }{ks}, nil
}

func (s *Server) revokeKey(ctx context.Context, in *struct {
	ID string `path:"id" maxLength:"64"`
}) (*struct{ Body *auth.Key }, error) {
	k, err := s.Auth.RevokeKey(ctx, in.ID, principal(ctx).Scope, s.audit(ctx, "keys.revoke", "key:"+in.ID, "", nil, nil))
	if err != nil {
		return nil, err
	}
	return &struct{ Body *auth.Key }{k}, nil
}

func (s *Server) listAudit(ctx context.Context, in *auditListIn) (*auditPage, error) {
	recs, next, err := audit.List(ctx, s.DB, audit.Filter{InstitutionIDs: principal(ctx).Scope, Target: in.Target,
		After: in.After, Limit: in.Limit})
	if err != nil {
		return nil, err
	}
	out := &auditPage{}
	out.Body.Items, out.Body.NextCursor = recs, next
	if out.Body.Items == nil {
		out.Body.Items = []audit.Record{}
	}
	return out, nil
}

type verifyAuditIn struct {
	Body *struct {
		Expect []audit.Anchor `json:"expect,omitempty" maxItems:"100" doc:"Records known from outside the database (an earlier report's head and head_hash, or serve's \"audit head\" log line): the chain must still hold each with its hash."`
	} `required:"false"`
}

func (s *Server) verifyAudit(ctx context.Context, in *verifyAuditIn) (*struct{ Body *audit.Report }, error) {
	if err := rootOnly(ctx, "the audit chain spans every institution"); err != nil {
		return nil, err
	}
	var anchors []audit.Anchor
	if in.Body != nil {
		anchors = in.Body.Expect
	}
	rep, err := audit.Verify(ctx, s.DB, anchors...)
	if err != nil {
		return nil, err
	}
	if rep.Problems == nil {
		rep.Problems = []audit.Problem{}
	}
	return &struct{ Body *audit.Report }{rep}, nil
}
