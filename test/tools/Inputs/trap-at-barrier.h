// Included after the emulation header by Inputs/trapping-cxx: every
// __syncthreads() of the kernel traps (SIGILL) inside the emulator.
#define __syncthreads() __builtin_trap()
