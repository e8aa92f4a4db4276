package client

//go:generate go run ./internal/gen -in ../docs/openapi.json -out client.gen.go
