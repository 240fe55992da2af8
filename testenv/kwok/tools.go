//go:build tools

// Package tools pins kwok, built as a module of its own because it needs newer
// k8s.io client modules than the control plane it simulates nodes for.
package tools

import _ "sigs.k8s.io/kwok/cmd/kwok"
