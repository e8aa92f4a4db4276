package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"

	sdk "github.com/suanpan/suanpan/client"
)

// InstitutionsCmd groups the institution commands.
type InstitutionsCmd struct {
	Create InstitutionsCreateCmd `cmd:"" help:"Create an institution, under a parent or at the top."`
	List   InstitutionsListCmd   `cmd:"" help:"List the institutions the API key may see."`
	Get    InstitutionsGetCmd    `cmd:"" help:"Show an institution."`
}

// InstitutionsCreateCmd creates an institution.
type InstitutionsCreateCmd struct {
	client `embed:""`
	ID     string `arg:"" help:"ID of the new institution, e.g. branch-sh."`
	Name   string `required:"" help:"Name of the institution."`
	Parent string `placeholder:"ID" help:"Parent institution; default: none (a top institution)."`
}

// Run creates the institution and prints it.
func (c *InstitutionsCreateCmd) Run(ctx context.Context, a *app) error {
	api, err := c.api()
	if err != nil {
		return err
	}
	r, err := api.CreateInstitutionWithResponse(ctx, sdk.InstitutionBody{Id: c.ID, Name: c.Name, ParentId: opt(c.Parent)})
	return show(a, c.JSON, r, err, func() *sdk.AuthInstitution { return r.JSON201 }, func(inst *sdk.AuthInstitution) error {
		return fields(a.stdout, "id", inst.Id, "name", inst.Name, "parent", deref(inst.ParentId), "created", timeText(inst.CreatedAt))
	})
}

// InstitutionsListCmd lists institutions.
type InstitutionsListCmd struct {
	client `embed:""`
}

// Run prints the institutions.
func (c *InstitutionsListCmd) Run(ctx context.Context, a *app) error {
	api, err := c.api()
	if err != nil {
		return err
	}
	r, err := api.ListInstitutionsWithResponse(ctx)
	return show(a, c.JSON, r, err, func() *[]sdk.AuthInstitution { return r.JSON200 }, func(list *[]sdk.AuthInstitution) error {
		t := newTable(a.stdout, "ID", "PARENT", "CREATED", "NAME")
		for _, inst := range *list {
			t.row(inst.Id, deref(inst.ParentId), timeText(inst.CreatedAt), inst.Name)
		}
		return t.flush()
	})
}

// InstitutionsGetCmd shows an institution.
type InstitutionsGetCmd struct {
	client `embed:""`
	ID     string `arg:"" help:"Institution ID."`
}

// Run prints the institution.
func (c *InstitutionsGetCmd) Run(ctx context.Context, a *app) error {
	api, err := c.api()
	if err != nil {
		return err
	}
	r, err := api.GetInstitutionWithResponse(ctx, c.ID)
	return show(a, c.JSON, r, err, func() *sdk.AuthInstitution { return r.JSON200 }, func(inst *sdk.AuthInstitution) error {
		return fields(a.stdout, "id", inst.Id, "name", inst.Name, "parent", deref(inst.ParentId), "created", timeText(inst.CreatedAt))
	})
}

// KeysCmd groups the API key commands.
type KeysCmd struct {
	Create KeysCreateCmd `cmd:"" help:"Create an API key; its token is printed once and never again."`
	List   KeysListCmd   `cmd:"" help:"List the API keys of the API key's institutions."`
	Revoke KeysRevokeCmd `cmd:"" help:"Revoke an API key for good."`
}

// KeysCreateCmd creates an API key.
type KeysCreateCmd struct {
	client      `embed:""`
	Role        string `required:"" enum:"admin,operator,poster,viewer,auditor" help:"Role of the key: admin, operator, poster, viewer or auditor."`
	Name        string `help:"Name of the key, e.g. who or what uses it."`
	Institution string `placeholder:"ID" help:"Institution of the key; default: the API key's."`
}

// Run creates the key and prints it with its token.
func (c *KeysCreateCmd) Run(ctx context.Context, a *app) error {
	api, err := c.api()
	if err != nil {
		return err
	}
	r, err := api.CreateKeyWithResponse(ctx, sdk.KeyBody{Role: sdk.KeyBodyRole(c.Role), Name: opt(c.Name), InstitutionId: opt(c.Institution)})
	return show(a, c.JSON, r, err, func() *sdk.NewKeyView { return r.JSON201 }, func(k *sdk.NewKeyView) error {
		if err := fields(a.stdout, "id", k.Id, "name", k.Name, "role", k.Role, "institution", k.InstitutionId,
			"created", timeText(k.CreatedAt), "token", k.Token); err != nil {
			return err
		}
		_, err := fmt.Fprintln(a.stdout, "(keep the token now: the server keeps only its hash and cannot show it again)")
		return err
	})
}

