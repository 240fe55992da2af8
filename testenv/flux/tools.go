//go:build tools

// Package tools pins the flux CLI that the flux_cli test drives driftless with, so that
// `go mod tidy` keeps its dependencies in go.sum. It is a module of its own: the CLI needs
// newer k8s.io modules than the control plane.
package tools

import _ "github.com/fluxcd/flux2/v2/cmd/flux"
