//go:build !unix

package caddymodule

import "time"

// processCPU is not measured here.
func processCPU() (time.Duration, bool) { return 0, false }

// processFaults is not counted here.
func processFaults() (int64, bool) { return 0, false }