// KeysListCmd lists API keys.
type KeysListCmd struct {
	client `embed:""`
}

// Run prints the keys, revoked ones too.
func (c *KeysListCmd) Run(ctx context.Context, a *app) error {
	api, err := c.api()
	if err != nil {
		return err
	}
	r, err := api.ListKeysWithResponse(ctx)
	return show(a, c.JSON, r, err, func() *[]sdk.AuthKey { return r.JSON200 }, func(list *[]sdk.AuthKey) error {
		t := newTable(a.stdout, "ID", "INSTITUTION", "ROLE", "CREATED", "REVOKED", "NAME")
		for _, k := range *list {
			revoked := ""
			if k.RevokedAt != nil {
				revoked = timeText(*k.RevokedAt)
			}
			t.row(k.Id, k.InstitutionId, k.Role, timeText(k.CreatedAt), revoked, k.Name)
		}
		return t.flush()
	})
}

// KeysRevokeCmd revokes an API key.
type KeysRevokeCmd struct {
	client `embed:""`
	ID     string `arg:"" help:"Key ID (the <id> of sp_<id>_<secret>)."`
}

// Run revokes the key and prints it.
func (c *KeysRevokeCmd) Run(ctx context.Context, a *app) error {
	api, err := c.api()
	if err != nil {
		return err
	}
	r, err := api.RevokeKeyWithResponse(ctx, c.ID)
	return show(a, c.JSON, r, err, func() *sdk.AuthKey { return r.JSON200 }, func(k *sdk.AuthKey) error {
		revoked := ""
		if k.RevokedAt != nil {
			revoked = timeText(*k.RevokedAt)
		}
		return fields(a.stdout, "id", k.Id, "name", k.Name, "role", k.Role, "institution", k.InstitutionId, "revoked", revoked)
	})
}

// AssetsCmd groups the asset commands.
type AssetsCmd struct {
	Create AssetsCreateCmd `cmd:"" help:"Register an asset (a currency or points) with its scale."`
	List   AssetsListCmd   `cmd:"" help:"List the assets."`
	Get    AssetsGetCmd    `cmd:"" help:"Show an asset."`
	Update AssetsUpdateCmd `cmd:"" help:"Change an asset's ceiling: the largest amount one operation may move."`
}

// AssetsCreateCmd registers an asset.
type AssetsCreateCmd struct {
	client `embed:""`
	Code   string `arg:"" help:"Code of the asset, e.g. CNY."`
	Scale  int64  `required:"" help:"Digits after the decimal point of its amounts, e.g. 2 for CNY: amounts are in minor units of 10^-scale."`
	Max    int64  `name:"max-amount" placeholder:"MINOR" help:"The largest amount one operation may move, in minor units (default: a trillion major units)."`
}

// Run registers the asset and prints it.
func (c *AssetsCreateCmd) Run(ctx context.Context, a *app) error {
	api, err := c.api()
	if err != nil {
		return err
	}
	body := sdk.AssetBody{Code: c.Code, Scale: c.Scale}
	if c.Max != 0 {
		body.MaxAmount = &c.Max
	}
	r, err := api.CreateAssetWithResponse(ctx, body)
	return show(a, c.JSON, r, err, func() *sdk.LedgerAsset { return r.JSON201 }, func(as *sdk.LedgerAsset) error {
		return printAsset(a, as)
	})
}

// printAsset prints an asset's fields.
func printAsset(a *app, as *sdk.LedgerAsset) error {
	return fields(a.stdout, "code", as.Code, "scale", strconv.FormatInt(as.Scale, 10),
		"max amount", strconv.FormatInt(as.MaxAmount, 10), "created", timeText(as.CreatedAt))
}

// AssetsUpdateCmd changes an asset's ceiling.
type AssetsUpdateCmd struct {
	client `embed:""`
	Code   string `arg:"" help:"Code of the asset."`
	Max    int64  `name:"max-amount" required:"" placeholder:"MINOR" help:"The largest amount one operation may move from now on, in minor units."`
}

