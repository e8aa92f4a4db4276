//go:build !unix

package bench

// processCPU is not measured on this system.
func processCPU() (cpuTimes, bool) { return cpuTimes{}, false }
