/*
 * goexe: whether a process runs a Go program, from its executable's ELF sections (the Go
 * linker writes .go.buildinfo, and older ones .note.go.buildid). A Go program prints every
 * goroutine's stack on SIGQUIT and exits 2: the runner asks it so at a hang or the end, after
 * the other evidence (issue 10, "Dumps").
 */
#ifndef FL_GOEXE_H
#define FL_GOEXE_H

#include <stdbool.h>
#include <sys/types.h>

/* False also when /proc/PID/exe cannot be read or is not ELF. */
bool fl_is_go_program(pid_t pid);

#endif