// Run changes the ceiling and prints the asset.
func (c *AssetsUpdateCmd) Run(ctx context.Context, a *app) error {
	api, err := c.api()
	if err != nil {
		return err
	}
	r, err := api.UpdateAssetWithResponse(ctx, c.Code, sdk.UpdateAssetJSONRequestBody{MaxAmount: c.Max})
	return show(a, c.JSON, r, err, func() *sdk.LedgerAsset { return r.JSON200 }, func(as *sdk.LedgerAsset) error {
		return printAsset(a, as)
	})
}

// AssetsListCmd lists assets.
type AssetsListCmd struct {
	client `embed:""`
}

// Run prints the assets.
func (c *AssetsListCmd) Run(ctx context.Context, a *app) error {
	api, err := c.api()
	if err != nil {
		return err
	}
	r, err := api.ListAssetsWithResponse(ctx)
	return show(a, c.JSON, r, err, func() *[]sdk.LedgerAsset { return r.JSON200 }, func(list *[]sdk.LedgerAsset) error {
		t := newTable(a.stdout, "CODE", "SCALE", "MAX AMOUNT", "CREATED")
		for _, as := range *list {
			t.row(as.Code, strconv.FormatInt(as.Scale, 10), strconv.FormatInt(as.MaxAmount, 10), timeText(as.CreatedAt))
		}
		return t.flush()
	})
}

// AssetsGetCmd shows an asset.
type AssetsGetCmd struct {
	client `embed:""`
	Code   string `arg:"" help:"Code of the asset."`
}

// Run prints the asset.
func (c *AssetsGetCmd) Run(ctx context.Context, a *app) error {
	api, err := c.api()
	if err != nil {
		return err
	}
	r, err := api.GetAssetWithResponse(ctx, c.Code)
	return show(a, c.JSON, r, err, func() *sdk.LedgerAsset { return r.JSON200 }, func(as *sdk.LedgerAsset) error {
		return printAsset(a, as)
	})
}

// ProductsCreateCmd creates a product from its definition.
type ProductsCreateCmd struct {
	client `embed:""`
	File   string `arg:"" type:"existingfile" help:"The product's definition: a JSON file holding the body of POST /v1/products (id, name, class, asset, chart_code, normal_side, limits, fees, ...)."`
}

// Run creates the product's first version and prints it.
func (c *ProductsCreateCmd) Run(ctx context.Context, a *app) error {
	raw, err := os.ReadFile(c.File)
	if err != nil {
		return err
	}
	var body sdk.CreateProductBody
	d := json.NewDecoder(bytes.NewReader(raw))
	d.DisallowUnknownFields()
	if err := d.Decode(&body); err != nil {
		return fmt.Errorf("%s: not a product definition: %w", c.File, err)
	}
	api, err := c.api()
	if err != nil {
		return err
	}
	r, err := api.CreateProductWithResponse(ctx, body)
	return show(a, c.JSON, r, err, func() *sdk.ProductView { return r.JSON201 }, func(p *sdk.ProductView) error {
		return printProduct(a.stdout, p)
	})
}

// ProductsVersionsCmd lists a product's versions.
type ProductsVersionsCmd struct {
	client      `embed:""`
	ID          string `arg:"" help:"Product ID, e.g. wallet-cny."`
	Institution string `placeholder:"ID" help:"The product's institution; default: the API key's."`
}

// Run prints the versions, oldest first.
func (c *ProductsVersionsCmd) Run(ctx context.Context, a *app) error {
	api, err := c.api()
	if err != nil {
		return err
	}
	r, err := api.ListProductVersionsWithResponse(ctx, c.ID, &sdk.ListProductVersionsParams{InstitutionId: opt(c.Institution)})
	return show(a, c.JSON, r, err, func() *[]sdk.ProductView { return r.JSON200 }, func(list *[]sdk.ProductView) error {
		t := newTable(a.stdout, "VERSION", "STATUS", "CREATED", "NAME")
		for _, p := range *list {
			t.row(strconv.FormatInt(p.Version, 10), string(p.Status), timeText(p.CreatedAt), p.Name)
		}
		return t.flush()
	})
}
